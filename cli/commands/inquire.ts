// `estelam inquire`: one inquiry through the gateway.
import type { JsonObject } from "@bufbuild/protobuf";
import { toJson } from "@bufbuild/protobuf";
import { InquireResponseSchema } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import {
  apiKey,
  CONNECTION_OPTIONS,
  ENV_NOTE,
  EXIT_FAILURE,
  EXIT_OK,
  gatewayAddress,
  io,
  parse,
  parseParam,
  required,
  UsageError,
  wholeNumber,
} from "../args.ts";
import { createInquiryClient, DEFAULT_DEADLINE_MS, type InquireRequestInit } from "../client.ts";
import { failureJson, formatFailure, formatResponse } from "../format.ts";

export const INQUIRE_USAGE = `usage: estelam inquire <inquiry-type> --param key=value ... --purpose <code> --end-user <who> [options]

Asks one inquiry through the gateway and prints the answer: the answer (FOUND, NOT_FOUND or REJECTED),
the responding agency, the tracking code, the result fields and the timings.

  -p, --param key=value        a parameter of the inquiry type; repeat for each. \`key:=<json>\` sends a
                               JSON value (a number, true, false) instead of text
      --purpose <code>         purpose code granted to the asking agency, e.g. kyc.account-opening (required)
      --end-user <who>         person or system on whose behalf you ask, e.g. branch-1021/teller-7 (required)
      --case-reference <ref>   your own case or file reference
      --client-message-id <id> your own id for this message, kept in the audit trail
${CONNECTION_OPTIONS}
      --json                   print the response, or the error, as JSON on stdout
  -h, --help                   show this text

With \`--batch <file.csv>\`, asks one inquiry per row of a CSV file (\`estelam inquire <inquiry-type> --batch <file.csv> --help\` lists its options).

Errors are printed as \`<gRPC code> <REASON> (origin: ...; agency: ...): <message>\` followed by each field
violation.

${ENV_NOTE}

Exit status: 0 answered (any answer, NOT_FOUND and REJECTED included), 1 error, 2 usage error.
`;

export async function runInquire(args: readonly string[]): Promise<number> {
  if (args.some((a) => a === "--batch" || a.startsWith("--batch="))) {
    const { runInquireBatch } = await import("./inquire-batch.ts");
    return runInquireBatch(args);
  }
  const { values, positionals } = parse(
    args,
    {
      param: { type: "string", short: "p", multiple: true },
      purpose: { type: "string" },
      "end-user": { type: "string" },
      "case-reference": { type: "string" },
      "client-message-id": { type: "string" },
      address: { type: "string" },
      "api-key": { type: "string" },
      "deadline-ms": { type: "string" },
      json: { type: "boolean" },
    },
    INQUIRE_USAGE,
  );
  if (values.help === true) {
    io.out(INQUIRE_USAGE);
    return EXIT_OK;
  }
  if (positionals.length === 0) throw new UsageError("missing <inquiry-type>", INQUIRE_USAGE);
  if (positionals.length > 1)
    throw new UsageError(`unexpected argument '${positionals[1]}' (one inquiry type; params go in --param)`, INQUIRE_USAGE);
  const params: JsonObject = {};
  for (const text of values.param ?? []) {
    const [key, value] = parseParam(text, INQUIRE_USAGE);
    if (Object.hasOwn(params, key)) throw new UsageError(`--param ${key} is given twice`, INQUIRE_USAGE);
    params[key] = value;
  }
  const request: InquireRequestInit = {
    inquiryType: positionals[0] as string,
    params,
    purpose: required(values.purpose, "--purpose", INQUIRE_USAGE),
    endUser: required(values["end-user"], "--end-user", INQUIRE_USAGE),
    caseReference: values["case-reference"] ?? "",
    clientMessageId: values["client-message-id"] ?? "",
  };
  const address = gatewayAddress(values.address, INQUIRE_USAGE);
  const key = apiKey(values["api-key"], INQUIRE_USAGE);
  const deadlineMs = wholeNumber(values["deadline-ms"], "--deadline-ms", 1, 600_000, DEFAULT_DEADLINE_MS, INQUIRE_USAGE);

  const client = createInquiryClient(address, { apiKey: key });
  try {
    const result = await client.inquire(request, { deadlineMs });
    if (result.ok) {
      io.out(
        values.json === true
          ? `${JSON.stringify(toJson(InquireResponseSchema, result.response), null, 2)}\n`
          : formatResponse(result.response),
      );
      return EXIT_OK;
    }
    if (values.json === true) io.out(`${JSON.stringify(failureJson(result.status), null, 2)}\n`);
    io.err(formatFailure(result.status, address));
    return EXIT_FAILURE;
  } finally {
    client.close();
  }
}
