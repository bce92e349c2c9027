// Metrics of the gateway's edge and its fairness: what the gRPC port holds, what it refused and why, and per
// asking agency the inquiries in flight, those refused for their fair share and those over quota. Labels
// hold only closed sets and registry ids (agencies, endpoints), never anything a caller typed.
import { Counter, Gauge, type Registry } from "prom-client";

export interface EdgeGaugeSources {
  connections(): number;
  inFlight(): number;
  shedding(): boolean;
}

export interface EdgeMetrics {
  /** Streams and connections refused at the edge, by catalogue reason or an edge reason (`admission_timeout`, `connection_limit`, `handshake_timeout`, …). */
  readonly refusals: Counter<"reason">;
  /** Inquiries refused because the asking agency already held its fair share of an endpoint. */
  readonly fairShareRefusals: Counter<"requester" | "endpoint">;
  /** Inquiries refused by a grant's quota. */
  readonly quotaRefusals: Counter<"requester" | "inquiry_type" | "window">;
  /** Inquiries let through a grant's quota. */
  readonly quotaAdmitted: Counter<"requester" | "inquiry_type">;
  /** Moments the quota store could not be reached (the daily quota is not enforced meanwhile). */
  readonly quotaStoreErrors: Counter;
  /** Reads connections, calls in flight and the shedding state at every scrape. */
  watchEdge(sources: EdgeGaugeSources): void;
  /** Reads the inquiries each asking agency has in flight per endpoint at every scrape. */
  watchFairShare(source: () => ReadonlyArray<{ readonly requester: string; readonly endpoint: string; readonly inFlight: number }>): void;
}

export function createEdgeMetrics(registry: Registry): EdgeMetrics {
  const registers = [registry];
  let edge: EdgeGaugeSources | undefined;
  let fair: (() => ReadonlyArray<{ readonly requester: string; readonly endpoint: string; readonly inFlight: number }>) | undefined;
  new Gauge({
    name: "estelam_edge_connections",
    help: "Open connections to the gRPC port.",
    registers,
    collect() {
      if (edge !== undefined) this.set(edge.connections());
    },
  });
  new Gauge({
    name: "estelam_edge_calls_in_flight",
    help: "gRPC calls admitted and not yet finished.",
    registers,
    collect() {
      if (edge !== undefined) this.set(edge.inFlight());
    },
  });
  new Gauge({
    name: "estelam_edge_shedding",
    help: "1 while new calls are refused because memory runs short.",
    registers,
    collect() {
      if (edge !== undefined) this.set(edge.shedding() ? 1 : 0);
    },
  });
  new Gauge({
    name: "estelam_requester_in_flight",
    help: "Inquiries each asking agency has in flight to each endpoint.",
    labelNames: ["requester", "endpoint"],
    registers,
    collect() {
      if (fair === undefined) return;
      this.reset();
      for (const entry of fair()) this.set({ requester: entry.requester, endpoint: entry.endpoint }, entry.inFlight);
    },
  });
  return {
    refusals: new Counter({
      name: "estelam_edge_refusals_total",
      help: "Streams and connections refused at the gRPC edge, by reason.",
      labelNames: ["reason"],
      registers,
    }),
    fairShareRefusals: new Counter({
      name: "estelam_fair_share_refusals_total",
      help: "Inquiries refused (AGENCY_SATURATED) because the asking agency already held its fair share of the endpoint.",
      labelNames: ["requester", "endpoint"],
      registers,
    }),
    quotaRefusals: new Counter({
      name: "estelam_quota_refusals_total",
      help: "Inquiries refused (QUOTA_EXCEEDED) by a grant's quota, by window (second or day).",
      labelNames: ["requester", "inquiry_type", "window"],
      registers,
    }),
    quotaAdmitted: new Counter({
      name: "estelam_quota_admitted_total",
      help: "Inquiries counted against a grant's quota and let through.",
      labelNames: ["requester", "inquiry_type"],
      registers,
    }),
    quotaStoreErrors: new Counter({
      name: "estelam_quota_store_errors_total",
      help: "Times the shared quota store could not be reached; the daily quota is not enforced meanwhile.",
      registers,
    }),
    watchEdge(sources) {
      edge = sources;
    },
    watchFairShare(source) {
      fair = source;
    },
  };
}
