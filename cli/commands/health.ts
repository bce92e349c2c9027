// `estelam health`: ask the gateway's grpc.health.v1.Health/Check.
import { DEFAULT_ADDRESS, EXIT_FAILURE, EXIT_OK, gatewayAddress, io, parse, UsageError, wholeNumber } from "../args.ts";
import { checkHealth, watchHealth } from "../client.ts";
import { formatFailure } from "../format.ts";

const HEALTH_DEADLINE_MS = 5_000;

export const HEALTH_USAGE = `usage: estelam health [--address <host:port>] [--service <name>] [--deadline-ms <n>] [--watch]

Asks grpc.health.v1.Health/Check and prints SERVING or NOT_SERVING. The gateway answers NOT_SERVING
whenever it would refuse new inquiries (its /readyz says not ready: the audit trail cannot record, or it is
shutting down), for the gateway as a whole ("") and for estelam.inquiry.v1.InquiryService.

      --address <host:port>    gateway gRPC address (default: $ESTELAM_GRPC_ADDRESS, else ${DEFAULT_ADDRESS})
      --service <name>         service to ask about (default "": the gateway as a whole)
      --deadline-ms <n>        how long to wait for the answer (default ${HEALTH_DEADLINE_MS})
  -w, --watch                  follow Health/Watch: print the time and status at once and at every change,
                               until Ctrl-C (exit 0) or the gateway ends the stream (exit 1)
  -h, --help                   show this text

Exit status: 0 SERVING, 1 anything else or no answer, 2 usage error.
`;

export async function runHealth(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { address: { type: "string" }, service: { type: "string" }, "deadline-ms": { type: "string" }, watch: { type: "boolean", short: "w" } },
    HEALTH_USAGE,
  );
  if (values.help === true) {
    io.out(HEALTH_USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, HEALTH_USAGE);
  const address = gatewayAddress(values.address, HEALTH_USAGE);
  const deadlineMs = wholeNumber(values["deadline-ms"], "--deadline-ms", 1, 600_000, HEALTH_DEADLINE_MS, HEALTH_USAGE);
  if (values.watch === true) return watch(address, values.service ?? "");
  const result = await checkHealth(address, { service: values.service ?? "", deadlineMs });
  if (!result.ok) {
    io.err(formatFailure(result.status, address));
    return EXIT_FAILURE;
  }
  io.out(`${result.status}\n`);
  return result.status === "SERVING" ? EXIT_OK : EXIT_FAILURE;
}

async function watch(address: string, service: string): Promise<number> {
  const stream = watchHealth(address, service, (status) => io.out(`${new Date().toISOString()} ${status}\n`));
  let interrupted = false;
  const onSigint = (): void => {
    interrupted = true;
    stream.cancel();
  };
  process.once("SIGINT", onSigint);
  const ended = await stream.ended;
  process.off("SIGINT", onSigint);
  if (interrupted) return EXIT_OK;
  io.err(ended.code === 0 ? `the gateway at ${address} ended the watch (it is shutting down)\n` : formatFailure(ended, address));
  return EXIT_FAILURE;
}
