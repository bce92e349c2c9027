// Where the audit trail of the gateway in this environment is: the same settings the gateway reads
// (gateway/config.ts resolves them the same way), so the environment that runs the gateway reads its trail.
import { resolve } from "node:path";
import kafkajs from "kafkajs";

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

/** A Kafka client for reading the audit topic from the command line: quiet, and quick to give up. */
export function auditKafka(clientId: string, brokers: readonly string[]): kafkajs.Kafka {
  return new kafkajs.Kafka({
    clientId,
    brokers: [...brokers],
    logLevel: kafkajs.logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 },
  });
}

/** Each partition of `topic` with its low and high watermarks now. */
export async function topicWatermarks(
  kafka: kafkajs.Kafka,
  topic: string,
): Promise<Array<{ partition: number; low: bigint; high: bigint }>> {
  const admin = kafka.admin();
  try {
    await admin.connect();
    return (await admin.fetchTopicOffsets(topic)).map((p) => ({ partition: p.partition, low: BigInt(p.low), high: BigInt(p.high) }));
  } finally {
    await admin.disconnect().catch(() => undefined);
  }
}
