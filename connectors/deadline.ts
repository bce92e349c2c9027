// One upstream call's deadline: the tighter of the caller's gRPC deadline and the inquiry type's timeout,
// as an AbortSignal whose reason says why it fired. Connectors turn that reason into the catalogue error,
// and the breaker uses it to tell an agency's slowness from a caller's impatience.
import { EstelamError } from "../core/errors.ts";

export type AbortCause =
  | { readonly kind: "cancelled" }
  | { readonly kind: "deadline"; readonly source: "caller" | "inquiry-type"; readonly afterMs: number };

const CAUSE = Symbol("estelam.abort-cause");

interface CausedReason {
  readonly [CAUSE]: AbortCause;
}

function reasonFor(cause: AbortCause): CausedReason & Error {
  const error = new Error(cause.kind === "cancelled" ? "cancelled by the caller" : `deadline of ${cause.afterMs} ms passed`) as Error & {
    [CAUSE]: AbortCause;
  };
  error[CAUSE] = cause;
  return error;
}

export function abortCause(signal: AbortSignal): AbortCause | undefined {
  const reason: unknown = signal.reason;
  return typeof reason === "object" && reason !== null && CAUSE in reason ? (reason as CausedReason)[CAUSE] : undefined;
}

export interface UpstreamDeadline {
  readonly signal: AbortSignal;
  /** Absolute deadline, epoch ms. */
  readonly deadline: number;
  readonly source: "caller" | "inquiry-type";
  /** Clears the timer and the listener on the caller's signal. */
  dispose(): void;
}

/**
 * Starts the deadline for one upstream call. `callerDeadline` is epoch ms or undefined; `callerSignal` aborts
 * when the caller cancels (or its deadline passes, which grpc-js reports the same way).
 */
export function startUpstreamDeadline(
  timeoutMs: number,
  callerDeadline: number | undefined,
  callerSignal: AbortSignal,
  now = Date.now(),
): UpstreamDeadline {
  const ownDeadline = now + timeoutMs;
  const source = callerDeadline !== undefined && callerDeadline < ownDeadline ? "caller" : "inquiry-type";
  const deadline = source === "caller" ? (callerDeadline as number) : ownDeadline;
  const controller = new AbortController();
  const afterMs = Math.max(0, deadline - now);
  const timer = setTimeout(() => controller.abort(reasonFor({ kind: "deadline", source, afterMs })), afterMs);
  const onCallerAbort = (): void => {
    // The call context says why it aborted; without a reason, judge by the clock.
    const reason: unknown = callerSignal.reason;
    const cancelled =
      reason instanceof EstelamError ? reason.reason === "CANCELLED" : !(callerDeadline !== undefined && Date.now() >= callerDeadline - 1);
    controller.abort(reasonFor(cancelled ? { kind: "cancelled" } : { kind: "deadline", source: "caller", afterMs }));
  };
  if (callerSignal.aborted) onCallerAbort();
  else callerSignal.addEventListener("abort", onCallerAbort, { once: true });
  return {
    signal: controller.signal,
    deadline,
    source,
    dispose() {
      clearTimeout(timer);
      callerSignal.removeEventListener("abort", onCallerAbort);
    },
  };
}

/** The catalogue error for a call that was aborted through its deadline signal. */
export function abortError(signal: AbortSignal, agency: string): EstelamError {
  const cause = abortCause(signal);
  if (cause?.kind === "cancelled") return new EstelamError("CANCELLED", "the caller cancelled the inquiry", { agency });
  const after = cause?.kind === "deadline" ? ` after ${cause.afterMs} ms` : "";
  const whose = cause?.kind === "deadline" && cause.source === "caller" ? "the caller's deadline" : "the inquiry type's timeout";
  return new EstelamError("DEADLINE_EXCEEDED", `agency '${agency}' did not answer within ${whose}${after}`, { agency });
}

/** True when an abort was the caller's doing (cancel, or a caller deadline tighter than the timeout). */
export function abortedByCaller(signal: AbortSignal): boolean {
  const cause = abortCause(signal);
  return cause !== undefined && (cause.kind === "cancelled" || cause.source === "caller");
}

/**
 * `work`'s outcome; or, once `signal` has fired and `afterMs` more have passed without it, the error
 * `abandoned()` gives. The caller stops waiting; the work itself goes on (for others sharing it, or until a
 * careless connector gives up on its own).
 */
export function settleBy<T>(work: Promise<T>, signal: AbortSignal, abandoned: () => unknown, afterMs = 0): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    let timer: NodeJS.Timeout | undefined;
    const onAbort = (): void => {
      if (afterMs === 0) reject(abandoned());
      else timer = setTimeout(() => reject(abandoned()), afterMs);
    };
    const done = (): void => {
      clearTimeout(timer);
      signal.removeEventListener("abort", onAbort);
    };
    if (signal.aborted) onAbort();
    else signal.addEventListener("abort", onAbort, { once: true });
    work.then(
      (value) => {
        done();
        resolve(value);
      },
      (error: unknown) => {
        done();
        reject(error);
      },
    );
  });
}
