// The `off` audit sink: keeps no evidence at all. Only for measuring what the audit trail costs (the
// benchmark runs the gateway with it beside the journal); the gateway warns at start-up and says so in
// /readyz whenever it runs with this sink, so a trail is never silently missing.
import type { AuditSink } from "./sink.ts";

export function createOffAuditSink(): AuditSink {
  return {
    kind: "off",
    start: async () => {},
    append: async () => {},
    ready: () => true,
    pending: () => 0,
    close: async () => {},
  };
}
