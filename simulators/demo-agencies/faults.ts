// Fault injection for the demo agencies: make an agency slow, failing, crashed or silent, on purpose and
// repeatably. Set over HTTP (`/_control/faults`) or on the DemoAgencies object; see README.md.

export const AGENCIES = ["nocr", "post", "cbi", "cra"] as const;
export type AgencyName = (typeof AGENCIES)[number];

/**
 * - `ok`: answer normally (subject to `latencyMs` and `errorRate`);
 * - `error`: answer every call with 503;
 * - `down`: read the request, then destroy the connection without answering, like a crashed upstream;
 * - `hang`: never answer; the request stays open until the client gives up.
 */
export const FAULT_MODES = ["ok", "error", "down", "hang"] as const;
export type FaultMode = (typeof FAULT_MODES)[number];

export interface FaultSettings {
  readonly mode: FaultMode;
  /** Delay before every answer (and before `down` drops the connection). */
  readonly latencyMs: number;
  /** In mode `ok`: the fraction of calls answered with 503, on a fixed schedule (see `next`). */
  readonly errorRate: number;
}

export interface FaultSpec {
  /** One agency, or `*` for all of them. */
  readonly agency: AgencyName | "*";
  readonly mode?: FaultMode;
  readonly latencyMs?: number;
  readonly errorRate?: number;
}

/** What to do with one call: how long to wait first, then answer, fail with 503, drop, or hang. */
export interface FaultDecision {
  readonly action: "answer" | "error" | "down" | "hang";
  readonly latencyMs: number;
}

export interface FaultControl {
  /**
   * Replaces the settings of one agency (or all, with `*`); fields left out take their defaults
   * (`ok`, 0 ms, 0). Restarts the agency's error-rate schedule. Throws a TypeError on an invalid spec.
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

const DEFAULTS: FaultSettings = { mode: "ok", latencyMs: 0, errorRate: 0 };
const SPEC_KEYS = new Set(["agency", "mode", "latencyMs", "errorRate"]);

export type FaultSpecResult = { readonly ok: true; readonly spec: FaultSpec } | { readonly ok: false; readonly problem: string };

/** Validates a fault spec from JSON (the body of `POST /_control/faults`). */
export function parseFaultSpec(raw: unknown): FaultSpecResult {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) return { ok: false, problem: "the body must be a JSON object" };
  const o = raw as Record<string, unknown>;
  for (const key of Object.keys(o))
    if (!SPEC_KEYS.has(key)) return { ok: false, problem: `unknown key '${key}' (allowed: agency, mode, latencyMs, errorRate)` };
  const { agency, mode, latencyMs, errorRate } = o;
  if (agency !== "*" && !AGENCIES.includes(agency as AgencyName))
    return { ok: false, problem: `agency must be one of ${AGENCIES.join(", ")} or *` };
  if (mode !== undefined && !FAULT_MODES.includes(mode as FaultMode))
    return { ok: false, problem: `mode must be one of ${FAULT_MODES.join(", ")}` };
  if (
    latencyMs !== undefined &&
    (typeof latencyMs !== "number" || !Number.isFinite(latencyMs) || latencyMs < 0 || latencyMs > MAX_LATENCY_MS)
  ) {
    return { ok: false, problem: `latencyMs must be a number from 0 to ${MAX_LATENCY_MS}` };
  }
  if (errorRate !== undefined && (typeof errorRate !== "number" || !(errorRate >= 0 && errorRate <= 1))) {
    return { ok: false, problem: "errorRate must be a number from 0 to 1" };
  }
  return {
    ok: true,
    spec: {
      agency: agency as AgencyName | "*",
      ...(mode === undefined ? {} : { mode: mode as FaultMode }),
      ...(latencyMs === undefined ? {} : { latencyMs: latencyMs as number }),
      ...(errorRate === undefined ? {} : { errorRate: errorRate as number }),
    },
  };
}

// Guards against n·r landing a hair under an integer (0.57 × 100 = 56.99999999999999).
const EPSILON = 1e-9;

export function createFaultControl(): FaultControl {
  const current = new Map<AgencyName, FaultSettings>(AGENCIES.map((a) => [a, DEFAULTS]));
  const calls = new Map<AgencyName, number>(AGENCIES.map((a) => [a, 0]));

  return {
    set(spec) {
      const checked = parseFaultSpec(spec);
      if (!checked.ok) throw new TypeError(`invalid fault spec: ${checked.problem}`);
      const settings: FaultSettings = {
        mode: spec.mode ?? DEFAULTS.mode,
        latencyMs: spec.latencyMs ?? DEFAULTS.latencyMs,
        errorRate: spec.errorRate ?? DEFAULTS.errorRate,
      };
      for (const agency of spec.agency === "*" ? AGENCIES : [spec.agency]) {
        current.set(agency, settings);
        calls.set(agency, 0);
      }
    },
    reset() {
      for (const agency of AGENCIES) {
        current.set(agency, DEFAULTS);
        calls.set(agency, 0);
      }
    },
    settings() {
      return Object.fromEntries(AGENCIES.map((a) => [a, current.get(a) ?? DEFAULTS])) as Record<AgencyName, FaultSettings>;
    },
    next(agency) {
      const settings = current.get(agency) ?? DEFAULTS;
      const n = (calls.get(agency) ?? 0) + 1;
      calls.set(agency, n);
      const { latencyMs } = settings;
      switch (settings.mode) {
        case "error":
          return { action: "error", latencyMs };
        case "down":
          return { action: "down", latencyMs };
        case "hang":
          return { action: "hang", latencyMs: 0 };
        case "ok": {
          const r = settings.errorRate;
          const fails = r > 0 && Math.floor(n * r + EPSILON) > Math.floor((n - 1) * r + EPSILON);
          return { action: fails ? "error" : "answer", latencyMs };
        }
      }
    },
  };
}
