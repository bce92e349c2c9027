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
  /** The local audit file (when KAFKA_BROKERS is not given). */
  readonly auditFile: string;
  /** What the process wrote to stderr so far. */
  stderr(): string;
}

/**
 * Starts the demo gateway process with `env` added to fresh ports, a temporary data folder (its embedded
 * registry, seeded from the demo documents) and a temporary audit file; waits for /readyz.
 */
export async function startGatewayProcess(env: Readonly<Record<string, string>> = {}): Promise<GatewayProcess> {
  const [grpc, http, agencies] = [await freePort(), await freePort(), await freePort()];
  const dataDir = mkdtempSync(join(tmpdir(), "estelam-process-"));
  const auditFile = join(dataDir, "audit.jsonl");
  const child = spawn(process.execPath, [MAIN, "--demo"], {
    env: {
      PATH: process.env.PATH ?? "",
      ESTELAM_GRPC_ADDRESS: `127.0.0.1:${grpc}`,
      ESTELAM_HTTP_ADDRESS: `127.0.0.1:${http}`,
      ESTELAM_DEMO_AGENCIES_ADDRESS: `127.0.0.1:${agencies}`,
      ESTELAM_AUDIT_FILE: auditFile,
      ESTELAM_DATA_DIR: dataDir,
      ESTELAM_LOG_LEVEL: "warn",
      ...env,
    },
    stdio: ["ignore", "ignore", "pipe"],
  });
  let stderr = "";
  child.stderr?.on("data", (chunk: Buffer) => (stderr += chunk.toString()));
  const httpUrl = `http://127.0.0.1:${http}`;
  for (let waited = 0; ; waited += 200) {
    if ((await fetch(`${httpUrl}/readyz`).catch(() => undefined))?.status === 200) break;
    if (child.exitCode !== null || waited > 30_000) {
      child.kill("SIGKILL");
      throw new Error(`the gateway process did not become ready:\n${stderr}`);
    }
    await new Promise((r) => setTimeout(r, 200));
  }
  return { child, grpcAddress: `127.0.0.1:${grpc}`, httpUrl, agenciesUrl: `http://127.0.0.1:${agencies}`, auditFile, stderr: () => stderr };
}
