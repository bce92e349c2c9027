// `estelam registry rollback`: a new revision whose documents are those of an earlier one.
import { RollbackResponseSchema } from "../../../gen/estelam/registry/v1/registry_pb.js";
import { EXIT_FAILURE, EXIT_OK, io, parse, UsageError, wholeNumber } from "../../args.ts";
import { formatChange } from "../../registry-format.ts";
import { CONNECTION, CONNECTION_FLAGS, connect, failed, toJson } from "./common.ts";

export const ROLLBACK_USAGE = `usage: estelam registry rollback REVISION [--dry-run] [-m MESSAGE] [options]

Returns the gateway's registry to the documents of an earlier revision, as a new revision (history is
never rewritten). \`estelam registry history\` lists the revisions.

      --dry-run                check and show the change without making it
  -m, --message <text>         why the change is made
      --expected-revision <n>  roll back only if the registry is still at revision n
${CONNECTION}
      --json                   print the result as JSON
  -h, --help                   show this text

Exit status: 0 rolled back (or unchanged, or a clean dry run), 1 refused or failed, 2 usage error.
`;

export async function runRollback(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      "dry-run": { type: "boolean" },
      message: { type: "string", short: "m" },
      "expected-revision": { type: "string" },
      ...CONNECTION_FLAGS,
    },
    ROLLBACK_USAGE,
  );
  if (values.help === true) {
    io.out(ROLLBACK_USAGE);
    return EXIT_OK;
  }
  if (positionals.length !== 1) throw new UsageError(positionals.length === 0 ? "missing REVISION" : "give one REVISION", ROLLBACK_USAGE);
  const revision = wholeNumber(positionals[0], "REVISION", 1, Number.MAX_SAFE_INTEGER, 0, ROLLBACK_USAGE);
  const expected = wholeNumber(values["expected-revision"], "--expected-revision", 1, Number.MAX_SAFE_INTEGER, 0, ROLLBACK_USAGE);
  const { client, address, deadlineMs } = connect(values, ROLLBACK_USAGE);
  try {
    const result = await client.rollback(
      { revision: BigInt(revision), dryRun: values["dry-run"] === true, message: values.message ?? "", expectedRevision: BigInt(expected) },
      { deadlineMs },
    );
    if (!result.ok) return failed(result, address, values.json);
    const change = result.response.change;
    if (change === undefined) throw new Error("the gateway answered without a change");
    io.out(values.json === true ? `${JSON.stringify(toJson(RollbackResponseSchema, result.response), null, 2)}\n` : formatChange(change));
    return change.problems.length > 0 ? EXIT_FAILURE : EXIT_OK;
  } finally {
    client.close();
  }
}
