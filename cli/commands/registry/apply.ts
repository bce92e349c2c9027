// `estelam registry apply` and `estelam registry diff`: send documents to the gateway, to apply them (a new
// revision) or to see what would change. An invalid set is refused whole, every problem listed.
import { ApplyResponseSchema } from "../../../gen/estelam/registry/v1/registry_pb.js";
import { ENV_NOTE, EXIT_FAILURE, EXIT_OK, io, parse, required, UsageError, wholeNumber } from "../../args.ts";
import { formatChange, formatDiff, formatProblem } from "../../registry-format.ts";
import { CONNECTION, CONNECTION_FLAGS, connect, failed, readSet, toJson } from "./common.ts";

export const APPLY_USAGE = `usage: estelam registry apply -f FILE|DIR [--dry-run] [--prune] [-m MESSAGE] [options]

Creates or replaces the documents in FILE (or in every .yaml, .yml and .json file under DIR) in the
registry of the gateway, as one new revision, validated together with the rest of the registry. Every
gateway instance sharing the registry serves the new revision within a second. An invalid set is refused
whole and every problem is listed with its file, document and path.

  -f, --filename <path>        file or folder of documents (required)
      --dry-run                check and show the change without making it
      --prune                  also delete the registry's documents that are not in <path>
  -m, --message <text>         why the change is made (kept with the revision and in the audit trail)
      --expected-revision <n>  apply only if the registry is still at revision n
${CONNECTION}
      --json                   print the result as JSON
  -h, --help                   show this text

${ENV_NOTE}

Exit status: 0 applied (or unchanged, or a clean dry run), 1 refused or failed, 2 usage error.
`;

export const DIFF_USAGE = `usage: estelam registry diff -f FILE|DIR [--prune] [options]

Shows, as unified diffs of YAML, what \`estelam registry apply\` with the same documents would change in
the gateway's registry (a dry run: nothing is changed), and any problem of the resulting set.

  -f, --filename <path>        file or folder of documents (required)
      --prune                  also show the deletion of documents that are not in <path>
${CONNECTION}
      --json                   print the dry run's result as JSON
  -h, --help                   show this text

Exit status: 0 the change is valid (whether or not anything differs), 1 problems or failure, 2 usage error.
`;

async function run(args: readonly string[], mode: "apply" | "diff"): Promise<number> {
  const usage = mode === "apply" ? APPLY_USAGE : DIFF_USAGE;
  const { values, positionals } = parse(
    args,
    {
      filename: { type: "string", short: "f" },
      "dry-run": { type: "boolean" },
      prune: { type: "boolean" },
      message: { type: "string", short: "m" },
      "expected-revision": { type: "string" },
      ...CONNECTION_FLAGS,
    },
    usage,
  );
  if (values.help === true) {
    io.out(usage);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}' (documents are given with -f)`, usage);
  if (mode === "diff" && (values["dry-run"] !== undefined || values.message !== undefined))
    throw new UsageError("diff changes nothing: --dry-run and --message are for apply", usage);
  const path = required(values.filename, "-f <file or folder>", usage);
  const expected = wholeNumber(values["expected-revision"], "--expected-revision", 1, Number.MAX_SAFE_INTEGER, 0, usage);
  const { client, address, deadlineMs } = connect(values, usage);
  try {
    const set = await readSet(path);
    if (set === undefined) return EXIT_FAILURE;
    const dryRun = mode === "diff" || values["dry-run"] === true;
    const request = {
      documents: set.documents,
      dryRun,
      prune: values.prune === true,
      message: values.message ?? "",
      expectedRevision: BigInt(expected),
    };
    const result = await client.apply(request, { deadlineMs });
    if (!result.ok) {
      if (result.status.reason !== "INVALID_DOCUMENTS" || values.json === true) return failed(result, address, values.json);
      // The refusal carries as many problems as fit in a status; a dry run lists them all.
      const all = await client.apply({ ...request, dryRun: true }, { deadlineMs });
      if (!all.ok || all.response.change === undefined || all.response.change.problems.length === 0) return failed(result, address, false);
      const problems = all.response.change.problems;
      io.err(`refused: the documents have ${problems.length} problem${problems.length === 1 ? "" : "s"}; nothing was applied\n`);
      io.err(problems.map(formatProblem).join(""));
      return EXIT_FAILURE;
    }
    const change = result.response.change;
    if (change === undefined) throw new Error("the gateway answered without a change");
    if (values.json === true) io.out(`${JSON.stringify(toJson(ApplyResponseSchema, result.response), null, 2)}\n`);
    else {
      if (mode === "diff") io.out(formatDiff(change));
      io.out(formatChange(change));
    }
    return change.problems.length > 0 ? EXIT_FAILURE : EXIT_OK;
  } finally {
    client.close();
  }
}

export const runApply = (args: readonly string[]): Promise<number> => run(args, "apply");
export const runDiff = (args: readonly string[]): Promise<number> => run(args, "diff");
