// Runs the `estelam` command line as a child process, as a user runs it, with only the ESTELAM_* settings a
// test gives (none leak in from the shell running the tests).
import { type ChildProcess, execFile, spawn } from "node:child_process";
import { resolve } from "node:path";

export const CLI = resolve(import.meta.dirname, "../../cli/main.ts");

export interface CliRun {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

function cleanEnv(env: Readonly<Record<string, string>>): Record<string, string | undefined> {
  const childEnv: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(childEnv)) if (key.startsWith("ESTELAM_") || key === "KAFKA_BROKERS") delete childEnv[key];
  return { ...childEnv, ...env };
}

/** Runs `estelam <args>` to completion (in `cwd`, default this process's working directory). */
export function estelam(args: readonly string[], env: Readonly<Record<string, string>> = {}, cwd?: string): Promise<CliRun> {
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: cleanEnv(env), timeout: 60_000, cwd }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      done({ code, stdout, stderr });
    });
  });
}

/** Starts `estelam <args>` and leaves it running (e.g. `audit tail --follow`); stdout is collected as it comes. */
export function spawnEstelam(
  args: readonly string[],
  env: Readonly<Record<string, string>> = {},
): { child: ChildProcess; stdout(): string; stderr(): string; exited: Promise<number> } {
  const child = spawn(process.execPath, [CLI, ...args], { env: cleanEnv(env), stdio: ["ignore", "pipe", "pipe"] });
  let out = "";
  let err = "";
  child.stdout?.on("data", (chunk: Buffer) => (out += chunk.toString()));
  child.stderr?.on("data", (chunk: Buffer) => (err += chunk.toString()));
  const exited = new Promise<number>((done) => child.once("exit", (code) => done(code ?? -1)));
  return { child, stdout: () => out, stderr: () => err, exited };
}
