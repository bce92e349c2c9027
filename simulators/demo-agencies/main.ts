// Runs the demo agencies on their own: `node simulators/demo-agencies/main.ts [--host 127.0.0.1] [--port 8090]`.
// Prints the HTTP face's base URL on the first line of stdout, then each catalogue variable as NAME=value
// (the gRPC face, the TLS faces and their files); SIGINT or SIGTERM closes every face.
import { parseArgs } from "node:util";
import { startDemoAgencies } from "./server.ts";

const USAGE = "usage: node simulators/demo-agencies/main.ts [--host <address>] [--port <0-65535>]";

function fail(message: string): never {
  process.stderr.write(`${message}\n${USAGE}\n`);
  process.exit(2);
}

let values: { host?: string; port?: string; help?: boolean };
try {
  ({ values } = parseArgs({
    options: {
      host: { type: "string", default: "127.0.0.1" },
      port: { type: "string", default: "8090" },
      help: { type: "boolean", short: "h" },
    },
  }));
} catch (error) {
  fail((error as Error).message);
}
if (values.help === true) {
  process.stdout.write(`${USAGE}\n`);
  process.exit(0);
}
const port = Number(values.port);
if (!/^\d{1,5}$/.test(values.port ?? "") || port > 65_535) fail("--port must be a number from 0 to 65535");

const agencies = await startDemoAgencies({ host: values.host ?? "127.0.0.1", port });
process.stdout.write(
  `${agencies.url}\n${Object.entries(agencies.vars)
    .map(([name, value]) => `${name}=${value}\n`)
    .join("")}`,
);

let stopping = false;
function stop(): void {
  if (stopping) return;
  stopping = true;
  agencies.close().then(
    () => process.exit(0),
    () => process.exit(1),
  );
}
process.once("SIGINT", stop);
process.once("SIGTERM", stop);
