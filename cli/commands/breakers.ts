// `estelam breakers`: the circuit breaker of every agency endpoint (OperatorService/ListBreakers, admin key).
import { toJson } from "@bufbuild/protobuf";
import { BreakerState, ListBreakersResponseSchema } from "../../gen/estelam/operator/v1/operator_pb.js";
import { EXIT_FAILURE, EXIT_OK, io, parse, UsageError } from "../args.ts";
import { failureJson, formatFailure } from "../format.ts";
import { createOperatorClient } from "../operator-client.ts";
import { formatBreakers } from "../operator-format.ts";
import { CONNECTION, CONNECTION_FLAGS, connectOperator } from "./operator-common.ts";

export const BREAKERS_USAGE = `usage: estelam breakers [--json] [options]

Prints the circuit breaker of every agency endpoint in the registry: its worst state on any live gateway
instance (closed, half open or open), the inquiry types it answers, and its state on each instance.

      --json                   print the breakers as JSON (the proto's JSON mapping)
${CONNECTION}
  -h, --help                   show this text

Exit status: 0 every breaker closed, 1 some breaker not closed or the gateway could not answer, 2 usage error.
`;

export async function runBreakers(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(args, CONNECTION_FLAGS, BREAKERS_USAGE);
  if (values.help === true) {
    io.out(BREAKERS_USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, BREAKERS_USAGE);
  const { address, key, deadlineMs } = connectOperator(values, BREAKERS_USAGE);
  const client = createOperatorClient(address, key);
  try {
    const result = await client.listBreakers({}, { deadlineMs });
    if (!result.ok) {
      if (values.json === true) io.out(`${JSON.stringify(failureJson(result.status), null, 2)}\n`);
      io.err(formatFailure(result.status, address));
      return EXIT_FAILURE;
    }
    if (values.json === true) io.out(`${JSON.stringify(toJson(ListBreakersResponseSchema, result.response), null, 2)}\n`);
    else io.out(formatBreakers(result.response.breakers));
    return result.response.breakers.every((b) => b.state === BreakerState.CLOSED) ? EXIT_OK : EXIT_FAILURE;
  } finally {
    client.close();
  }
}
