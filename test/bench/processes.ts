// The benchmark's child processes (the demo agencies and the gateway), each its own Node process on
// 127.0.0.1, and what the parent reads about them: readiness, /metrics, CPU time and memory from /proc.
import { type ChildProcess, execFileSync, spawn } from "node:child_process";
import { closeSync, openSync, readdirSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import type { FloorMode } from "./floor-server.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const GATEWAY_MAIN = resolve(ROOT, "gateway/main.ts");
const AGENCIES_MAIN = resolve(ROOT, "simulators/demo-agencies/main.ts");
const FLOOR_MAIN = resolve(ROOT, "test/bench/floor-server.ts");
const STDERR_TAIL_CHARS = 4000;

export interface Child {
  readonly name: string;
  readonly process: ChildProcess;
  readonly pid: number;
  /** The last few thousand characters the child wrote on stderr. */
  stderr(): string;
  /** Resolves with the exit code (or signal) once the process has exited. */
  readonly exited: Promise<string>;
}

const running = new Set<Child>();

/** Kills every child still running, at once; for process exit, where nothing can be awaited. */
export function killChildrenNow(): void {
  for (const child of running) child.process.kill("SIGKILL");
  running.clear();
}

/** SIGTERM, then SIGKILL after `graceMs`; resolves once the child has exited. */
export async function stopChild(child: Child, graceMs = 10_000): Promise<string> {
  if (child.process.exitCode === null && child.process.signalCode === null) {
    child.process.kill("SIGTERM");
    const timer = setTimeout(() => child.process.kill("SIGKILL"), graceMs);
    try {
      return await child.exited;
    } finally {
      clearTimeout(timer);
    }
  }
  return child.exited;
}

function spawnChild(name: string, args: readonly string[], env: NodeJS.ProcessEnv, stdout: "pipe" | "ignore" | number): Child {
  const proc = spawn(process.execPath, [...args], { cwd: ROOT, env, stdio: ["ignore", stdout, "pipe"] });
  if (proc.pid === undefined) throw new Error(`${name} did not start`);
  let tail = "";
  proc.stderr?.setEncoding("utf8").on("data", (text: string) => {
    tail = (tail + text).slice(-STDERR_TAIL_CHARS);
  });
  const exited = new Promise<string>((done) => proc.once("exit", (code, signal) => done(signal ?? `exit code ${code}`)));
  const child: Child = { name, process: proc, pid: proc.pid, stderr: () => tail, exited };
  running.add(child);
  void exited.then(() => running.delete(child));
  return child;
}

/** Rejects when the child exits before `ready` settles, with its stderr in the message. */
async function untilReady<T>(child: Child, ready: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([
      ready,
      child.exited.then((how) => Promise.reject(new Error(`${child.name} exited (${how}) before it was ready:\n${child.stderr()}`))),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`${child.name} was not ready within ${timeoutMs} ms:\n${child.stderr()}`)), timeoutMs);
      }),
    ]);
  } finally {
    clearTimeout(timer);
  }
}

export { freePort } from "../helpers/gateway-process.ts";

export interface AgenciesChild extends Child {
  readonly url: string;
  /** The gRPC face (the welfare and Central Insurance agencies), `127.0.0.1:port`. */
  readonly grpcAddress: string;
}

/** `node simulators/demo-agencies/main.ts` on a free port; resolves once it prints its URL and its gRPC face. */
export async function startAgenciesChild(): Promise<AgenciesChild> {
  const child = spawnChild(
    "demo agencies",
    [AGENCIES_MAIN, "--host", "127.0.0.1", "--port", "0"],
    { PATH: process.env.PATH ?? "" },
    "pipe",
  );
  const [url, grpcAddress] = await untilReady(
    child,
    new Promise<[string, string]>((done) => {
      let out = "";
      child.process.stdout?.setEncoding("utf8").on("data", (text: string) => {
        out += text;
        const line = /^(http:\/\/127\.0\.0\.1:\d+)\s*$/m.exec(out);
        const grpc = /^DEMO_GRPC_ADDRESS=(127\.0\.0\.1:\d+)\s*$/m.exec(out);
        if (line !== null && grpc !== null) done([line[1] as string, grpc[1] as string]);
      });
    }),
    15_000,
  );
  return { ...child, url, grpcAddress };
}

export interface FloorChild extends Child {
  /** Its gRPC port, `127.0.0.1:port`. */
  readonly address: string;
}

/** The stack's floor (test/bench/floor-server.ts) in `mode`, against the demo agencies; resolves once bound. */
export async function startFloorChild(mode: FloorMode, agencies: AgenciesChild): Promise<FloorChild> {
  const child = spawnChild(
    `the stack's floor (${mode})`,
    [FLOOR_MAIN, "--serve", mode, "--agencies", agencies.url, "--agency-grpc", agencies.grpcAddress],
    { PATH: process.env.PATH ?? "" },
    "pipe",
  );
  const port = await untilReady(
    child,
    new Promise<string>((done) => {
      let out = "";
      child.process.stdout?.setEncoding("utf8").on("data", (text: string) => {
        out += text;
        const found = /^PORT=(\d+)\s*$/m.exec(out);
        if (found !== null) done(found[1] as string);
      });
    }),
    15_000,
  );
  return { ...child, address: `127.0.0.1:${port}` };
}

export interface GatewayChildOptions {
  /** ESTELAM_* settings and KAFKA_BROKERS / DEMO_AGENCIES_URL. */
  readonly env: Readonly<Record<string, string>>;
  readonly httpUrl: string;
  /** File for the gateway's stdout (its log lines); /dev/null when undefined. */
  readonly logFile: string | undefined;
  /** Directory for a V8 CPU profile (`node --cpu-prof`); none when undefined. */
  readonly profileDir: string | undefined;
  /** Extra Node.js flags, before the gateway's main module. */
  readonly nodeFlags: readonly string[];
}

/** `node gateway/main.ts` with settings from environment variables; resolves once /readyz answers 200. */
export async function startGatewayChild(options: GatewayChildOptions): Promise<Child> {
  const nodeFlags = [
    ...options.nodeFlags,
    ...(options.profileDir === undefined
      ? []
      : ["--cpu-prof", `--cpu-prof-dir=${options.profileDir}`, "--cpu-prof-name=gateway.cpuprofile"]),
  ];
  const logFd = options.logFile === undefined ? undefined : openSync(options.logFile, "a");
  let child: Child;
  try {
    child = spawnChild("gateway", [...nodeFlags, GATEWAY_MAIN], { PATH: process.env.PATH ?? "", ...options.env }, logFd ?? "ignore");
  } finally {
    if (logFd !== undefined) closeSync(logFd);
  }
  const ready = (async () => {
    for (;;) {
      const status = await fetch(`${options.httpUrl}/readyz`, { signal: AbortSignal.timeout(1000) }).then(
        async (response) => {
          await response.body?.cancel();
          return response.status;
        },
        () => 0,
      );
      if (status === 200) return;
      await new Promise((done) => setTimeout(done, 100));
    }
  })();
  await untilReady(child, ready, 60_000);
  return child;
}

// ---------------------------------------------------------------------------------------------------------
// Measurements

/**
 * The samples of a Prometheus text exposition, by metric name, with the labels as printed for a labelled one
 * (`estelam_thread_heap_size_total_bytes{thread="database"}`).
 */
export async function scrapeMetrics(httpUrl: string): Promise<Map<string, number>> {
  const response = await fetch(`${httpUrl}/metrics`, { signal: AbortSignal.timeout(5000) });
  if (response.status !== 200) throw new Error(`GET /metrics answered ${response.status}`);
  const samples = new Map<string, number>();
  for (const line of (await response.text()).split("\n")) {
    const match = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    if (match !== null) samples.set(match[1] as string, Number(match[2]));
  }
  return samples;
}

/**
 * The gateway's CPU seconds (user + system, all threads), as its process_cpu_seconds_total says (to the
 * microsecond); for a primary with workers (`pid` given and the process has children), of the primary and
 * its workers from /proc (to the clock tick), since the primary's /metrics does not add the workers' process
 * CPU up.
 */
export async function gatewayCpuSeconds(httpUrl: string, pid?: number): Promise<number> {
  if (pid !== undefined && processTree(pid).length > 1) {
    const tree = procTreeCpuSeconds(pid);
    if (tree !== undefined) return tree;
  }
  const value = (await scrapeMetrics(httpUrl)).get("process_cpu_seconds_total");
  if (value === undefined) throw new Error("the gateway's /metrics has no process_cpu_seconds_total");
  return value;
}

let clockTicks: number | undefined;

function ticksPerSecond(): number {
  if (clockTicks === undefined) {
    try {
      clockTicks = Number(execFileSync("getconf", ["CLK_TCK"], { encoding: "utf8" }).trim()) || 100;
    } catch {
      clockTicks = 100;
    }
  }
  return clockTicks;
}

/** User + system CPU seconds of a process (all threads) from /proc/<pid>/stat; undefined where there is no /proc. */
export function procCpuSeconds(pid: number): number | undefined {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, "utf8");
    // Fields after the command name, which is in parentheses and may itself hold spaces.
    const fields = stat.slice(stat.lastIndexOf(")") + 2).split(" ");
    // utime and stime are fields 14 and 15 of the whole line, i.e. 12 and 13 after the name.
    return (Number(fields[11]) + Number(fields[12])) / ticksPerSecond();
  } catch {
    return undefined;
  }
}

/** A process and its descendants (e.g. the gateway's primary and its workers), from /proc/<pid>/task/<tid>/children. */
export function processTree(pid: number): number[] {
  const tree = [pid];
  for (let i = 0; i < tree.length; i++) {
    const parent = tree[i] as number;
    try {
      for (const task of readdirSync(`/proc/${parent}/task`)) {
        const children = readFileSync(`/proc/${parent}/task/${task}/children`, "utf8").trim();
        if (children !== "") tree.push(...children.split(/\s+/).map(Number));
      }
    } catch {
      // The process ended meanwhile, or there is no /proc.
    }
  }
  return tree;
}

/** CPU seconds of a process and its descendants alive now; undefined where there is no /proc. */
export function procTreeCpuSeconds(pid: number): number | undefined {
  let sum: number | undefined;
  for (const member of processTree(pid)) {
    const seconds = procCpuSeconds(member);
    if (seconds !== undefined) sum = (sum ?? 0) + seconds;
  }
  return sum;
}

/** Resident set size in bytes from /proc/<pid>/status; undefined where there is no /proc. */
export function procRssBytes(pid: number): number | undefined {
  try {
    const match = /^VmRSS:\s+(\d+) kB$/m.exec(readFileSync(`/proc/${pid}/status`, "utf8"));
    return match === null ? undefined : Number(match[1]) * 1024;
  } catch {
    return undefined;
  }
}

/** CPU seconds the whole machine has been busy (all CPUs; user, nice, system, irq, softirq, steal), from /proc/stat. */
export function machineBusySeconds(): number | undefined {
  try {
    const line = readFileSync("/proc/stat", "utf8").split("\n", 1)[0] ?? "";
    const [user, nice, system, , , irq, softirq, steal] = line.trim().split(/\s+/).slice(1).map(Number);
    return ((user ?? 0) + (nice ?? 0) + (system ?? 0) + (irq ?? 0) + (softirq ?? 0) + (steal ?? 0)) / ticksPerSecond();
  } catch {
    return undefined;
  }
}
