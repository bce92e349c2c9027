// Where the audit trail of the gateway in this environment is: the same settings the gateway reads
// (gateway/config.ts resolves them the same way), so the environment that runs the gateway reads its trail.
import { resolve } from "node:path";

/** Where the gateway resolves its default paths from. */
const PROJECT_ROOT = resolve(import.meta.dirname, "..");
export const DEFAULT_TOPIC = "estelam.audit.v1";
export const DEFAULT_JOURNAL = "var/audit";

/** The journal folder: `given`, else $ESTELAM_AUDIT_JOURNAL_DIR, else $ESTELAM_DATA_DIR/audit, else var/audit. */
export function journalDir(given: string | undefined): string {
  if (given !== undefined && given !== "") return resolve(given);
  const configured = process.env.ESTELAM_AUDIT_JOURNAL_DIR?.trim();
  if (configured) return resolve(configured);
  const dataDir = process.env.ESTELAM_DATA_DIR?.trim();
  return dataDir ? resolve(dataDir, "audit") : resolve(PROJECT_ROOT, DEFAULT_JOURNAL);
}

/** Kafka brokers: `given`, else $KAFKA_BROKERS; empty when neither is set. */
export function brokerList(given: string | undefined): string[] {
  return (given ?? process.env.KAFKA_BROKERS ?? "")
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b !== "");
}

export function topicName(given: string | undefined): string {
  return given ?? (process.env.ESTELAM_AUDIT_TOPIC?.trim() || DEFAULT_TOPIC);
}
