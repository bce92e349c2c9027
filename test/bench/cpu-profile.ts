// Summarises a V8 CPU profile (`node --cpu-prof`) of the gateway: self time by module (grpc-js,
// protobuf-es, undici, pino, prom-client, kafkajs, opossum, node core by area, the gateway's own folders)
// and the top functions. Optionally only samples inside given time windows count (CLOCK_MONOTONIC µs, the
// clock of both V8's profile timestamps and process.hrtime), so start-up and idle gaps stay out.
//
//   node test/bench/cpu-profile.ts <file.cpuprofile>     prints the summary of a saved profile
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { pathToFileURL } from "node:url";

interface CallFrame {
  readonly functionName: string;
  readonly url: string;
  readonly lineNumber: number;
}

interface ProfileNode {
  readonly id: number;
  readonly callFrame: CallFrame;
  readonly children?: readonly number[];
}

export interface CpuProfile {
  readonly nodes: readonly ProfileNode[];
  readonly startTime: number;
  readonly endTime: number;
  readonly samples?: readonly number[];
  readonly timeDeltas?: readonly number[];
}

/** A time window in microseconds of CLOCK_MONOTONIC. */
export interface TimeWindow {
  readonly startUs: number;
  readonly endUs: number;
}

export interface ModuleShare {
  readonly module: string;
  readonly ms: number;
  /** Share of the busy (non-idle) time. */
  readonly share: number;
}

export interface FunctionShare extends ModuleShare {
  readonly function: string;
  readonly location: string;
}

export interface ProfileSummary {
  /** Busy time sampled (everything but idle), ms. */
  readonly busyMs: number;
  readonly idleMs: number;
  /** Whether the samples were limited to the given windows (false: none given, or none matched). */
  readonly windowed: boolean;
  /** Self time of each module's own functions. */
  readonly selfByModule: readonly ModuleShare[];
  /**
   * Self time with node core and V8 built-ins charged to the nearest library or gateway frame that called
   * them (e.g. http2 session writes under grpc-js count for grpc-js); GC and native time stay apart.
   */
  readonly attributedByModule: readonly ModuleShare[];
  readonly topFunctions: readonly FunctionShare[];
}

const PROJECT_URL = pathToFileURL(resolve(import.meta.dirname, "../..")).href;

const PACKAGE_MODULES: Readonly<Record<string, string>> = {
  "@grpc/grpc-js": "grpc-js",
  "@grpc/proto-loader": "grpc-js",
  "@bufbuild/protobuf": "protobuf-es",
  undici: "undici",
  pino: "pino",
  "pino-std-serializers": "pino",
  "sonic-boom": "pino",
  "fast-redact": "pino",
  "@pinojs/redact": "pino",
  "quick-format-unescaped": "pino",
  "safe-stable-stringify": "pino",
  "thread-stream": "pino",
  "atomic-sleep": "pino",
  "on-exit-leak-free": "pino",
  "prom-client": "prom-client",
  tdigest: "prom-client",
  bintrees: "prom-client",
  kafkajs: "kafkajs",
  opossum: "opossum",
};

const SPECIAL: Readonly<Record<string, string>> = {
  "(garbage collector)": "V8 garbage collector",
  "(program)": "native, outside JS (V8, libuv, nghttp2, syscalls)",
  "(idle)": "(idle)",
  "(root)": "(root)",
};

const NODE_AREAS: ReadonlyArray<readonly [RegExp, string]> = [
  [/^node:(internal\/)?crypto/, "node:crypto"],
  [/^node:(internal\/)?http2/, "node:http2"],
  [/^node:(_http_|http$|https$|internal\/http)/, "node:http"],
  [/^node:(net$|stream$|internal\/stream_base_commons|internal\/streams|internal\/net)/, "node:net+streams"],
  [
    /^node:(timers$|internal\/timers|internal\/process\/task_queues|async_hooks$|internal\/async_hooks|events$|internal\/event_target|internal\/abort_controller)/,
    "node:timers+events",
  ],
  [/^node:(fs|internal\/fs)/, "node:fs"],
  [/^node:(buffer$|internal\/buffer|string_decoder|internal\/util\/types|util$|internal\/util)/, "node:buffer+util"],
  [/^node:(internal\/perf|perf_hooks)/, "node:perf_hooks"],
];

/** The module a frame belongs to, by its URL (or V8's name for a pseudo-frame). */
export function moduleOf(frame: CallFrame): string {
  const special = SPECIAL[frame.functionName];
  if (frame.url === "" && special !== undefined) return special;
  const url = frame.url;
  if (url === "") return "V8 built-ins and native functions";
  // The only WebAssembly in the gateway is undici's HTTP parser (llhttp).
  if (url.startsWith("wasm://")) return "undici";
  if (url.startsWith("node:")) return NODE_AREAS.find(([pattern]) => pattern.test(url))?.[1] ?? "node: other";
  const nm = url.lastIndexOf("/node_modules/");
  if (nm !== -1) {
    const parts = url.slice(nm + "/node_modules/".length).split("/");
    const name = parts[0]?.startsWith("@") === true ? `${parts[0]}/${parts[1] ?? ""}` : (parts[0] ?? "");
    return PACKAGE_MODULES[name] ?? `npm ${name}`;
  }
  if (url.startsWith(`${PROJECT_URL}/`)) {
    // Two folder levels (gateway/grpc/, observability/audit/) tell the gateway's parts apart.
    const folders = url
      .slice(PROJECT_URL.length + 1)
      .split("/")
      .slice(0, -1);
    return folders[0] === "gen" ? "gen/ (generated protobuf code)" : `estelam ${folders.slice(0, 2).join("/")}/`;
  }
  return "other";
}

/** Modules whose cost belongs to whoever called them. */
function isPassThrough(module: string): boolean {
  return module.startsWith("node:") || module === "V8 built-ins and native functions" || module === "(root)";
}

function ranked(totals: Map<string, number>, busyUs: number): ModuleShare[] {
  return [...totals.entries()]
    .map(([module, us]) => ({ module, ms: us / 1000, share: busyUs > 0 ? us / busyUs : 0 }))
    .sort((a, b) => b.ms - a.ms);
}

export function summarizeProfile(profile: CpuProfile, windows: readonly TimeWindow[] = [], topCount = 25): ProfileSummary {
  const byId = new Map<number, ProfileNode>();
  const parentOf = new Map<number, number>();
  for (const node of profile.nodes) {
    byId.set(node.id, node);
    for (const child of node.children ?? []) parentOf.set(child, node.id);
  }
  const samples = profile.samples ?? [];
  const deltas = profile.timeDeltas ?? [];
  // Sample i lasts until sample i+1 (as Chrome DevTools counts it); the last one until endTime.
  const times: number[] = [];
  let t = profile.startTime;
  for (let i = 0; i < samples.length; i++) {
    t += deltas[i] ?? 0;
    times.push(t);
  }
  const inWindow = (time: number): boolean => windows.some((w) => time >= w.startUs && time <= w.endUs);
  const windowed = windows.length > 0 && times.some(inWindow);
  const selfUs = new Map<number, number>();
  for (let i = 0; i < samples.length; i++) {
    const time = times[i] as number;
    if (windowed && !inWindow(time)) continue;
    const duration = (i + 1 < times.length ? (times[i + 1] as number) : profile.endTime) - time;
    const id = samples[i] as number;
    selfUs.set(id, (selfUs.get(id) ?? 0) + Math.max(0, duration));
  }

  const moduleOfId = new Map<number, string>();
  const moduleFor = (id: number): string => {
    let module = moduleOfId.get(id);
    if (module === undefined) {
      const node = byId.get(id);
      module = node === undefined ? "(root)" : moduleOf(node.callFrame);
      moduleOfId.set(id, module);
    }
    return module;
  };
  const attributedModule = (id: number): string => {
    const own = moduleFor(id);
    if (!isPassThrough(own)) return own;
    for (let up = parentOf.get(id); up !== undefined; up = parentOf.get(up)) {
      const module = moduleFor(up);
      if (!isPassThrough(module)) return module;
    }
    return own === "(root)" ? "V8 built-ins and native functions" : own;
  };

  let busyUs = 0;
  let idleUs = 0;
  const self = new Map<string, number>();
  const attributed = new Map<string, number>();
  const functions = new Map<string, { module: string; function: string; location: string; us: number }>();
  for (const [id, us] of selfUs) {
    const module = moduleFor(id);
    if (module === "(idle)") {
      idleUs += us;
      continue;
    }
    busyUs += us;
    self.set(module, (self.get(module) ?? 0) + us);
    const charged = attributedModule(id);
    attributed.set(charged, (attributed.get(charged) ?? 0) + us);
    const frame = byId.get(id)?.callFrame;
    const name = frame?.functionName === "" || frame === undefined ? "(anonymous)" : frame.functionName;
    const location =
      frame === undefined || frame.url === ""
        ? ""
        : `${frame.url.replace(`${PROJECT_URL}/`, "").replace(/^.*\/node_modules\//, "")}:${frame.lineNumber + 1}`;
    const key = `${module}\u0000${name}\u0000${location}`;
    const entry = functions.get(key) ?? { module, function: name, location, us: 0 };
    entry.us += us;
    functions.set(key, entry);
  }
  const topFunctions = [...functions.values()]
    .sort((a, b) => b.us - a.us)
    .slice(0, topCount)
    .map((f) => ({ module: f.module, function: f.function, location: f.location, ms: f.us / 1000, share: busyUs > 0 ? f.us / busyUs : 0 }));
  return {
    busyMs: busyUs / 1000,
    idleMs: idleUs / 1000,
    windowed,
    selfByModule: ranked(self, busyUs),
    attributedByModule: ranked(attributed, busyUs),
    topFunctions,
  };
}

function percent(share: number): string {
  return `${(share * 100).toFixed(1)} %`.padStart(7);
}

/** The summary as text tables. */
export function formatProfileSummary(summary: ProfileSummary): string {
  const width = Math.max(
    ...summary.attributedByModule.map((m) => m.module.length),
    ...summary.selfByModule.map((m) => m.module.length),
    20,
  );
  const lines = [
    `CPU profile of the gateway: ${(summary.busyMs / 1000).toFixed(2)} s busy${summary.windowed ? " inside the measured gateway phases" : " (whole process life)"}, main thread only`,
    "",
    "Self time by module (own functions only):",
    ...summary.selfByModule.filter((m) => m.share >= 0.001).map((m) => `  ${m.module.padEnd(width)} ${percent(m.share)}`),
    "",
    "Self time with node core and V8 built-ins charged to their calling library:",
    ...summary.attributedByModule.filter((m) => m.share >= 0.001).map((m) => `  ${m.module.padEnd(width)} ${percent(m.share)}`),
    "",
    "Top functions by self time:",
    ...summary.topFunctions.map(
      (f) => `  ${percent(f.share)}  ${f.module.padEnd(width)}  ${f.function}${f.location === "" ? "" : `  (${f.location})`}`,
    ),
  ];
  return `${lines.join("\n")}\n`;
}

if (import.meta.main) {
  const file = process.argv[2];
  if (file === undefined || file === "--help") {
    process.stdout.write("usage: node test/bench/cpu-profile.ts <file.cpuprofile>\n");
    process.exit(file === undefined ? 2 : 0);
  }
  process.stdout.write(formatProfileSummary(summarizeProfile(JSON.parse(readFileSync(file, "utf8")) as CpuProfile)));
}
