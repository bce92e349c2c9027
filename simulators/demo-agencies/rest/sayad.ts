// The Central Bank's Sayad cheque system: GET with the id in the path or a query string, a bearer token,
// and every answer wrapped in an envelope: {"status": "SUCCESS", "data": {...}} or
// {"status": "ERROR", "error": {"code", "message"}} with a matching HTTP status.
import { parseNationalCode } from "../../../core/identifiers.ts";
import { DEMO_CREDENTIALS } from "../agencies.ts";
import { type AgencyRequest, type HandledRoute, json, jsonStyle, type Reply } from "../http/route.ts";
import { creditStatus, parseSayadId, sayadCheque } from "../records/finance.ts";
import type { Lookup } from "../records/lookup.ts";
import { hasBearer } from "./auth.ts";
import { requiredField } from "./fields.ts";

const CODES: Readonly<Record<number, string>> = {
  400: "VALIDATION_ERROR",
  401: "UNAUTHORIZED",
  404: "NOT_FOUND",
  405: "METHOD_NOT_ALLOWED",
  413: "PAYLOAD_TOO_LARGE",
  429: "TOO_MANY_REQUESTS",
};

function error(status: number, code: string, message: string): Reply {
  return json(status, { status: "ERROR", error: { code, message } });
}

const style = jsonStyle((status, _code, message) => ({
  status: "ERROR",
  error: { code: CODES[status] ?? (status >= 500 ? "SERVICE_UNAVAILABLE" : "ERROR"), message },
}));

function envelope<T>(lookup: Lookup<T>, data: (record: T) => unknown, notFoundCode: string): Reply {
  switch (lookup.kind) {
    case "found":
      return json(200, { status: "SUCCESS", data: data(lookup.record) });
    case "not_found":
      return error(404, notFoundCode, lookup.message);
    case "rejected":
      return error(403, lookup.code, lookup.message);
  }
}

function authorised(request: AgencyRequest): Reply | undefined {
  if (hasBearer(request.headers, DEMO_CREDENTIALS.sayad.bearerToken)) return undefined;
  return { ...error(401, "UNAUTHORIZED", "a valid bearer token is required"), headers: { "www-authenticate": 'Bearer realm="sayad"' } };
}

export const SAYAD_ROUTES: readonly HandledRoute[] = [
  {
    agency: "sayad",
    methods: ["GET"],
    path: /^\/sayad\/api\/v1\/cheques\/(?<sayadId>[^/]+)$/,
    template: "/sayad/api/v1/cheques/{sayadId}",
    style,
    handle(request) {
      const refused = authorised(request);
      if (refused !== undefined) return refused;
      const id = requiredField(request.params.sayadId, "sayadId", parseSayadId);
      if (!id.ok) return error(400, "VALIDATION_ERROR", id.problem);
      return envelope(sayadCheque(id.value), (cheque) => ({ sayadId: id.value, ...cheque, currency: "IRR" }), "CHEQUE_NOT_FOUND");
    },
  },
  {
    agency: "sayad",
    methods: ["GET"],
    path: "/sayad/api/v1/credit-status",
    style,
    handle(request) {
      const refused = authorised(request);
      if (refused !== undefined) return refused;
      const code = requiredField(request.url.searchParams.get("nationalCode") ?? undefined, "nationalCode", parseNationalCode);
      if (!code.ok) return error(400, "VALIDATION_ERROR", code.problem);
      return envelope(creditStatus(code.value), (status) => status, "PERSON_NOT_FOUND");
    },
  },
];
