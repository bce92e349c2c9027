// `estelam health`: ask the gateway's grpc.health.v1.Health/Check.
import { DEFAULT_ADDRESS, EXIT_FAILURE, EXIT_OK, gatewayAddress, io, parse, UsageError, wholeNumber } from "../args.ts";
import { checkHealth } from "../client.ts";
import { formatFailure } from "../format.ts";

const HEALTH_DEADLINE_MS = 5_000;

export const HEALTH_USAGE = `usage: estelam health [--address <host:port>] [--service <name>] [--deadline-ms <n>]

Asks grpc.health.v1.Health/Check and prints SERVING or NOT_SERVING.

      --address <host:port>    gateway gRPC address (default: $ESTELAM_GRPC_ADDRESS, else ${DEFAULT_ADDRESS})
      --service <name>         service to ask about (default "": the gateway as a whole)
      --deadline-ms <n>        how long to wait for the answer (default ${HEALTH_DEADLINE_MS})
  -h, --help                   show this text

Exit status: 0 SERVING, 1 anything else or no answer, 2 usage error.
`;

export async function runHealth(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { address: { type: "string" }, service: { type: "string" }, "deadline-ms": { type: "string" } },
    HEALTH_USAGE,
  );
  if (values.help === true) {
    io.out(HEALTH_USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, HEALTH_USAGE);
  const address = gatewayAddress(values.address, HEALTH_USAGE);
  const deadlineMs = wholeNumber(values["deadline-ms"], "--deadline-ms", 1, 600_000, HEALTH_DEADLINE_MS, HEALTH_USAGE);
  const result = await checkHealth(address, { service: values.service ?? "", deadlineMs });
  if (!result.ok) {
    io.err(formatFailure(result.status, address));
    return EXIT_FAILURE;
  }
  io.out(`${result.status}\n`);
  return result.status === "SERVING" ? EXIT_OK : EXIT_FAILURE;
}
