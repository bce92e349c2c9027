// Runs the `estelam` command line as a child process, as a user runs it.
import { execFile } from "node:child_process";
import { resolve } from "node:path";

const CLI = resolve(import.meta.dirname, "../../cli/main.ts");

export interface Run {
  readonly code: number;
  readonly stdout: string;
  readonly stderr: string;
}

/** Runs `estelam <args>` with only the given ESTELAM_* variables set. */
export function estelam(args: readonly string[], env: Readonly<Record<string, string>> = {}): Promise<Run> {
  const childEnv: Record<string, string | undefined> = { ...process.env };
  for (const key of Object.keys(childEnv)) if (key.startsWith("ESTELAM_")) delete childEnv[key];
  return new Promise((done) => {
    execFile(process.execPath, [CLI, ...args], { env: { ...childEnv, ...env }, timeout: 60_000 }, (error, stdout, stderr) => {
      const code = error === null ? 0 : typeof error.code === "number" ? error.code : -1;
      done({ code, stdout, stderr });
    });
  });
}
