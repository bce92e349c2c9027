// `estelam registry list`: the documents of a revision of the gateway's registry.
import type { JsonObject } from "@bufbuild/protobuf";
import { ListResponseSchema } from "../../../gen/estelam/registry/v1/registry_pb.js";
import { identify, isKind, KINDS } from "../../../registry/documents.ts";
import { EXIT_OK, io, parse, UsageError, wholeNumber } from "../../args.ts";
import { CONNECTION, CONNECTION_FLAGS, connect, failed, toJson } from "./common.ts";

export const LIST_USAGE = `usage: estelam registry list [KIND] [--revision N] [options]

Lists the documents of the gateway's registry: kind, name and where each was applied from. KIND (one of
${KINDS.join(", ")}) lists only that kind.

      --revision <n>           of revision n (default: the one the gateway serves)
${CONNECTION}
      --json                   print the documents themselves, as JSON
  -h, --help                   show this text

Exit status: 0 listed, 1 failed, 2 usage error.
`;

export async function runList(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, { revision: { type: "string" }, ...CONNECTION_FLAGS }, LIST_USAGE);
  if (values.help === true) {
    io.out(LIST_USAGE);
    return EXIT_OK;
  }
  const [kind = "", extra] = positionals;
  if (extra !== undefined) throw new UsageError(`unexpected argument '${extra}'`, LIST_USAGE);
  if (kind !== "" && !isKind(kind)) throw new UsageError(`KIND must be one of ${KINDS.join(", ")}`, LIST_USAGE);
  const revision = wholeNumber(values.revision, "--revision", 1, Number.MAX_SAFE_INTEGER, 0, LIST_USAGE);
  const { client, address, deadlineMs } = connect(values, LIST_USAGE);
  try {
    const result = await client.list({ kind, revision: BigInt(revision) }, { deadlineMs });
    if (!result.ok) return failed(result, address, values.json);
    if (values.json === true) {
      io.out(`${JSON.stringify(toJson(ListResponseSchema, result.response), null, 2)}\n`);
      return EXIT_OK;
    }
    const rows = result.response.documents.map((d) => {
      const id = identify((d.content ?? {}) as JsonObject);
      return [id.kind, id.name, d.source];
    });
    const widths = [0, 1].map((i) => Math.max(i === 0 ? 4 : 4, ...rows.map((r) => (r[i] ?? "").length)));
    const line = (r: string[]): string =>
      `${(r[0] ?? "").padEnd(widths[0] ?? 0)}  ${(r[1] ?? "").padEnd(widths[1] ?? 0)}  ${r[2] ?? ""}`.trimEnd();
    io.out(`# revision ${result.response.revision}: ${rows.length} document${rows.length === 1 ? "" : "s"}\n`);
    io.out([line(["KIND", "NAME", "SOURCE"]), ...rows.map(line)].map((l) => `${l}\n`).join(""));
    return EXIT_OK;
  } finally {
    client.close();
  }
}
