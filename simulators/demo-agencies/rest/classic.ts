// The civil registry (NOCR), Iran Post and the Central Bank's classic services: a JSON object POSTed to a
// path, 200 with a JSON object for an answer, 404 for "no record", 422 for a business refusal, 400 for
// input the agency cannot read, 503 for its own trouble. No credentials.
import { parseIban, parseJalaliDate, parseNationalCode, parsePostalCode } from "../../../core/identifiers.ts";
import type { AgencyName } from "../agencies.ts";
import { accountByIban, addressByPostalCode, personByNationalCode } from "../data.ts";
import { type AgencyRequest, type HandledRoute, json, jsonStyle, type Reply } from "../http/route.ts";
import { ibanMatch } from "../records/finance.ts";
import type { Lookup } from "../records/lookup.ts";
import { aliveStatus, shahabCode } from "../records/people.ts";
import { parseJsonObject, requiredField } from "./fields.ts";

const style = jsonStyle((_status, code, message) => ({ error: code, message }));

function badRequest(message: string): Reply {
  return json(400, { error: "bad_request", message });
}

function notFound(message: string): Reply {
  return json(404, { error: "not_found", message });
}

function lookupReply<T>(lookup: Lookup<T>, body: (record: T) => unknown): Reply {
  switch (lookup.kind) {
    case "found":
      return json(200, body(lookup.record));
    case "not_found":
      return notFound(lookup.message);
    case "rejected":
      return json(422, { error: "rejected", message: lookup.message });
  }
}

type Fields = Readonly<Record<string, string>>;

/** A POST route reading a JSON object whose fields are all identifiers. */
function post(
  agency: AgencyName,
  path: string,
  fields: Readonly<Record<string, (input: string) => ReturnType<typeof parseNationalCode>>>,
  answer: (values: Fields) => Reply,
): HandledRoute {
  return {
    agency,
    methods: ["POST"],
    path,
    style,
    handle(request: AgencyRequest) {
      const body = parseJsonObject(request.body);
      if (body === undefined) return badRequest("the body must be a JSON object");
      const values: Record<string, string> = {};
      for (const [name, parse] of Object.entries(fields)) {
        const field = requiredField(body[name], name, parse);
        if (!field.ok) return badRequest(field.problem);
        values[name] = field.value;
      }
      return answer(values);
    },
  };
}

const v = (values: Fields, name: string): string => values[name] ?? "";

export const CLASSIC_ROUTES: readonly HandledRoute[] = [
  post("nocr", "/nocr/identity-match", { national_code: parseNationalCode, birth_date: parseJalaliDate }, (values) => {
    const person = personByNationalCode(v(values, "national_code"));
    if (person === undefined) return notFound("no person is registered under this national code");
    return json(200, {
      match: person.birthDate === v(values, "birth_date"),
      first_name: person.firstName,
      last_name: person.lastName,
      father_name: person.fatherName,
      alive: person.alive,
    });
  }),
  post("nocr", "/nocr/alive-status", { national_code: parseNationalCode }, (values) =>
    lookupReply(aliveStatus(v(values, "national_code")), (status) => ({ alive: status.alive, death_date: status.deathDate })),
  ),
  post("post", "/post/address-by-postcode", { postal_code: parsePostalCode }, (values) => {
    const address = addressByPostalCode(v(values, "postal_code"));
    if (address === undefined) return notFound("no address is registered under this postal code");
    return json(200, { ...address });
  }),
  post("cbi", "/cbi/iban-owner", { iban: parseIban }, (values) => {
    const lookup = accountByIban(v(values, "iban"));
    switch (lookup.kind) {
      case "unknown_bank":
        return notFound("no bank is registered under this IBAN's bank code");
      case "not_disclosed":
        return json(422, {
          error: "rejected",
          message: `owners of accounts at ${lookup.bank.englishName} are not disclosed through this inquiry`,
        });
      case "found":
        return json(200, {
          bank: lookup.account.bank.name,
          bank_code: lookup.account.bank.code,
          owner_name: lookup.account.ownerName,
          account_status: lookup.account.status,
        });
    }
  }),
  post("cbi", "/cbi/iban-match", { national_code: parseNationalCode, birth_date: parseJalaliDate, iban: parseIban }, (values) =>
    lookupReply(ibanMatch(v(values, "national_code"), v(values, "birth_date"), v(values, "iban")), (r) => ({ match: r.match })),
  ),
  post("cbi", "/cbi/shahab", { national_code: parseNationalCode, birth_date: parseJalaliDate }, (values) =>
    lookupReply(shahabCode(v(values, "national_code"), v(values, "birth_date")), (r) => ({ shahab_code: r.shahabCode })),
  ),
];
