// Where the benchmarked gateway keeps its audit trail, and a count of what it wrote, so a run can check that
// every answered inquiry was recorded: its journal shipped to a fresh Kafka topic per run, its journal alone,
// or no trail at all (to measure what the trail costs).
import { randomBytes } from "node:crypto";
import { readFileSync } from "node:fs";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import type { Admin } from "kafkajs";
import kafkajs from "kafkajs";
// The gateway's correction of kafkajs 2.2.4's idle 1 ms timer, so this process's admin clients do not spin either.
import "../../observability/audit/kafkajs-idle-timer.ts";
import { listSegments, parseRecords } from "../../observability/audit/journal-format.ts";

const { Kafka, logLevel } = kafkajs;

export const LOCAL_BROKER = "127.0.0.1:19092";

export type AuditChoice =
  | { readonly sink: "kafka"; readonly brokers: readonly string[]; readonly topic: string; readonly why: string }
  | { readonly sink: "journal" | "off"; readonly why: string };

function admin(brokers: readonly string[]): Admin {
  return new Kafka({
    clientId: "estelam-bench",
    brokers: [...brokers],
    logLevel: logLevel.NOTHING,
    connectionTimeout: 1500,
    requestTimeout: 10_000,
    retry: { retries: 1, initialRetryTime: 200, maxRetryTime: 1000 },
  }).admin();
}

async function withAdmin<T>(brokers: readonly string[], use: (client: Admin) => Promise<T>): Promise<T> {
  const client = admin(brokers);
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.disconnect();
  }
}

/** Whether a Kafka cluster answers a metadata request at these brokers. */
async function answers(brokers: readonly string[]): Promise<boolean> {
  return withAdmin(brokers, async (client) => {
    await client.listTopics();
    return true;
  }).catch(() => false);
}

/** Resolves `--audit auto|kafka|journal|off` against KAFKA_BROKERS and the local broker. */
export async function chooseAuditSink(
  wanted: "auto" | "kafka" | "journal" | "off",
  env: Readonly<Record<string, string | undefined>>,
): Promise<AuditChoice> {
  if (wanted === "journal" || wanted === "off") return { sink: wanted, why: `--audit ${wanted}` };
  const configured = (env.KAFKA_BROKERS ?? "")
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b !== "");
  for (const broker of configured) {
    if (!/^(127\.0\.0\.1|localhost|\[::1\]):\d+$/.test(broker))
      throw new Error(`KAFKA_BROKERS: the benchmark talks only to 127.0.0.1, not ${broker}`);
  }
  const brokers = configured.length > 0 ? configured : [LOCAL_BROKER];
  const topic = `estelam.bench.${Date.now().toString(36)}-${randomBytes(3).toString("hex")}`;
  if (await answers(brokers)) {
    return { sink: "kafka", brokers, topic, why: configured.length > 0 ? "KAFKA_BROKERS is set" : `a broker answers at ${LOCAL_BROKER}` };
  }
  if (wanted === "kafka" || configured.length > 0)
    throw new Error(`no Kafka broker answers at ${brokers.join(",")} (bash scripts/kafka.sh start)`);
  return { sink: "journal", why: `no broker answers at ${LOCAL_BROKER}` };
}

/** Records in a topic: the sum over its partitions of high minus low watermark. */
export async function countTopicRecords(brokers: readonly string[], topic: string): Promise<number> {
  return withAdmin(brokers, async (client) =>
    (await client.fetchTopicOffsets(topic)).reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0),
  );
}

export async function deleteTopic(brokers: readonly string[], topic: string): Promise<void> {
  await withAdmin(brokers, (client) => client.deleteTopics({ topics: [topic], timeout: 10_000 }));
}

/** Records in a journal folder (0 when it does not exist). */
export async function countJournalRecords(dir: string): Promise<number> {
  let records = 0;
  try {
    for (const segment of await listSegments(dir)) records += parseRecords(await readFile(join(dir, segment.name))).records.length;
  } catch (error) {
    if ((error as { code?: unknown }).code === "ENOENT") return 0;
    throw error;
  }
  return records;
}

/**
 * The pid of the broker `scripts/kafka.sh start` runs, when it is one of these brokers, so its CPU can be
 * read too (it shares the machine with the gateway); undefined otherwise.
 */
export function localBrokerPid(brokers: readonly string[]): number | undefined {
  const state = resolve(import.meta.dirname, "../../.cache/kafka");
  try {
    const pid = Number(readFileSync(resolve(state, "kafka.pid"), "utf8").trim());
    const port = readFileSync(resolve(state, "kafka.port"), "utf8").trim();
    if (!Number.isInteger(pid) || pid <= 0 || !brokers.some((b) => /^(127\.0\.0\.1|localhost):/.test(b) && b.endsWith(`:${port}`)))
      return undefined;
    process.kill(pid, 0);
    return pid;
  } catch {
    return undefined;
  }
}
