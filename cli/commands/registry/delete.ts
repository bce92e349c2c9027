// `estelam registry delete`: remove documents (by kind and name, or those in files) as one new revision.
import { DeleteResponseSchema } from "../../../gen/estelam/registry/v1/registry_pb.js";
import { identify, isKind, KINDS } from "../../../registry/documents.ts";
import { EXIT_FAILURE, EXIT_OK, io, parse, UsageError, wholeNumber } from "../../args.ts";
import { formatChange } from "../../registry-format.ts";
import { CONNECTION, CONNECTION_FLAGS, connect, failed, readSet, toJson } from "./common.ts";

export const DELETE_USAGE = `usage: estelam registry delete KIND NAME [NAME...] [options]
       estelam registry delete -f FILE|DIR [options]

Deletes documents from the gateway's registry as one new revision. What remains must still be valid as a
whole (e.g. an agency cannot go while grants name it); otherwise nothing is deleted and every problem is
listed. KIND is one of ${KINDS.join(", ")}.

  -f, --filename <path>        delete the documents (by kind and name) found in this file or folder
      --dry-run                check and show the change without making it
  -m, --message <text>         why the change is made
      --expected-revision <n>  delete only if the registry is still at revision n
${CONNECTION}
      --json                   print the result as JSON
  -h, --help                   show this text

Exit status: 0 deleted (or a clean dry run), 1 refused or failed, 2 usage error.
`;

export async function runDelete(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      filename: { type: "string", short: "f" },
      "dry-run": { type: "boolean" },
      message: { type: "string", short: "m" },
      "expected-revision": { type: "string" },
      ...CONNECTION_FLAGS,
    },
    DELETE_USAGE,
  );
  if (values.help === true) {
    io.out(DELETE_USAGE);
    return EXIT_OK;
  }
  let refs: Array<{ kind: string; name: string }>;
  if (values.filename !== undefined) {
    if (positionals.length > 0) throw new UsageError("give either -f or KIND NAME..., not both", DELETE_USAGE);
    const set = await readSet(values.filename);
    if (set === undefined) return EXIT_FAILURE;
    refs = set.documents.map((d) => identify(d.content));
  } else {
    const [kind, ...names] = positionals;
    if (kind === undefined || names.length === 0) throw new UsageError("missing KIND NAME (or -f)", DELETE_USAGE);
    if (!isKind(kind)) throw new UsageError(`KIND must be one of ${KINDS.join(", ")}`, DELETE_USAGE);
    refs = names.map((name) => ({ kind, name }));
  }
  const expected = wholeNumber(values["expected-revision"], "--expected-revision", 1, Number.MAX_SAFE_INTEGER, 0, DELETE_USAGE);
  const { client, address, deadlineMs } = connect(values, DELETE_USAGE);
  try {
    const result = await client.delete(
      { documents: refs, dryRun: values["dry-run"] === true, message: values.message ?? "", expectedRevision: BigInt(expected) },
      { deadlineMs },
    );
    if (!result.ok) return failed(result, address, values.json);
    const change = result.response.change;
    if (change === undefined) throw new Error("the gateway answered without a change");
    io.out(values.json === true ? `${JSON.stringify(toJson(DeleteResponseSchema, result.response), null, 2)}\n` : formatChange(change));
    return change.problems.length > 0 ? EXIT_FAILURE : EXIT_OK;
  } finally {
    client.close();
  }
}
