// Shahkar at the Communications Regulatory Authority: POST a JSON request with an X-API-Key header; the
// business answer always comes with HTTP 200 and its own `response` code in the body (200 answered, 400
// invalid input, 403 not disclosed, 404 not assigned), as the register has always done.
import { parseMobile, parseNationalCode } from "../../../core/identifiers.ts";
import { DEMO_CREDENTIALS } from "../agencies.ts";
import { type HandledRoute, json, jsonStyle, type Reply } from "../http/route.ts";
import { shahkarMatch } from "../records/cra.ts";
import { hasApiKey } from "./auth.ts";
import { parseJsonObject, requiredField } from "./fields.ts";

const style = jsonStyle((status, _code, message) => ({ response: status, comment: message }));

function answer(requestId: string | undefined, response: number, comment: string, result?: unknown): Reply {
  return json(200, { ...(requestId === undefined ? {} : { requestId }), response, comment, ...(result === undefined ? {} : { result }) });
}

export const CRA_ROUTES: readonly HandledRoute[] = [
  {
    agency: "cra",
    methods: ["POST"],
    path: "/cra/shahkar/v1/match",
    style,
    handle(request) {
      const { header: name, apiKey } = DEMO_CREDENTIALS.cra;
      if (!hasApiKey(request.headers, name, apiKey)) return json(401, { response: 401, comment: "a valid X-API-Key is required" });
      const body = parseJsonObject(request.body);
      if (body === undefined) return answer(undefined, 400, "the body must be a JSON object");
      const requestId = typeof body.requestId === "string" && body.requestId.length <= 64 ? body.requestId : undefined;
      if (body.identificationType !== undefined && body.identificationType !== 0)
        return answer(requestId, 400, "identificationType must be 0 (national code)");
      const mobile = requiredField(body.serviceNumber, "serviceNumber", parseMobile);
      if (!mobile.ok) return answer(requestId, 400, mobile.problem);
      const code = requiredField(body.identificationNo, "identificationNo", parseNationalCode);
      if (!code.ok) return answer(requestId, 400, code.problem);
      const lookup = shahkarMatch(mobile.value, code.value);
      switch (lookup.kind) {
        case "found":
          return answer(requestId, 200, lookup.record.match ? "matched" : "not matched", { match: lookup.record.match });
        case "not_found":
          return answer(requestId, 404, lookup.message);
        case "rejected":
          return answer(requestId, 403, lookup.message);
      }
    },
  },
];
