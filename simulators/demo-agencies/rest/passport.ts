// The passport police's API: GET /passport/v1/citizens/{nationalCode}/passport with an Api-Key header;
// snake_case answers, errors as a bare {"message"}.
import { parseNationalCode } from "../../../core/identifiers.ts";
import { DEMO_CREDENTIALS } from "../agencies.ts";
import { type HandledRoute, json, jsonStyle } from "../http/route.ts";
import { passport } from "../records/people.ts";
import { hasApiKey } from "./auth.ts";
import { requiredField } from "./fields.ts";

const style = jsonStyle((_status, _code, message) => ({ message }));

export const PASSPORT_ROUTES: readonly HandledRoute[] = [
  {
    agency: "passport",
    methods: ["GET"],
    path: /^\/passport\/v1\/citizens\/(?<nationalCode>[^/]+)\/passport$/,
    template: "/passport/v1/citizens/{nationalCode}/passport",
    style,
    handle(request) {
      const { header: name, apiKey } = DEMO_CREDENTIALS.passport;
      if (!hasApiKey(request.headers, name, apiKey)) return json(401, { message: "a valid Api-Key header is required" });
      const code = requiredField(request.params.nationalCode, "nationalCode", parseNationalCode);
      if (!code.ok) return json(400, { message: code.problem });
      const lookup = passport(code.value);
      switch (lookup.kind) {
        case "found":
          return json(200, {
            status: lookup.record.status,
            passport_number: lookup.record.passportNumber,
            issued_on: lookup.record.issuedOn,
            expires_on: lookup.record.expiresOn,
            passport_type: lookup.record.status === "not_issued" ? null : "ordinary",
          });
        case "not_found":
          return json(404, { message: lookup.message });
        case "rejected":
          return json(403, { message: lookup.message });
      }
    },
  },
];
