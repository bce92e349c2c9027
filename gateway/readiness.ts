// Whether the gateway can serve inquiries now: a registry revision is served, the audit trail can record,
// and the gateway is not draining. One answer for every way of asking: /readyz, and gRPC health (both the overall
// status "" and the inquiry service), whose Watch streams are told of each change.
export interface ReadinessCheck {
  readonly name: string;
  ready(): boolean;
  /** What an operator should know about this check, ready or not (e.g. the registry store is away). */
  detail?(): string | undefined;
}

export interface ReadinessReport {
  readonly ready: boolean;
  readonly checks: Readonly<Record<string, "ready" | "not_ready">>;
  /** Lines of detail by check name, for the checks that have something to say. */
  readonly details: Readonly<Record<string, string>>;
}

export interface Readiness {
  /** Evaluates every check now and tells the watchers if the answer changed. */
  evaluate(): ReadinessReport;
  /** Called with each change of the overall answer (and once, now, with the current one). */
  onChange(listener: (ready: boolean) => void): void;
  /** Stops the periodic evaluation. */
  close(): void;
}

/**
 * How often readiness is re-evaluated for watchers (gRPC health Watch streams hear of a change within this);
 * a direct question (/readyz, health Check) always gets a fresh answer.
 */
export const READINESS_POLL_MS = 1000;

export function createReadiness(checks: readonly ReadinessCheck[], pollMs = READINESS_POLL_MS): Readiness {
  const listeners: Array<(ready: boolean) => void> = [];
  let last: boolean | undefined;

  const evaluate = (): ReadinessReport => {
    const results: Record<string, "ready" | "not_ready"> = {};
    const details: Record<string, string> = {};
    let ready = true;
    for (const check of checks) {
      let ok: boolean;
      try {
        ok = check.ready();
        const detail = check.detail?.();
        if (detail !== undefined) details[check.name] = detail;
      } catch {
        ok = false;
      }
      results[check.name] = ok ? "ready" : "not_ready";
      ready &&= ok;
    }
    if (ready !== last) {
      last = ready;
      for (const listener of listeners) listener(ready);
    }
    return { ready, checks: results, details };
  };

  const timer = setInterval(evaluate, pollMs);
  timer.unref();
  return {
    evaluate,
    onChange(listener) {
      // Evaluated before the listener joins, so it hears the current answer once, not also as a change.
      const { ready } = evaluate();
      listeners.push(listener);
      listener(ready);
    },
    close: () => clearInterval(timer),
  };
}
