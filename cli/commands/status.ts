// `estelam status`: the scoreboard in the terminal (OperatorService/GetScoreboard, admin key).
import { toJson } from "@bufbuild/protobuf";
import { ScoreboardSchema } from "../../gen/estelam/operator/v1/operator_pb.js";
import { EXIT_OK, io, parse, UsageError, wholeNumber } from "../args.ts";
import { failureJson, formatFailure } from "../format.ts";
import { createOperatorClient } from "../operator-client.ts";
import { formatScoreboard } from "../operator-format.ts";
import { CONNECTION, CONNECTION_FLAGS, connectOperator } from "./operator-common.ts";

export const STATUS_USAGE = `usage: estelam status [--watch <seconds>] [--json] [options]

Prints the scoreboard: every inquiry type in the registry as online (a live connector meeting its latency
and success objectives over the window), degraded (answering but missing an objective), offline (breaker
open or failing) or not connected (registered, no connector); its volume today, success rate,
p50/p95/p99, objectives, burn rate and breaker; then the answering agencies ranked by the share of their
inquiry types online, in the buckets government reports use (> 90 %, 50-90 %, < 50 %, 0 %). With several
gateway instances sharing a database, the counts are every instance's.

  -w, --watch <seconds>        print it again every <seconds> until Ctrl-C
      --json                   print the scoreboard as JSON (the proto's JSON mapping)
${CONNECTION}
  -h, --help                   show this text

Exit status: 0 printed, 1 the gateway could not answer, 2 usage error.
`;

export async function runStatus(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...CONNECTION_FLAGS, watch: { type: "string", short: "w" } }, STATUS_USAGE);
  if (values.help === true) {
    io.out(STATUS_USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, STATUS_USAGE);
  const watchSeconds = values.watch === undefined ? undefined : wholeNumber(values.watch, "--watch", 1, 3600, 5, STATUS_USAGE);
  const { address, key, deadlineMs } = connectOperator(values, STATUS_USAGE);
  const client = createOperatorClient(address, key);
  let stop = false;
  let wake: (() => void) | undefined;
  let timer: NodeJS.Timeout | undefined;
  const onSigint = (): void => {
    stop = true;
    clearTimeout(timer);
    wake?.();
  };
  process.on("SIGINT", onSigint);
  try {
    for (;;) {
      const result = await client.getScoreboard({}, { deadlineMs });
      if (!result.ok) {
        if (values.json === true) io.out(`${JSON.stringify(failureJson(result.status), null, 2)}\n`);
        io.err(formatFailure(result.status, address));
        if (watchSeconds === undefined) return 1;
      } else if (result.response.scoreboard !== undefined) {
        const board = result.response.scoreboard;
        if (values.json === true) io.out(`${JSON.stringify(toJson(ScoreboardSchema, board), null, 2)}\n`);
        else io.out(`${watchSeconds !== undefined && process.stdout.isTTY ? "\u001b[2J\u001b[H" : ""}${formatScoreboard(board)}`);
      }
      if (watchSeconds === undefined || stop) return EXIT_OK;
      await new Promise<void>((resolve) => {
        wake = resolve;
        timer = setTimeout(resolve, watchSeconds * 1000);
      });
      if (stop) return EXIT_OK;
    }
  } finally {
    process.off("SIGINT", onSigint);
    client.close();
  }
}
