// The scoreboard as Prometheus gauges, read from the last computed view at every scrape. Every instance
// exports the same merged view, so rules aggregate with max() rather than sum(). Labels hold registry ids
// and closed sets only.
import { Gauge, type Registry } from "prom-client";
import { type ScoreboardView, SHARE_BUCKETS, STATUSES } from "./model.ts";

export function registerScoreboardGauges(registry: Registry, latest: () => ScoreboardView | undefined): void {
  const registers = [registry];
  // Registered first: prom-client collects in registration order, and this one fills the others.
  new Gauge({
    name: "estelam_scoreboard_instances",
    help: "Gateway instances whose counts the scoreboard holds (those that wrote recently).",
    registers,
    collect() {
      const view = latest();
      for (const g of [status, latencyObjective, successObjective, errorBurn, latencyBurn, share, types, online, buckets]) g.reset();
      if (view === undefined) return;
      this.set(view.instances.length);
      for (const t of view.inquiryTypes) {
        for (const s of STATUSES) status.set({ inquiry_type: t.id, agency: t.agency, status: s }, s === t.status ? 1 : 0);
        latencyObjective.set({ inquiry_type: t.id }, t.objectives.latencyP99Ms / 1000);
        successObjective.set({ inquiry_type: t.id }, t.objectives.successRate);
        if (t.errorBurn !== undefined) errorBurn.set({ inquiry_type: t.id }, t.errorBurn);
        if (t.latencyBurn !== undefined) latencyBurn.set({ inquiry_type: t.id }, t.latencyBurn);
      }
      for (const a of view.agencies) {
        share.set({ agency: a.id }, a.shareOnline);
        types.set({ agency: a.id }, a.inquiryTypes);
        online.set({ agency: a.id }, a.online);
      }
      for (const b of SHARE_BUCKETS) buckets.set({ bucket: b }, view.buckets.get(b) ?? 0);
    },
  });
  const status = new Gauge({
    name: "estelam_inquiry_type_status",
    help: "Scoreboard status of each inquiry type over all gateway instances: 1 for the current status (online, degraded, offline, not_connected), 0 for the others.",
    labelNames: ["inquiry_type", "agency", "status"],
    registers,
  });
  const latencyObjective = new Gauge({
    name: "estelam_inquiry_type_latency_objective_seconds",
    help: "Latency objective (99th percentile) of each inquiry type, from the registry.",
    labelNames: ["inquiry_type"],
    registers,
  });
  const successObjective = new Gauge({
    name: "estelam_inquiry_type_success_objective_ratio",
    help: "Success-rate objective of each inquiry type, from the registry.",
    labelNames: ["inquiry_type"],
    registers,
  });
  const errorBurn = new Gauge({
    name: "estelam_inquiry_type_error_burn_rate",
    help: "Error-budget burn rate of each inquiry type over the scoreboard window, all instances: (1 - success rate) / (1 - objective).",
    labelNames: ["inquiry_type"],
    registers,
  });
  const latencyBurn = new Gauge({
    name: "estelam_inquiry_type_latency_burn_rate",
    help: "Latency-budget burn rate of each inquiry type over the scoreboard window, all instances: share of answers slower than the objective / 1 %.",
    labelNames: ["inquiry_type"],
    registers,
  });
  const share = new Gauge({
    name: "estelam_agency_share_online_ratio",
    help: "Share of each answering agency's inquiry types that are online (0-1).",
    labelNames: ["agency"],
    registers,
  });
  const types = new Gauge({
    name: "estelam_agency_inquiry_types",
    help: "Inquiry types each answering agency owns in the registry.",
    labelNames: ["agency"],
    registers,
  });
  const online = new Gauge({
    name: "estelam_agency_inquiry_types_online",
    help: "Inquiry types of each answering agency that are online.",
    labelNames: ["agency"],
    registers,
  });
  const buckets = new Gauge({
    name: "estelam_agencies_by_share_online",
    help: "Answering agencies per share-online bucket (above_90, from_50_to_90, below_50, none).",
    labelNames: ["bucket"],
    registers,
  });
}
