// The conscription organisation's API: POST JSON with a bearer token; answers as {"result": {...}}, errors
// in the Google API style {"error": {"code", "status", "message"}}.
import { parseNationalCode } from "../../../core/identifiers.ts";
import { DEMO_CREDENTIALS } from "../agencies.ts";
import { type HandledRoute, json, jsonStyle, type Reply } from "../http/route.ts";
import { militaryService } from "../records/people.ts";
import { hasBearer } from "./auth.ts";
import { parseJsonObject, requiredField } from "./fields.ts";

const STATUS_NAMES: Readonly<Record<number, string>> = {
  400: "INVALID_ARGUMENT",
  401: "UNAUTHENTICATED",
  403: "PERMISSION_DENIED",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  413: "INVALID_ARGUMENT",
  429: "RESOURCE_EXHAUSTED",
  500: "INTERNAL",
  503: "UNAVAILABLE",
  504: "DEADLINE_EXCEEDED",
};

function error(status: number, message: string): Reply {
  return json(status, {
    error: { code: status, status: STATUS_NAMES[status] ?? (status >= 500 ? "UNAVAILABLE" : "FAILED_PRECONDITION"), message },
  });
}

const style = jsonStyle((status, _code, message) => JSON.parse(error(status, message).body));

export const NEZAM_ROUTES: readonly HandledRoute[] = [
  {
    agency: "nezam",
    methods: ["POST"],
    path: "/nezam/api/v2/military-status",
    style,
    handle(request) {
      if (!hasBearer(request.headers, DEMO_CREDENTIALS.nezam.bearerToken))
        return { ...error(401, "request had invalid authentication credentials"), headers: { "www-authenticate": "Bearer" } };
      const body = parseJsonObject(request.body);
      if (body === undefined) return error(400, "the body must be a JSON object");
      const code = requiredField(body.nationalCode, "nationalCode", parseNationalCode);
      if (!code.ok) return error(400, code.problem);
      const lookup = militaryService(code.value);
      switch (lookup.kind) {
        case "found":
          return json(200, { result: lookup.record });
        case "not_found":
          return error(404, lookup.message);
        case "rejected":
          return error(403, lookup.message);
      }
    },
  },
];
