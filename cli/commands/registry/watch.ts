// `estelam registry watch`: one line per revision the gateway starts serving, until Ctrl-C.
import { toJson } from "@bufbuild/protobuf";
import { RevisionSchema } from "../../../gen/estelam/registry/v1/registry_pb.js";
import { EXIT_OK, io, parse, UsageError } from "../../args.ts";
import { formatHistory } from "../../registry-format.ts";
import { CONNECTION, CONNECTION_FLAGS, connect, failed } from "./common.ts";

export const WATCH_USAGE = `usage: estelam registry watch [options]

Prints the revision the gateway serves now, then a line for every revision it starts serving, until
Ctrl-C. Against several instances, watch each to see them converge.

${CONNECTION}
      --json                   one JSON object per revision
  -h, --help                   show this text

Exit status: 0 stopped with Ctrl-C, 1 the stream failed, 2 usage error.
`;

export async function runWatch(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, { ...CONNECTION_FLAGS }, WATCH_USAGE);
  if (values.help === true) {
    io.out(WATCH_USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, WATCH_USAGE);
  const { client, address } = connect(values, WATCH_USAGE);
  const stop = new AbortController();
  const onSignal = (): void => stop.abort();
  process.once("SIGINT", onSignal);
  try {
    const result = await client.watch((message) => {
      if (message.revision === undefined) return;
      if (values.json === true) io.out(`${JSON.stringify(toJson(RevisionSchema, message.revision))}\n`);
      else io.out(formatHistory([message.revision]).split("\n")[1] ?? "");
      if (values.json !== true) io.out("\n");
    }, stop.signal);
    if (!result.ok) return failed(result, address, values.json);
    return EXIT_OK;
  } finally {
    process.off("SIGINT", onSignal);
    client.close();
  }
}
