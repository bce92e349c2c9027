// `estelam inquiry-types`: what the asking agency may ask (InquiryService/ListAllowedInquiries), or one
// inquiry type in full with its params schema (DescribeInquiryType).
import { toJson } from "@bufbuild/protobuf";
import { durationMs } from "@bufbuild/protobuf/wkt";
import {
  DescribeInquiryTypeResponseSchema,
  type InquiryTypeInfo,
  ListAllowedInquiriesResponseSchema,
} from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { apiKey, CONNECTION_OPTIONS, ENV_NOTE, EXIT_OK, gatewayAddress, io, parse, UsageError, wholeNumber } from "../args.ts";
import { DEFAULT_DEADLINE_MS } from "../client.ts";
import { failureJson, formatFailure } from "../format.ts";
import { createRegistryClient } from "../registry-client.ts";
import { toYaml } from "../registry-format.ts";

export const INQUIRY_TYPES_USAGE = `usage: estelam inquiry-types [<inquiry-type>] [options]

Without an argument, lists the inquiry types the asking agency holds a grant for, with the purposes it may
give and whether they are online. With one, describes that inquiry type: its params (JSON Schema), result,
purposes, timeout, objectives, consent and classification.

${CONNECTION_OPTIONS}
      --json                   print the response as JSON
  -h, --help                   show this text

${ENV_NOTE}

Exit status: 0 answered, 1 error, 2 usage error.
`;

function summary(t: InquiryTypeInfo): string {
  const state = t.online ? "online" : "not online";
  return `${t.id}  ${t.title?.en ?? ""} (${t.responder}, ${state})\n  purposes: ${t.purposes.join(", ")}\n`;
}

function describe(t: InquiryTypeInfo): string {
  const ms = (d: Parameters<typeof durationMs>[0] | undefined): string => (d === undefined ? "-" : `${durationMs(d)} ms`);
  const lines = [
    `${t.id}: ${t.title?.en ?? ""} — ${t.title?.fa ?? ""}`,
    `answered by  ${t.responder} (${t.responderName?.en ?? ""})${t.online ? "" : ", not online yet"}`,
    `purposes     ${t.purposes.join(", ")}`,
    `timeout      ${ms(t.timeout)}; objectives: p99 ${ms(t.latencyObjective)}, success rate ${t.successRateObjective}`,
    `params (JSON Schema):`,
    toYaml(t.paramsSchema).replace(/^/gm, "  ").trimEnd(),
  ];
  if (t.resultSchema !== undefined) lines.push("result (JSON Schema):", toYaml(t.resultSchema).replace(/^/gm, "  ").trimEnd());
  return `${lines.join("\n")}\n`;
}

export async function runInquiryTypes(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { address: { type: "string" }, "api-key": { type: "string" }, "deadline-ms": { type: "string" }, json: { type: "boolean" } },
    INQUIRY_TYPES_USAGE,
  );
  if (values.help === true) {
    io.out(INQUIRY_TYPES_USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 1) throw new UsageError(`unexpected argument '${positionals[1]}'`, INQUIRY_TYPES_USAGE);
  const address = gatewayAddress(values.address, INQUIRY_TYPES_USAGE);
  const key = apiKey(values["api-key"], INQUIRY_TYPES_USAGE);
  const deadlineMs = wholeNumber(values["deadline-ms"], "--deadline-ms", 1, 600_000, DEFAULT_DEADLINE_MS, INQUIRY_TYPES_USAGE);
  const client = createRegistryClient(address, key);
  try {
    const id = positionals[0];
    const result =
      id === undefined
        ? await client.listAllowedInquiries({}, { deadlineMs })
        : await client.describeInquiryType({ inquiryType: id }, { deadlineMs });
    if (!result.ok) {
      if (values.json === true) io.out(`${JSON.stringify(failureJson(result.status), null, 2)}\n`);
      io.err(formatFailure(result.status, address));
      return 1;
    }
    const response = result.response;
    if ("inquiryTypes" in response) {
      io.out(
        values.json === true
          ? `${JSON.stringify(toJson(ListAllowedInquiriesResponseSchema, response), null, 2)}\n`
          : `${response.inquiryTypes.map(summary).join("")}(registry revision ${response.registryRevision})\n`,
      );
    } else {
      io.out(
        values.json === true
          ? `${JSON.stringify(toJson(DescribeInquiryTypeResponseSchema, response), null, 2)}\n`
          : response.inquiryType === undefined
            ? ""
            : describe(response.inquiryType),
      );
    }
    return EXIT_OK;
  } finally {
    client.close();
  }
}
