// One opossum circuit breaker per agency endpoint. The connector's business answers resolve and never count
// as failures; a caller's own cancel or too-short deadline is filtered out too, so only the agency's faults
// (down, 5xx, broken answers, blowing the inquiry type's timeout) open the breaker. Metrics subscribe to
// the breaker's events from outside (observability/metrics.ts) through BreakerEvents.
//
// Two things opossum would otherwise count wrongly are kept out of it. Its `success` event also fires for
// errors its filter excuses (a full semaphore, a caller's cancel), so upstream calls are timed around the
// connector itself: only a call that reached the agency is ever reported. And its own bulkhead (`capacity`)
// reports a full semaphore as a filtered error, which counts as a success in its rolling window and keeps a
// failing agency's breaker closed; the bulkhead is therefore counted here, before opossum is asked. For the
// same reason a half-open probe cut short by its caller (a cancel, a deadline shorter than the agency needed)
// would close the breaker on an agency not shown to answer: such a probe counts as failed, and the breaker
// waits its reset time again before the next one.
//
// Opossum judges a closed breaker by its failures over every call fired, the excused ones included, so
// callers whose deadlines are tighter than the agency's latency would dilute a failing agency's rate (with
// half the calls excused, a 50 % threshold is never passed). A closed breaker is therefore judged here, over
// the same rolling window, from the calls that tell about the agency: those it answered and those that failed
// by its fault. Opossum keeps the states, the reset timer and the half-open probe.
import { EventEmitter } from "node:events";
import type { JsonObject } from "@bufbuild/protobuf";
import CircuitBreaker from "opossum";
import { EstelamError } from "../core/errors.ts";
import type { Endpoint } from "../registry/catalogue.ts";
import { shapeProblem } from "./answer-limits.ts";
import type { Connector, ConnectorAnswer, ConnectorRequest } from "./connector.ts";
import { abortError, abortedByCaller, settleBy } from "./deadline.ts";

export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerEvents {
  /** `previous` is undefined for the initial state, reported once when the breaker is created. */
  onStateChange?(endpoint: string, state: BreakerState, previous: BreakerState | undefined): void;
  /** A call that reached the agency finished: `fault` says whether it counted against the breaker. */
  onUpstreamCall?(endpoint: string, seconds: number, fault: boolean): void;
  /** A call failed fast without reaching the agency (breaker open or endpoint saturated). */
  onShortCircuit?(endpoint: string, why: "open" | "saturated"): void;
}

/** Checks a found result against the inquiry type's result schema: what is wrong, or undefined. */
export type ResultCheck = (result: JsonObject) => string | undefined;

/**
 * Bounds on any connector's result (built-in kinds apply their endpoint's own, tighter limits while they
 * read): what a third-party connector hands back is held to these before the schema sees it.
 */
// 48 levels: each JSON level is two protobuf message levels (Value, Struct), and protobuf runtimes decode at
// most 100 (protobuf-es's and grpc's default recursion limit), so a deeper result would reach the caller
// undecodable.
export const RESULT_LIMITS = { maxDepth: 48, maxKeys: 20_000 } as const;
const MAX_MESSAGE_CHARS = 500;

export interface Breaker {
  readonly endpoint: string;
  /**
   * Calls the connector through the breaker. A found result is checked — depth and keys, then `check` —
   * before it is returned; a result that fails is AGENCY_BAD_RESPONSE and counts against the agency.
   */
  call(request: ConnectorRequest, operation: unknown, check?: ResultCheck): Promise<ConnectorAnswer>;
  state(): BreakerState;
  shutdown(): void;
}

function codeOf(error: unknown): unknown {
  return typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
}

/**
 * Errors that say nothing about the agency's health: those the catalogue lays at the caller's or the
 * gateway's door (a cancel, a request the binding cannot build), and a deadline that was the caller's own.
 */
function isNotAgencyFault(error: unknown, request: ConnectorRequest | undefined): boolean {
  if (!(error instanceof EstelamError)) return false;
  if (error.origin !== "agency") return true;
  return error.reason === "DEADLINE_EXCEEDED" && request !== undefined && abortedByCaller(request.signal);
}

const ROLLING_BUCKETS = 10;

/**
 * How long a connector may take to settle after its request's signal fired. One that takes longer (it ignores
 * the signal) is left behind: the inquiry ends with the deadline's error and frees its place, so a careless
 * connector cannot hold calls, the endpoint's concurrency or a registry revision for ever.
 */
const ABANDON_AFTER_MS = 250;

/**
 * One timer per bucket length turns the rolling windows of all breakers with that length (opossum's
 * `rotateBucketController`), instead of one timer per breaker, each waking an idle gateway once a second.
 */
const rotators = new Map<number, { readonly emitter: EventEmitter; readonly timer: NodeJS.Timeout; users: number }>();

function rotatorFor(bucketMs: number): { readonly emitter: EventEmitter; release(): void } {
  let rotator = rotators.get(bucketMs);
  if (rotator === undefined) {
    const emitter = new EventEmitter();
    emitter.setMaxListeners(0);
    const timer = setInterval(() => emitter.emit("rotate"), bucketMs);
    timer.unref();
    rotator = { emitter, timer, users: 0 };
    rotators.set(bucketMs, rotator);
  }
  rotator.users += 1;
  const used = rotator;
  let released = false;
  return {
    emitter: used.emitter,
    release() {
      if (released) return;
      released = true;
      used.users -= 1;
      if (used.users === 0) {
        clearInterval(used.timer);
        rotators.delete(bucketMs);
      }
    },
  };
}

export function createBreaker(endpoint: Endpoint, connector: Connector, events: BreakerEvents = {}): Breaker {
  const settings = endpoint.breaker;
  /** A business answer keeps the agency's words only, bounded; a found result must be plain, bounded JSON of the type's result schema. */
  const bounded = (answer: ConnectorAnswer, check: ResultCheck | undefined): ConnectorAnswer => {
    if (answer.answer !== "found") {
      const message = typeof answer.message === "string" ? answer.message.slice(0, MAX_MESSAGE_CHARS) : "";
      return message === answer.message ? answer : { answer: answer.answer, message };
    }
    const problem = shapeProblem(answer.result, RESULT_LIMITS) ?? check?.(answer.result);
    if (problem !== undefined)
      throw new EstelamError("AGENCY_BAD_RESPONSE", `agency '${endpoint.agency}' answered a result that ${problem}`, {
        agency: endpoint.agency,
      });
    return answer;
  };
  const reached = async (request: ConnectorRequest, operation: unknown, check: ResultCheck | undefined): Promise<ConnectorAnswer> => {
    const started = performance.now();
    try {
      const answer = bounded(
        await settleBy(
          connector.call(request, operation),
          request.signal,
          () => abortError(request.signal, endpoint.agency),
          ABANDON_AFTER_MS,
        ),
        check,
      );
      events.onUpstreamCall?.(endpoint.key, (performance.now() - started) / 1000, false);
      judge(false);
      return answer;
    } catch (error) {
      const fault = !isNotAgencyFault(error, request);
      events.onUpstreamCall?.(endpoint.key, (performance.now() - started) / 1000, fault);
      if (fault) judge(true);
      throw error;
    }
  };
  // The closed breaker's rolling window: per bucket, calls the agency answered and calls that failed by its fault.
  const answered = new Array<number>(ROLLING_BUCKETS).fill(0);
  const faults = new Array<number>(ROLLING_BUCKETS).fill(0);
  let bucket = 0;
  const rotate = (): void => {
    bucket = (bucket + 1) % ROLLING_BUCKETS;
    answered[bucket] = 0;
    faults[bucket] = 0;
  };
  const judge = (fault: boolean): void => {
    // Half-open, the probe decides (opossum); open, nothing reaches the agency.
    if (state !== "closed") return;
    if (!fault) {
      answered[bucket] = (answered[bucket] ?? 0) + 1;
      return;
    }
    faults[bucket] = (faults[bucket] ?? 0) + 1;
    let failed = 0;
    let calls = 0;
    for (let i = 0; i < ROLLING_BUCKETS; i++) {
      failed += faults[i] ?? 0;
      calls += (faults[i] ?? 0) + (answered[i] ?? 0);
    }
    if (calls >= settings.volumeThreshold && (failed / calls) * 100 > settings.errorThresholdPercentage) breaker.open();
  };
  let inFlight = 0;
  const rotator = rotatorFor(Math.floor(settings.rollingWindowMs / ROLLING_BUCKETS));
  rotator.emitter.on("rotate", rotate);
  const breaker: CircuitBreaker<[ConnectorRequest, unknown, ResultCheck | undefined], ConnectorAnswer> = new CircuitBreaker(reached, {
    name: endpoint.key,
    // Deadlines are enforced per call through the request's abort signal, not by opossum's timer.
    timeout: false,
    errorThresholdPercentage: settings.errorThresholdPercentage,
    // Never reached: a closed breaker is opened by `judge`, not by opossum's count (see the header).
    volumeThreshold: Number.MAX_SAFE_INTEGER,
    resetTimeout: settings.resetTimeoutMs,
    rollingCountTimeout: settings.rollingWindowMs,
    rollingCountBuckets: ROLLING_BUCKETS,
    rotateBucketController: rotator.emitter,
    enableSnapshots: false,
    errorFilter: (error: unknown, request?: ConnectorRequest): boolean => isNotAgencyFault(error, request) && !breaker.halfOpen,
  });
  let state: BreakerState = "closed";
  let openedAt = 0;
  const enter = (next: BreakerState): void => {
    const previous = state;
    state = next;
    if (next === "open") openedAt = Date.now();
    events.onStateChange?.(endpoint.key, next, previous);
  };
  breaker.on("open", () => enter("open"));
  breaker.on("halfOpen", () => enter("half_open"));
  breaker.on("close", () => {
    // The probe showed the agency answering: what failed before it no longer counts.
    answered.fill(0);
    faults.fill(0);
    enter("closed");
  });
  events.onStateChange?.(endpoint.key, state, undefined);

  return {
    endpoint: endpoint.key,
    async call(request, operation, check) {
      if (inFlight >= settings.maxConcurrent) {
        events.onShortCircuit?.(endpoint.key, "saturated");
        throw new EstelamError(
          "AGENCY_SATURATED",
          `agency '${endpoint.agency}' already has ${settings.maxConcurrent} inquiries in flight`,
          {
            agency: endpoint.agency,
          },
        );
      }
      inFlight += 1;
      try {
        return await breaker.fire(request, operation, check);
      } catch (error) {
        const code = codeOf(error);
        if (code === "EOPENBREAKER") {
          events.onShortCircuit?.(endpoint.key, "open");
          const retryAfterMs = Math.max(0, openedAt + settings.resetTimeoutMs - Date.now());
          throw new EstelamError(
            "BREAKER_OPEN",
            `circuit breaker for agency '${endpoint.agency}' (endpoint ${endpoint.key}) is open after recent failures`,
            { agency: endpoint.agency, retryAfterMs },
          );
        }
        throw error;
      } finally {
        inFlight -= 1;
      }
    },
    state: () => state,
    shutdown() {
      breaker.shutdown();
      rotator.emitter.off("rotate", rotate);
      rotator.release();
    },
  };
}
