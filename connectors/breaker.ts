// One opossum circuit breaker per agency endpoint. The connector's business answers resolve and never count
// as failures; a caller's own cancel or too-short deadline is filtered out too, so only the agency's faults
// (down, 5xx, broken answers, blowing the inquiry type's timeout) open the breaker. Metrics subscribe to
// the breaker's events from outside (observability/metrics.ts) through BreakerEvents.
import CircuitBreaker from "opossum";
import { EstelamError } from "../core/errors.ts";
import type { Endpoint } from "../registry/catalogue.ts";
import type { Connector, ConnectorAnswer, ConnectorRequest } from "./connector.ts";
import { abortedByCaller } from "./deadline.ts";

export type BreakerState = "closed" | "open" | "half_open";

export interface BreakerEvents {
  /** `previous` is undefined for the initial state, reported once when the breaker is created. */
  onStateChange?(endpoint: string, state: BreakerState, previous: BreakerState | undefined): void;
  /** A call that reached the agency finished: `fault` says whether it counted against the breaker. */
  onUpstreamCall?(endpoint: string, seconds: number, fault: boolean): void;
  /** A call failed fast without reaching the agency (breaker open or endpoint saturated). */
  onShortCircuit?(endpoint: string, why: "open" | "saturated"): void;
}

export interface Breaker {
  readonly endpoint: string;
  call(request: ConnectorRequest, operation: unknown): Promise<ConnectorAnswer>;
  state(): BreakerState;
  shutdown(): void;
}

function codeOf(error: unknown): unknown {
  return typeof error === "object" && error !== null ? (error as { code?: unknown }).code : undefined;
}

/** Errors that say nothing about the agency's health. */
function isNotAgencyFault(error: unknown, request: ConnectorRequest | undefined): boolean {
  if (codeOf(error) === "ESEMLOCKED") return true;
  if (!(error instanceof EstelamError)) return false;
  if (error.reason === "CANCELLED") return true;
  return error.reason === "DEADLINE_EXCEEDED" && request !== undefined && abortedByCaller(request.signal);
}

export function createBreaker(endpoint: Endpoint, connector: Connector, events: BreakerEvents = {}): Breaker {
  const settings = endpoint.breaker;
  const breaker = new CircuitBreaker((request: ConnectorRequest, operation: unknown) => connector.call(request, operation), {
    name: endpoint.key,
    // Deadlines are enforced per call through the request's abort signal, not by opossum's timer.
    timeout: false,
    errorThresholdPercentage: settings.errorThresholdPercentage,
    volumeThreshold: settings.volumeThreshold,
    resetTimeout: settings.resetTimeoutMs,
    rollingCountTimeout: settings.rollingWindowMs,
    rollingCountBuckets: 10,
    capacity: settings.maxConcurrent,
    enableSnapshots: false,
    errorFilter: (error: unknown, request?: ConnectorRequest) => isNotAgencyFault(error, request),
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
  breaker.on("close", () => enter("closed"));
  breaker.on("success", (_result: unknown, latencyMs: number) => events.onUpstreamCall?.(endpoint.key, latencyMs / 1000, false));
  breaker.on("failure", (_error: unknown, latencyMs: number) => events.onUpstreamCall?.(endpoint.key, latencyMs / 1000, true));
  events.onStateChange?.(endpoint.key, state, undefined);

  return {
    endpoint: endpoint.key,
    async call(request, operation) {
      try {
        return await breaker.fire(request, operation);
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
        if (code === "ESEMLOCKED") {
          events.onShortCircuit?.(endpoint.key, "saturated");
          throw new EstelamError(
            "AGENCY_SATURATED",
            `agency '${endpoint.agency}' already has ${settings.maxConcurrent} inquiries in flight`,
            { agency: endpoint.agency },
          );
        }
        throw error;
      }
    },
    state: () => state,
    shutdown: () => breaker.shutdown(),
  };
}
