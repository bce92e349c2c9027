// `estelam registry history`: the revisions of the gateway's registry, newest first.
import { HistoryResponseSchema } from "../../../gen/estelam/registry/v1/registry_pb.js";
import { EXIT_OK, io, parse, UsageError, wholeNumber } from "../../args.ts";
import { formatHistory } from "../../registry-format.ts";
import { CONNECTION, CONNECTION_FLAGS, connect, failed, toJson } from "./common.ts";

export const HISTORY_USAGE = `usage: estelam registry history [--limit N] [--before REVISION] [options]

Lists the registry's revisions, newest first: number, time, action, the admin credential that made it,
how many documents it created (+), updated (~) and deleted (-), and its message.

      --limit <n>              at most n revisions (default 20, at most 1000)
      --before <revision>      only revisions older than this one
${CONNECTION}
      --json                   print the revisions as JSON, with the documents each changed
  -h, --help                   show this text

Exit status: 0 listed, 1 failed, 2 usage error.
`;

export async function runHistory(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { limit: { type: "string" }, before: { type: "string" }, ...CONNECTION_FLAGS },
    HISTORY_USAGE,
  );
  if (values.help === true) {
    io.out(HISTORY_USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, HISTORY_USAGE);
  const limit = wholeNumber(values.limit, "--limit", 1, 1000, 20, HISTORY_USAGE);
  const before = wholeNumber(values.before, "--before", 1, Number.MAX_SAFE_INTEGER, 0, HISTORY_USAGE);
  const { client, address, deadlineMs } = connect(values, HISTORY_USAGE);
  try {
    const result = await client.history({ limit, before: BigInt(before) }, { deadlineMs });
    if (!result.ok) return failed(result, address, values.json);
    io.out(
      values.json === true
        ? `${JSON.stringify(toJson(HistoryResponseSchema, result.response), null, 2)}\n`
        : formatHistory(result.response.revisions),
    );
    return EXIT_OK;
  } finally {
    client.close();
  }
}
