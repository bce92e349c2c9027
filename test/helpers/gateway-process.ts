// Runs the gateway as its own process (`node gateway/main.ts --demo`), as `npm start` does, on free
// loopback ports, for tests that need a real process: to kill it, or to call it with external tools.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const MAIN = resolve(import.meta.dirname, "../../gateway/main.ts");

export async function freePort(): Promise<number> {
  return new Promise((done, fail) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
    server.once("error", fail);
  });
}

export interface GatewayProcess {
  readonly child: ChildProcess;
  /** `127.0.0.1:<port>` of the gRPC server. */
  readonly grpcAddress: string;
  readonly httpUrl: string;
  /** Base URL of the demo agencies running inside the process (with their /_control endpoints). */
  readonly agenciesUrl: string;
  /** The data folder (the embedded registry, and the audit journal in `audit/`). */
  readonly dataDir: string;
  /** The local audit journal's folder. */
  readonly journalDir: string;
  readonly ports: { readonly grpc: number; readonly http: number; readonly agencies: number };
  /** What the process wrote to stderr so far. */
  stderr(): string;
  /** What the process wrote to stdout (its log lines) so far. */
  stdout(): string;
}

export interface GatewayProcessOptions {
  /** The data folder of an earlier process, to restart it; default a fresh one. */
  readonly dataDir?: string;
  /** The ports of an earlier process, to restart it in its place; default fresh ones. */
  readonly ports?: { readonly grpc: number; readonly http: number; readonly agencies: number };
}

/**
 * Starts the demo gateway process with `env` added to fresh ports and a temporary data folder (its embedded
 * registry, seeded from the demo documents, and its audit journal); waits for /readyz.
 */
export async function startGatewayProcess(
  env: Readonly<Record<string, string>> = {},
  options: GatewayProcessOptions = {},
): Promise<GatewayProcess> {
  const { grpc, http, agencies } = options.ports ?? { grpc: await freePort(), http: await freePort(), agencies: await freePort() };
  const dataDir = options.dataDir ?? mkdtempSync(join(tmpdir(), "estelam-process-"));
  const child = spawn(process.execPath, [MAIN, "--demo"], {
    env: {
      PATH: process.env.PATH ?? "",
      ESTELAM_GRPC_ADDRESS: `127.0.0.1:${grpc}`,
      ESTELAM_HTTP_ADDRESS: `127.0.0.1:${http}`,
      ESTELAM_DEMO_AGENCIES_ADDRESS: `127.0.0.1:${agencies}`,
      ESTELAM_DATA_DIR: dataDir,
      ESTELAM_LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  let stdout = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  child.stdout?.on("data", (chunk: Buffer) => (stdout += chunk.toString()));
  const httpUrl = `http://127.0.0.1:${http}`;
  for (let waited = 0; ; waited += 200) {
    if ((await fetch(`${httpUrl}/readyz`).catch(() => undefined))?.status === 200) break;
    if (child.exitCode !== null || waited > 30_000) {
      child.kill("SIGKILL");
      throw new Error(`the gateway process did not become ready:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return {
    child,
    grpcAddress: `127.0.0.1:${grpc}`,
    httpUrl,
    agenciesUrl: `http://127.0.0.1:${agencies}`,
    ports: { grpc, http, agencies },
    dataDir,
    journalDir: join(dataDir, "audit"),
    stderr: () => stderr,
    stdout: () => stdout,
  };
}

/** The gateway's backlog (records not yet acknowledged by Kafka), from its /metrics. */
export async function shippingBacklog(httpUrl: string): Promise<number> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  const match = /^estelam_audit_backlog_events\{shipper="kafka"\} (\d+)$/m.exec(text);
  if (match === null) throw new Error("no estelam_audit_backlog_events in /metrics");
  return Number(match[1]);
}
