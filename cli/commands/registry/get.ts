// `estelam registry get`: one document of the gateway's registry, as YAML (or JSON).
import type { JsonObject } from "@bufbuild/protobuf";
import { GetResponseSchema } from "../../../gen/estelam/registry/v1/registry_pb.js";
import { isKind, KINDS } from "../../../registry/documents.ts";
import { EXIT_OK, io, parse, UsageError, wholeNumber } from "../../args.ts";
import { toYaml } from "../../registry-format.ts";
import { CONNECTION, CONNECTION_FLAGS, connect, failed, toJson } from "./common.ts";

export const GET_USAGE = `usage: estelam registry get KIND NAME [--revision N] [options]

Prints one document of the gateway's registry as YAML, as it was applied (\`\${NAME}\` references kept).
KIND is one of ${KINDS.join(", ")}.

      --revision <n>           from revision n (default: the one the gateway serves)
${CONNECTION}
      --json                   print the response as JSON
  -h, --help                   show this text

Exit status: 0 found, 1 not found or failed, 2 usage error.
`;

export async function runGet(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, { revision: { type: "string" }, ...CONNECTION_FLAGS }, GET_USAGE);
  if (values.help === true) {
    io.out(GET_USAGE);
    return EXIT_OK;
  }
  const [kind, name, extra] = positionals;
  if (kind === undefined || name === undefined) throw new UsageError("missing KIND NAME", GET_USAGE);
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`, GET_USAGE);
  if (!isKind(kind)) throw new UsageError(`KIND must be one of ${KINDS.join(", ")}`, GET_USAGE);
  const revision = wholeNumber(values.revision, "--revision", 1, Number.MAX_SAFE_INTEGER, 0, GET_USAGE);
  const { client, address, deadlineMs } = connect(values, GET_USAGE);
  try {
    const result = await client.get({ kind, name, revision: BigInt(revision) }, { deadlineMs });
    if (!result.ok) return failed(result, address, values.json);
    const document = result.response.document;
    io.out(
      values.json === true
        ? `${JSON.stringify(toJson(GetResponseSchema, result.response), null, 2)}\n`
        : `# revision ${result.response.revision}${document?.source ? `, from ${document.source}` : ""}\n${toYaml(document?.content as JsonObject | undefined)}`,
    );
    return EXIT_OK;
  } finally {
    client.close();
  }
}
