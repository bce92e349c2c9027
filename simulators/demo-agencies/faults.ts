// Fault injection for the demo agencies: make an agency slow, failing, crashed, silent or hostile, on
// purpose and repeatably. Set over HTTP (`/_control/faults`) or on the DemoAgencies object; see README.md.
import { AGENCIES, AGENCY_INFO, type AgencyName, type Face, isAgencyName } from "./agencies.ts";

export { AGENCIES, type AgencyName } from "./agencies.ts";

/**
 * Answers shaped to hurt the caller. Each is generated lazily (streamed), so the simulator's own memory
 * stays small whatever size is asked for.
 */
export const HOSTILE_MODES = [
  "huge-body",
  "trickle",
  "stall-headers",
  "wrong-content-type",
  "invalid-json",
  "invalid-xml",
  "deep-json",
  "wide-json",
  "deep-xml",
  "wide-xml",
  "xml-bomb",
  "xxe",
  "redirect",
  "invalid-protobuf",
] as const;
export type HostileMode = (typeof HOSTILE_MODES)[number];

/**
 * - `ok`: answer normally (subject to latency, `errorRate` and outages);
 * - `error`: answer every call with the agency's own "unavailable" error;
 * - `down`: read the request, then destroy the connection without answering, like a crashed upstream
 *   (gRPC: UNAVAILABLE, as a proxy in front of a dead server says);
 * - `hang`: never answer; the request stays open until the client gives up;
 * - a hostile mode (see HOSTILE_MODES and README.md).
 */
export const FAULT_MODES = ["ok", "error", "down", "hang", ...HOSTILE_MODES] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

/** What a face can do: gRPC agencies have no HTTP bodies to mangle, HTTP agencies no protobuf. */
const GRPC_MODES: ReadonlySet<FaultMode> = new Set(["ok", "error", "down", "hang", "huge-body", "invalid-protobuf"]);

export function modeAvailable(face: Face, mode: FaultMode): boolean {
  return face === "grpc" ? GRPC_MODES.has(mode) : mode !== "invalid-protobuf";
}

/** A latency distribution: log-normal from its median and 99th percentile, or uniform between two bounds. */
export type LatencyDistribution = { readonly p50Ms: number; readonly p99Ms: number } | { readonly minMs: number; readonly maxMs: number };

/** A window during which the agency behaves as `mode`; repeats every `everyMs` when given. */
export interface Outage {
  readonly afterMs: number;
  readonly forMs: number;
  readonly everyMs?: number;
  readonly mode: "down" | "error" | "hang";
}

export const GRPC_STATUS_NAMES = [
  "CANCELLED",
  "UNKNOWN",
  "INVALID_ARGUMENT",
  "DEADLINE_EXCEEDED",
  "NOT_FOUND",
  "ALREADY_EXISTS",
  "PERMISSION_DENIED",
  "RESOURCE_EXHAUSTED",
  "FAILED_PRECONDITION",
  "ABORTED",
  "OUT_OF_RANGE",
  "UNIMPLEMENTED",
  "INTERNAL",
  "UNAVAILABLE",
  "DATA_LOSS",
  "UNAUTHENTICATED",
] as const;
export type GrpcStatusName = (typeof GRPC_STATUS_NAMES)[number];

export const REDIRECT_TARGETS = ["other-host", "same-host", "loop"] as const;

export interface FaultSettings {
  readonly mode: FaultMode;
  /** Fixed delay before every answer (and before `down` drops the connection). */
  readonly latencyMs: number;
  /** In mode `ok`: the fraction of calls answered with the agency's error, on a fixed schedule (see `next`). */
  readonly errorRate: number;
  /** A latency distribution, drawn from a seeded generator (repeatable), instead of `latencyMs`. */
  readonly latency?: LatencyDistribution;
  /** HTTP status of injected errors (HTTP faces); default 503. */
  readonly errorStatus?: number;
  /** gRPC status of injected errors (gRPC faces); default UNAVAILABLE. */
  readonly grpcStatus?: GrpcStatusName;
  readonly outage?: Outage;
  /** huge-body: size of the answer. */
  readonly bytes?: number;
  /** deep-json, deep-xml: nesting depth. */
  readonly depth?: number;
  /** wide-json: keys of one object; wide-xml: sibling elements. */
  readonly keys?: number;
  /** trickle: pause between bytes. */
  readonly intervalMs?: number;
  /** redirect: `other-host` (another host name and port), `same-host`, `loop`, or an absolute http(s) URL. */
  readonly redirectTo?: string;
  readonly redirectStatus?: number;
}

export interface FaultSpec {
  /** One agency, or `*` for all. */
  readonly agency: AgencyName | "*";
  readonly mode?: FaultMode;
  readonly latencyMs?: number;
  readonly latency?: LatencyDistribution;
  readonly errorRate?: number;
  readonly errorStatus?: number;
  readonly grpcStatus?: GrpcStatusName;
  readonly outage?: Partial<Outage> & { readonly forMs: number };
  readonly bytes?: number;
  readonly depth?: number;
  readonly keys?: number;
  readonly intervalMs?: number;
  readonly redirectTo?: string;
  readonly redirectStatus?: number;
}

export type FaultAction = "answer" | "error" | "down" | "hang" | HostileMode;

/** What to do with one call: how long to wait first, then what to do, with the settings it came from. */
export interface FaultDecision {
  readonly action: FaultAction;
  readonly latencyMs: number;
  readonly settings: FaultSettings;
}

export interface FaultControl {
  /**
   * Replaces the settings of one agency (or all, with `*`); fields left out take their defaults
   * (`ok`, 0 ms, 0). Restarts the agency's error-rate schedule, latency draws and outage clock. Throws a
   * TypeError on an invalid spec.
   */
  set(spec: FaultSpec): void;
  /** Every agency back to `ok`, no latency, no errors. */
  reset(): void;
  settings(): Readonly<Record<AgencyName, FaultSettings>>;
  /**
   * Decides the next call to `agency`. With error rate r, the n-th call since the settings changed fails
   * when ⌊n·r⌋ > ⌊(n−1)·r⌋: r = 0.25 fails calls 4, 8, 12…; r = 0.5 fails every second call; r = 1 all.
   */
  next(agency: AgencyName): FaultDecision;
}

export const MAX_LATENCY_MS = 600_000;

export const HOSTILE_DEFAULTS = {
  bytes: 1024 ** 3,
  grpcBytes: 8 * 1024 ** 2,
  depth: 100_000,
  keys: 50_000,
  intervalMs: 1000,
  redirectTo: "other-host",
  redirectStatus: 302,
} as const;

export const HOSTILE_LIMITS = {
  bytes: 1024 ** 4,
  // A gRPC message is framed whole, so it is held in memory once: keep it modest.
  grpcBytes: 64 * 1024 ** 2,
  depth: 10_000_000,
  keys: 10_000_000,
  intervalMs: 60_000,
} as const;

const DEFAULTS: FaultSettings = { mode: "ok", latencyMs: 0, errorRate: 0 };

const SPEC_KEYS = [
  "agency",
  "mode",
  "latencyMs",
  "latency",
  "errorRate",
  "errorStatus",
  "grpcStatus",
  "outage",
  "bytes",
  "depth",
  "keys",
  "intervalMs",
  "redirectTo",
  "redirectStatus",
] as const;

/** Which hostile option belongs to which modes; an option given with another mode is refused. */
const OPTION_MODES: Readonly<Record<"bytes" | "depth" | "keys" | "intervalMs" | "redirectTo" | "redirectStatus", readonly FaultMode[]>> = {
  bytes: ["huge-body"],
  depth: ["deep-json", "deep-xml"],
  keys: ["wide-json", "wide-xml"],
  intervalMs: ["trickle"],
  redirectTo: ["redirect"],
  redirectStatus: ["redirect"],
};

export type FaultSpecResult = { readonly ok: true; readonly spec: FaultSpec } | { readonly ok: false; readonly problem: string };

type Check = string | undefined;

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}

function numberIn(value: unknown, min: number, max: number): value is number {
  return typeof value === "number" && Number.isFinite(value) && value >= min && value <= max;
}

function integerIn(value: unknown, min: number, max: number): value is number {
  return numberIn(value, min, max) && Number.isInteger(value);
}

function checkLatency(raw: unknown): Check {
  if (!isObject(raw)) return "latency must be an object: {p50Ms, p99Ms} or {minMs, maxMs}";
  const keys = Object.keys(raw).sort().join(",");
  if (keys === "p50Ms,p99Ms") {
    const { p50Ms, p99Ms } = raw;
    if (!numberIn(p50Ms, 0.001, MAX_LATENCY_MS) || !numberIn(p99Ms, 0.001, MAX_LATENCY_MS) || p99Ms < p50Ms)
      return `latency p50Ms and p99Ms must be numbers above 0 and up to ${MAX_LATENCY_MS}, p99Ms at least p50Ms`;
    return undefined;
  }
  if (keys === "maxMs,minMs") {
    const { minMs, maxMs } = raw;
    if (!numberIn(minMs, 0, MAX_LATENCY_MS) || !numberIn(maxMs, 0, MAX_LATENCY_MS) || maxMs < minMs)
      return `latency minMs and maxMs must be numbers from 0 to ${MAX_LATENCY_MS}, maxMs at least minMs`;
    return undefined;
  }
  return "latency must be {p50Ms, p99Ms} (log-normal) or {minMs, maxMs} (uniform)";
}

function checkOutage(raw: unknown): Check {
  if (!isObject(raw)) return "outage must be an object {afterMs, forMs, everyMs, mode}";
  for (const key of Object.keys(raw))
    if (!["afterMs", "forMs", "everyMs", "mode"].includes(key))
      return `unknown outage key '${key}' (allowed: afterMs, forMs, everyMs, mode)`;
  const { afterMs, forMs, everyMs, mode } = raw;
  const day = 86_400_000;
  if (afterMs !== undefined && !numberIn(afterMs, 0, day)) return `outage.afterMs must be a number from 0 to ${day}`;
  if (!numberIn(forMs, 1, day)) return `outage.forMs must be a number from 1 to ${day}`;
  if (everyMs !== undefined && (!numberIn(everyMs, 1, day) || (typeof afterMs === "number" ? afterMs : 0) + forMs > everyMs))
    return "outage.everyMs must be a number of at least afterMs + forMs";
  if (mode !== undefined && mode !== "down" && mode !== "error" && mode !== "hang") return "outage.mode must be down, error or hang";
  return undefined;
}

function checkRedirectTo(raw: unknown): Check {
  if (typeof raw !== "string") return "redirectTo must be a string";
  if ((REDIRECT_TARGETS as readonly string[]).includes(raw)) return undefined;
  try {
    const url = new URL(raw);
    if (url.protocol === "http:" || url.protocol === "https:") return undefined;
  } catch {
    // falls through to the message below
  }
  return `redirectTo must be one of ${REDIRECT_TARGETS.join(", ")} or an absolute http(s) URL`;
}

/** Validates a fault spec from JSON (the body of `POST /_control/faults`). */
export function parseFaultSpec(raw: unknown): FaultSpecResult {
  if (!isObject(raw)) return { ok: false, problem: "the body must be a JSON object" };
  for (const key of Object.keys(raw))
    if (!(SPEC_KEYS as readonly string[]).includes(key))
      return { ok: false, problem: `unknown key '${key}' (allowed: ${SPEC_KEYS.join(", ")})` };
  const { agency, mode, latencyMs, latency, errorRate, errorStatus, grpcStatus, outage } = raw;
  const fail = (problem: string): FaultSpecResult => ({ ok: false, problem });
  if (agency !== "*" && !isAgencyName(agency)) return fail(`agency must be one of ${AGENCIES.join(", ")} or *`);
  if (mode !== undefined && !(FAULT_MODES as readonly unknown[]).includes(mode))
    return fail(`mode must be one of ${FAULT_MODES.join(", ")}`);
  const resolvedMode = (mode ?? "ok") as FaultMode;
  if (latencyMs !== undefined && !numberIn(latencyMs, 0, MAX_LATENCY_MS))
    return fail(`latencyMs must be a number from 0 to ${MAX_LATENCY_MS}`);
  if (latency !== undefined) {
    const problem = checkLatency(latency);
    if (problem !== undefined) return fail(problem);
    if (latencyMs !== undefined && latencyMs !== 0) return fail("give either latencyMs (fixed) or latency (a distribution), not both");
  }
  if (errorRate !== undefined && !numberIn(errorRate, 0, 1)) return fail("errorRate must be a number from 0 to 1");
  if (errorStatus !== undefined && !integerIn(errorStatus, 400, 599)) return fail("errorStatus must be an HTTP status from 400 to 599");
  if (grpcStatus !== undefined && !(GRPC_STATUS_NAMES as readonly unknown[]).includes(grpcStatus))
    return fail(`grpcStatus must be one of ${GRPC_STATUS_NAMES.join(", ")}`);
  if (outage !== undefined) {
    const problem = checkOutage(outage);
    if (problem !== undefined) return fail(problem);
  }
  for (const [option, modes] of Object.entries(OPTION_MODES)) {
    if (raw[option] !== undefined && !modes.includes(resolvedMode)) return fail(`${option} applies only to mode ${modes.join(" or ")}`);
  }
  if (raw.bytes !== undefined && !integerIn(raw.bytes, 1, HOSTILE_LIMITS.bytes))
    return fail(`bytes must be an integer from 1 to ${HOSTILE_LIMITS.bytes}`);
  if (raw.depth !== undefined && !integerIn(raw.depth, 1, HOSTILE_LIMITS.depth))
    return fail(`depth must be an integer from 1 to ${HOSTILE_LIMITS.depth}`);
  if (raw.keys !== undefined && !integerIn(raw.keys, 1, HOSTILE_LIMITS.keys))
    return fail(`keys must be an integer from 1 to ${HOSTILE_LIMITS.keys}`);
  if (raw.intervalMs !== undefined && !integerIn(raw.intervalMs, 1, HOSTILE_LIMITS.intervalMs))
    return fail(`intervalMs must be an integer from 1 to ${HOSTILE_LIMITS.intervalMs}`);
  if (raw.redirectTo !== undefined) {
    const problem = checkRedirectTo(raw.redirectTo);
    if (problem !== undefined) return fail(problem);
  }
  if (raw.redirectStatus !== undefined && ![301, 302, 303, 307, 308].includes(raw.redirectStatus as number))
    return fail("redirectStatus must be 301, 302, 303, 307 or 308");
  const targets = agency === "*" ? AGENCIES : [agency as AgencyName];
  for (const target of targets) {
    const face = AGENCY_INFO[target].face;
    if (!modeAvailable(face, resolvedMode))
      return fail(
        `mode ${resolvedMode} is not available for ${target} (${face === "grpc" ? "gRPC" : "HTTP"}); set the agencies one at a time`,
      );
    if (face === "grpc" && raw.bytes !== undefined && (raw.bytes as number) > HOSTILE_LIMITS.grpcBytes)
      return fail(`bytes must be at most ${HOSTILE_LIMITS.grpcBytes} for a gRPC agency (${target})`);
  }
  return { ok: true, spec: raw as unknown as FaultSpec };
}

/** The settings a valid spec gives one agency: the mode's options filled in with their defaults. */
function resolve(spec: FaultSpec, face: Face): FaultSettings {
  const mode = spec.mode ?? DEFAULTS.mode;
  const settings: { -readonly [K in keyof FaultSettings]: FaultSettings[K] } = {
    mode,
    latencyMs: spec.latencyMs ?? DEFAULTS.latencyMs,
    errorRate: spec.errorRate ?? DEFAULTS.errorRate,
  };
  if (spec.latency !== undefined) settings.latency = spec.latency;
  if (spec.errorStatus !== undefined) settings.errorStatus = spec.errorStatus;
  if (spec.grpcStatus !== undefined) settings.grpcStatus = spec.grpcStatus;
  if (spec.outage !== undefined) settings.outage = { afterMs: 0, mode: "down", ...spec.outage };
  if (mode === "huge-body") settings.bytes = spec.bytes ?? (face === "grpc" ? HOSTILE_DEFAULTS.grpcBytes : HOSTILE_DEFAULTS.bytes);
  if (mode === "deep-json" || mode === "deep-xml") settings.depth = spec.depth ?? HOSTILE_DEFAULTS.depth;
  if (mode === "wide-json" || mode === "wide-xml") settings.keys = spec.keys ?? HOSTILE_DEFAULTS.keys;
  if (mode === "trickle") settings.intervalMs = spec.intervalMs ?? HOSTILE_DEFAULTS.intervalMs;
  if (mode === "redirect") {
    settings.redirectTo = spec.redirectTo ?? HOSTILE_DEFAULTS.redirectTo;
    settings.redirectStatus = spec.redirectStatus ?? HOSTILE_DEFAULTS.redirectStatus;
  }
  return settings;
}

// Guards against n·r landing a hair under an integer (0.57 × 100 = 56.99999999999999).
const EPSILON = 1e-9;
// The 99th percentile of the standard normal distribution.
const Z99 = 2.326_347_874;

/** mulberry32: a small seeded generator, so latency draws repeat from one run to the next. */
function seededRandom(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

function seedOf(agency: AgencyName): number {
  let h = 2_166_136_261;
  for (const ch of agency) h = Math.imul(h ^ ch.charCodeAt(0), 16_777_619);
  return h >>> 0;
}

function draw(distribution: LatencyDistribution, random: () => number): number {
  if ("minMs" in distribution) return Math.round(distribution.minMs + random() * (distribution.maxMs - distribution.minMs));
  // Box–Muller: one standard normal draw from two uniform ones.
  const z = Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
  const sigma = Math.log(distribution.p99Ms / distribution.p50Ms) / Z99;
  return Math.min(MAX_LATENCY_MS, Math.round(distribution.p50Ms * Math.exp(sigma * z)));
}

function inOutage(outage: Outage, elapsedMs: number): boolean {
  const t = outage.everyMs === undefined ? elapsedMs : elapsedMs % outage.everyMs;
  return t >= outage.afterMs && t < outage.afterMs + outage.forMs;
}

export interface FaultControlOptions {
  /** Clock for outages; `performance.now` by default. */
  readonly now?: () => number;
}

interface AgencyState {
  settings: FaultSettings;
  calls: number;
  since: number;
  random: () => number;
}

export function createFaultControl(options: FaultControlOptions = {}): FaultControl {
  const now = options.now ?? (() => performance.now());
  const fresh = (agency: AgencyName, settings: FaultSettings): AgencyState => ({
    settings,
    calls: 0,
    since: now(),
    random: seededRandom(seedOf(agency)),
  });
  const state = new Map<AgencyName, AgencyState>(AGENCIES.map((a) => [a, fresh(a, DEFAULTS)]));

  return {
    set(spec) {
      const checked = parseFaultSpec(spec);
      if (!checked.ok) throw new TypeError(`invalid fault spec: ${checked.problem}`);
      for (const agency of spec.agency === "*" ? AGENCIES : [spec.agency])
        state.set(agency, fresh(agency, resolve(spec, AGENCY_INFO[agency].face)));
    },
    reset() {
      for (const agency of AGENCIES) state.set(agency, fresh(agency, DEFAULTS));
    },
    settings() {
      return Object.fromEntries(AGENCIES.map((a) => [a, state.get(a)?.settings ?? DEFAULTS])) as Record<AgencyName, FaultSettings>;
    },
    next(agency) {
      const current = state.get(agency) ?? fresh(agency, DEFAULTS);
      state.set(agency, current);
      const { settings } = current;
      current.calls += 1;
      const n = current.calls;
      const latencyMs = settings.latency === undefined ? settings.latencyMs : draw(settings.latency, current.random);
      if (settings.outage !== undefined && inOutage(settings.outage, now() - current.since)) {
        const action = settings.outage.mode;
        return { action, latencyMs: action === "hang" ? 0 : latencyMs, settings };
      }
      switch (settings.mode) {
        case "hang":
          return { action: "hang", latencyMs: 0, settings };
        case "ok": {
          const r = settings.errorRate;
          const fails = r > 0 && Math.floor(n * r + EPSILON) > Math.floor((n - 1) * r + EPSILON);
          return { action: fails ? "error" : "answer", latencyMs, settings };
        }
        default:
          return { action: settings.mode, latencyMs, settings };
      }
    },
  };
}
