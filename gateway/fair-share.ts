// A fair share of every agency endpoint's concurrency for each asking agency. An endpoint takes at most its
// breaker's `maxConcurrent` inquiries at once; without shares, one caller keeping that many in flight leaves
// every other asking agency with AGENCY_SATURATED. Here the capacity is divided among the asking agencies
// that want it: those with inquiries in flight to the endpoint or that asked it within the last `windowMs`.
// With n of them, each may hold ceil(capacity / n) at once (never fewer than one); a caller alone may use
// it all, and as soon as a second one asks, the first is held to half as its inquiries finish, so the
// newcomer's next attempts find room. Refusals are AGENCY_SATURATED, naming the share.
import { EstelamError } from "../core/errors.ts";

export interface FairShareOptions {
  /** How long an asking agency counts as wanting an endpoint after its last request. Default 5 s. */
  readonly windowMs?: number;
  readonly now?: () => number;
  /**
   * A refusal: `share` when the asking agency already holds its share, `full` when the endpoint holds its
   * whole capacity.
   */
  onRefused?(requester: string, endpoint: string, why: "share" | "full"): void;
}

export interface FairShare {
  /**
   * Takes a slot of `endpoint` (of `capacity` in all) for `requester`; returns the function that gives it
   * back. Throws AGENCY_SATURATED when the requester holds its share or the endpoint is full.
   */
  acquire(endpoint: { readonly key: string; readonly agency: string }, capacity: number, requester: string): () => void;
  /** Inquiries in flight per endpoint and asking agency, for gauges. */
  inFlight(): Array<{ readonly endpoint: string; readonly requester: string; readonly inFlight: number }>;
}

interface Demand {
  inFlight: number;
  lastAsked: number;
}

interface EndpointState {
  total: number;
  readonly requesters: Map<string, Demand>;
}

export function createFairShare(options: FairShareOptions = {}): FairShare {
  const windowMs = options.windowMs ?? 5000;
  const now = options.now ?? Date.now;
  const endpoints = new Map<string, EndpointState>();

  return {
    acquire(endpoint, capacity, requester) {
      const at = now();
      let state = endpoints.get(endpoint.key);
      if (state === undefined) {
        state = { total: 0, requesters: new Map() };
        endpoints.set(endpoint.key, state);
      }
      let demand = state.requesters.get(requester);
      if (demand === undefined) {
        demand = { inFlight: 0, lastAsked: at };
        state.requesters.set(requester, demand);
      }
      demand.lastAsked = at;
      let wanting = 0;
      for (const [name, other] of state.requesters) {
        if (other.inFlight > 0 || at - other.lastAsked <= windowMs) wanting += 1;
        else state.requesters.delete(name);
      }
      const share = Math.max(1, Math.ceil(capacity / Math.max(1, wanting)));
      if (demand.inFlight >= share) {
        options.onRefused?.(requester, endpoint.key, "share");
        throw new EstelamError(
          "AGENCY_SATURATED",
          `agency '${endpoint.agency}' is shared by ${wanting} asking agencies; '${requester}' already has its share (${share} of ${capacity}) in flight`,
          { agency: endpoint.agency, retryAfterMs: 100 },
        );
      }
      if (state.total >= capacity) {
        options.onRefused?.(requester, endpoint.key, "full");
        throw new EstelamError("AGENCY_SATURATED", `agency '${endpoint.agency}' already has ${capacity} inquiries in flight`, {
          agency: endpoint.agency,
          retryAfterMs: 100,
        });
      }
      demand.inFlight += 1;
      state.total += 1;
      const held = demand;
      const endpointState = state;
      let released = false;
      return () => {
        if (released) return;
        released = true;
        held.inFlight -= 1;
        endpointState.total -= 1;
        held.lastAsked = now();
      };
    },
    inFlight() {
      const rows: Array<{ endpoint: string; requester: string; inFlight: number }> = [];
      for (const [endpoint, state] of endpoints)
        for (const [requester, demand] of state.requesters)
          if (demand.inFlight > 0) rows.push({ endpoint, requester, inFlight: demand.inFlight });
      return rows;
    },
  };
}
