// Runs the gateway as its own process (`node gateway/main.ts --demo`), as `npm start` does, on free
// loopback ports, for tests that need a real process: to kill it, or to call it with external tools.
import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const MAIN = resolve(import.meta.dirname, "../../gateway/main.ts");

/** Binds `port` (0: any) on loopback and lets it go; the port bound, or undefined when it was taken. */
function tryListen(port: number): Promise<number | undefined> {
  return new Promise((done, fail) => {
    const server = createServer();
    server.once("error", (error: NodeJS.ErrnoException) => (error.code === "EADDRINUSE" ? done(undefined) : fail(error)));
    server.listen(port, "127.0.0.1", () => {
      const bound = (server.address() as { port: number }).port;
      server.close(() => done(bound));
    });
  });
}

/** The first port of the kernel's ephemeral range (ports bound with 0, and outgoing connections' own ports). */
function ephemeralStart(): number {
  try {
    return Number(readFileSync("/proc/sys/net/ipv4/ip_local_port_range", "utf8").trim().split(/\s+/)[0]) || 32768;
  } catch {
    return 32768;
  }
}

const PORTS_PER_WORKER = 1000;
const WORKER_SLICES = 12;
/** Ports this test process already handed out: free when checked, but maybe not yet bound by their process. */
const handedOut = new Set<number>();

/**
 * A loopback port free now, for a process a test starts. It is drawn from below the kernel's ephemeral
 * range: a port from that range (what binding 0 gives) can be taken as the source port of any connection
 * the tests open before the process binds it. Each vitest worker draws from its own slice.
 */
export async function freePort(): Promise<number> {
  const top = ephemeralStart();
  const pool = Number(process.env.VITEST_POOL_ID ?? "1") || 1;
  const base = top - WORKER_SLICES * PORTS_PER_WORKER + ((pool - 1) % WORKER_SLICES) * PORTS_PER_WORKER;
  if (base >= 1024) {
    for (let attempt = 0; attempt < 100; attempt++) {
      const candidate = base + Math.floor(Math.random() * PORTS_PER_WORKER);
      if (handedOut.has(candidate)) continue;
      const port = await tryListen(candidate);
      if (port === undefined) continue;
      handedOut.add(port);
      return port;
    }
  }
  const any = await tryListen(0);
  if (any === undefined) throw new Error("no free loopback port");
  return any;
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
