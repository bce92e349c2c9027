// The upstream manager: one connector and one breaker per agency endpoint, shared by every registry
// snapshot that has the endpoint unchanged. The request path asks it which route of a binding to call and
// never sees connection pools. Connections live as long as some snapshot holds them: a new snapshot's
// connections are created (and warmed, when the connector offers it) in `prepare`, before the snapshot is
// served; a superseded snapshot gives its connections back in `retire`, once its last inquiry has finished,
// and those no other snapshot holds are closed then. An endpoint whose document is unchanged keeps its pool
// and its breaker state across revisions.
import { EstelamError } from "../core/errors.ts";
import type { Binding, Endpoint, RegistrySnapshot, Route } from "../registry/catalogue.ts";
import { type Breaker, type BreakerEvents, type BreakerState, createBreaker, type ResultCheck } from "./breaker.ts";
import type { Connector, ConnectorAnswer, ConnectorRequest } from "./connector.ts";
import { abortError } from "./deadline.ts";
import type { ConnectorKinds } from "./kinds.ts";

interface Entry {
  readonly endpoint: Endpoint;
  readonly connector: Connector;
  readonly breaker: Breaker;
  /** Snapshots holding this connection. */
  holders: number;
}

export interface UpstreamEvents extends BreakerEvents {
  /** A connection to an endpoint was opened (`<key>@<digest>`) or closed after its last holder let it go. */
  onConnection?(connection: string, state: "opened" | "closed"): void;
  /** Warming a new connection failed; it serves anyway and its breaker judges the agency. */
  onWarmFailed?(endpoint: string, error: Error): void;
}

/** The route chosen for one inquiry, with the breaker to call it through. */
export interface Selected {
  readonly route: Route;
  readonly breaker: Breaker;
}

export interface Upstreams {
  /** Opens (and warms) the connections `snapshot` needs and holds them for it. Throws if one cannot be made. */
  prepare(snapshot: RegistrySnapshot): Promise<void>;
  /** Lets go of the connections `snapshot` held; those no other snapshot holds are closed. */
  retire(snapshot: RegistrySnapshot): void;
  /**
   * Every connected route of a binding in the order to try them, drawn afresh at each call: those whose
   * breaker is not open first, the best priority first and within it drawn by weight; open ones last (they
   * fail fast).
   */
  candidates(binding: Binding): readonly Selected[];
  /**
   * Asks the routes of `candidates` in turn: the first, then the next when one is unreachable, saturated or
   * its breaker is open (and the deadline still allows). The caller passes the same order it drew, so what it
   * charged to the first route is what is called first. `onAttempt` hears each route as it is tried; the last
   * one heard is the one that answered or failed.
   */
  call(
    routes: readonly Selected[],
    request: ConnectorRequest,
    check: ResultCheck | undefined,
    onAttempt?: (route: Route) => void,
  ): Promise<ConnectorAnswer>;
  /** The open connections, `<endpoint>@<digest>`. */
  connections(): readonly string[];
  /** Breaker state per open connection's endpoint. */
  states(): ReadonlyMap<string, BreakerState>;
  close(): Promise<void>;
}

export interface UpstreamsOptions {
  readonly kinds: ConnectorKinds;
  readonly events?: UpstreamEvents;
  /** How long warming one new connection may take before the snapshot is served anyway; default 2000 ms. */
  readonly warmTimeoutMs?: number;
  /** Source of the weighted draws that spread load (tests make it repeatable); default Math.random. */
  readonly random?: () => number;
}

/** Failures after which another endpoint of the binding is tried: the agency did not take the inquiry. */
const FAILOVER: ReadonlySet<string> = new Set(["AGENCY_UNAVAILABLE", "BREAKER_OPEN", "AGENCY_SATURATED"]);

/** Orders routes of equal priority by a weighted draw (Efraimidis–Spirakis keys), so traffic spreads by weight. */
function weightedOrder(routes: readonly Route[], random: () => number): Route[] {
  return routes
    .map((route) => ({ route, key: random() ** (1 / route.weight) }))
    .sort((a, b) => b.key - a.key)
    .map((x) => x.route);
}

export function createUpstreams(options: UpstreamsOptions): Upstreams {
  const entries = new Map<string, Entry>();
  const random = options.random ?? Math.random;

  // A binding's routes grouped by priority, best first, once per binding (bindings are immutable).
  const groups = new WeakMap<Binding, readonly (readonly Route[])[]>();
  const priorityGroups = (binding: Binding): readonly (readonly Route[])[] => {
    let found = groups.get(binding);
    if (found === undefined) {
      const priorities = [...new Set(binding.routes.map((route) => route.priority))].sort((a, b) => a - b);
      found = priorities.map((priority) => binding.routes.filter((route) => route.priority === priority));
      groups.set(binding, found);
    }
    return found;
  };

  const candidates = (binding: Binding): Selected[] => {
    const ready: Selected[] = [];
    const open: Selected[] = [];
    for (const group of priorityGroups(binding)) {
      for (const route of group.length === 1 ? group : weightedOrder(group, random)) {
        const entry = entries.get(route.endpoint.connection);
        if (entry === undefined) continue;
        (entry.breaker.state() === "open" ? open : ready).push({ route, breaker: entry.breaker });
      }
    }
    // Open breakers last: they fail fast, and one of them may be the only way left.
    if (open.length > 0) ready.push(...open);
    return ready;
  };
  const held = new WeakMap<RegistrySnapshot, readonly string[]>();
  const events = options.events ?? {};
  const warmTimeoutMs = options.warmTimeoutMs ?? 2_000;

  const closeEntry = async (connection: string, entry: Entry): Promise<void> => {
    entries.delete(connection);
    entry.breaker.shutdown();
    await entry.connector.close().catch(() => undefined);
    events.onConnection?.(connection, "closed");
  };

  const letGo = (connections: readonly string[]): void => {
    for (const connection of connections) {
      const entry = entries.get(connection);
      if (entry === undefined) continue;
      entry.holders -= 1;
      if (entry.holders <= 0) void closeEntry(connection, entry);
    }
  };

  return {
    async prepare(snapshot) {
      if (held.has(snapshot)) return;
      const taken: string[] = [];
      const created: Entry[] = [];
      try {
        for (const endpoint of snapshot.endpoints.values()) {
          let entry = entries.get(endpoint.connection);
          if (entry === undefined) {
            const factory = options.kinds.get(endpoint.kind);
            if (factory === undefined) throw new Error(`connector kind '${endpoint.kind}' of endpoint ${endpoint.key} is not registered`);
            const connector = factory.create(endpoint.options, { agency: endpoint.agency, endpoint: endpoint.name });
            entry = { endpoint, connector, breaker: createBreaker(endpoint, connector, events), holders: 0 };
            entries.set(endpoint.connection, entry);
            created.push(entry);
            events.onConnection?.(endpoint.connection, "opened");
          }
          entry.holders += 1;
          taken.push(endpoint.connection);
        }
      } catch (error) {
        letGo(taken);
        throw error;
      }
      // New connections are warmed before the snapshot is served; an agency that does not answer yet is
      // the breaker's business, not a reason to keep serving the old revision.
      await Promise.all(
        created.map(async (entry) => {
          if (entry.connector.warm === undefined) return;
          try {
            await entry.connector.warm(AbortSignal.timeout(warmTimeoutMs));
          } catch (error) {
            events.onWarmFailed?.(entry.endpoint.key, error as Error);
          }
        }),
      );
      held.set(snapshot, taken);
    },
    retire(snapshot) {
      const connections = held.get(snapshot);
      if (connections === undefined) return;
      held.delete(snapshot);
      letGo(connections);
    },
    candidates,
    async call(routes, request, check, onAttempt) {
      if (routes.length === 0) throw new EstelamError("NO_ROUTE", `no endpoint of '${request.inquiryType}' is connected`);
      let last: unknown;
      for (const { route, breaker } of routes) {
        // Out of time or cancelled: no further endpoint is tried.
        if (request.signal.aborted) throw last ?? abortError(request.signal, route.endpoint.agency);
        onAttempt?.(route);
        try {
          return await breaker.call(request, route.operation, check);
        } catch (error) {
          last = error;
          if (!(error instanceof EstelamError && FAILOVER.has(error.reason))) throw error;
        }
      }
      throw last;
    },
    connections: () => [...entries.keys()],
    states: () => new Map([...entries.values()].map((entry) => [entry.endpoint.key, entry.breaker.state()])),
    async close() {
      await Promise.all([...entries].map(([connection, entry]) => closeEntry(connection, entry)));
    },
  };
}
