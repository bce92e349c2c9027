// The upstream manager: one connector and one breaker per agency endpoint of the current catalogue. The
// request path asks it for an endpoint's breaker and never sees connection pools. When a new catalogue is
// swapped in, unchanged endpoints keep their pools and breaker state; changed ones are replaced and the old
// ones closed once their calls have had time to finish.
import type { Endpoint, RegistrySnapshot } from "../registry/catalogue.ts";
import { type Breaker, type BreakerEvents, type BreakerState, createBreaker } from "./breaker.ts";
import type { Connector } from "./connector.ts";
import type { ConnectorKinds } from "./kinds.ts";

interface Entry {
  readonly fingerprint: string;
  readonly connector: Connector;
  readonly breaker: Breaker;
}

export interface Upstreams {
  breaker(endpointKey: string): Breaker | undefined;
  /** Brings the set of endpoints in line with a new snapshot. */
  apply(snapshot: RegistrySnapshot): void;
  states(): ReadonlyMap<string, BreakerState>;
  close(): Promise<void>;
}

export interface UpstreamsOptions {
  readonly kinds: ConnectorKinds;
  readonly events?: BreakerEvents;
  /** How long a replaced endpoint keeps serving calls already in flight before it is closed. */
  readonly drainMs?: number;
}

function fingerprint(endpoint: Endpoint): string {
  return JSON.stringify({ kind: endpoint.kind, options: endpoint.options, breaker: endpoint.breaker }, (_key, value: unknown) =>
    value instanceof Set ? [...value] : value instanceof URL ? value.href : value,
  );
}

export function createUpstreams(options: UpstreamsOptions): Upstreams {
  const entries = new Map<string, Entry>();
  /** Replaced endpoints still serving calls in flight, with the timer that will close them. */
  const retiring = new Map<Entry, NodeJS.Timeout>();
  const drainMs = options.drainMs ?? 30_000;

  const closeEntry = async (entry: Entry): Promise<void> => {
    entry.breaker.shutdown();
    await entry.connector.close();
  };
  const retire = (entry: Entry): void => {
    const timer = setTimeout(() => {
      retiring.delete(entry);
      void closeEntry(entry);
    }, drainMs);
    timer.unref();
    retiring.set(entry, timer);
  };

  return {
    breaker: (key) => entries.get(key)?.breaker,
    apply(snapshot) {
      for (const [key, entry] of entries) {
        const next = snapshot.endpoints.get(key);
        if (next === undefined || fingerprint(next) !== entry.fingerprint) {
          entries.delete(key);
          retire(entry);
        }
      }
      for (const [key, endpoint] of snapshot.endpoints) {
        if (entries.has(key)) continue;
        const factory = options.kinds.get(endpoint.kind);
        if (factory === undefined) throw new Error(`connector kind '${endpoint.kind}' of endpoint ${key} is not registered`);
        const connector = factory.create(endpoint.options, { agency: endpoint.agency, endpoint: endpoint.name });
        entries.set(key, { fingerprint: fingerprint(endpoint), connector, breaker: createBreaker(endpoint, connector, options.events) });
      }
    },
    states: () => new Map([...entries].map(([key, entry]) => [key, entry.breaker.state()])),
    async close() {
      const all = [...entries.values(), ...retiring.keys()];
      for (const timer of retiring.values()) clearTimeout(timer);
      entries.clear();
      retiring.clear();
      await Promise.all(all.map(closeEntry));
    },
  };
}
