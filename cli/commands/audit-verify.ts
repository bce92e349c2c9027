// `estelam audit verify`: checks the audit trail's tamper evidence — each record's keyed chain digest, and
// that each gateway instance's records follow one another without a gap, a change or a conflicting copy —
// in the local journal's segment files or in a Kafka topic, and names the first break.
import { randomBytes } from "node:crypto";
import { readdir, readFile } from "node:fs/promises";
import { join } from "node:path";
import "../../observability/audit/kafkajs-idle-timer.ts";
import type { KeyObject } from "node:crypto";
import { createAuditKey, DEMO_AUDIT_KEY } from "../../observability/audit/event.ts";
import { type StoredRecord, type VerifyReport, verifyJournal, verifyRecords } from "../../observability/audit/verify.ts";
import { EXIT_FAILURE, EXIT_OK, io, parse, UsageError } from "../args.ts";
import { auditKafka, brokerList, DEFAULT_JOURNAL, DEFAULT_TOPIC, journalDir, topicName, topicWatermarks } from "../audit-location.ts";

/** Exit status when the trail was read and a break was found. */
export const EXIT_BROKEN = 3;

export const AUDIT_VERIFY_USAGE = `usage: estelam audit verify [--journal <dir> | --brokers <host:port,...> --topic <name>] [--demo] [--old-keys <file>]

Checks the audit trail's hash chain: that each record is exactly as sealed by its gateway instance (its keyed
chain digest), and that each instance's records follow one another with no record missing, moved, replaced
or added. Reads the local audit journal's segment files (their checksums too), or every record of a Kafka
topic as it stands (all partitions, from the oldest record kept to the newest; identical copies a crash can
leave are counted, not reported). Prints a summary, or the first break: where the record is stored, its
gateway instance and sequence, and what is wrong.

      --journal <dir>          the journal folder (default: $ESTELAM_AUDIT_JOURNAL_DIR, else $ESTELAM_DATA_DIR/audit, else ${DEFAULT_JOURNAL})
      --brokers <list>         read the Kafka topic instead (default: $KAFKA_BROKERS; the journal when neither is given)
      --topic <name>           audit topic (default: $ESTELAM_AUDIT_TOPIC, else ${DEFAULT_TOPIC})
      --demo                   use the demo audit key (the trail of \`npm start\`)
      --old-keys <file>        earlier audit keys, one per line, for records sealed before a key rotation
  -h, --help                   show this text

The key is $ESTELAM_AUDIT_KEY, as the gateway's; a record names its key by id (key_id).

Exit status: 0 the chain is intact, 3 a break was found, 1 the trail or the keys cannot be read, 2 usage error.
`;

async function keyring(demo: boolean, oldKeysFile: string | undefined): Promise<Map<string, KeyObject>> {
  const secrets: string[] = [];
  const current = process.env.ESTELAM_AUDIT_KEY?.trim();
  if (current) secrets.push(current);
  if (demo) secrets.push(DEMO_AUDIT_KEY);
  if (oldKeysFile !== undefined)
    for (const line of (await readFile(oldKeysFile, "utf8")).split("\n")) if (line.trim() !== "") secrets.push(line.trim());
  if (secrets.length === 0) throw new UsageError("no audit key: set ESTELAM_AUDIT_KEY (or --demo for the demo trail)", AUDIT_VERIFY_USAGE);
  return new Map(
    secrets.map((secret) => {
      const key = createAuditKey(secret);
      return [key.id, key.secret];
    }),
  );
}

/** Reads every record of `topic` from the low to the high watermark of each partition at the start. */
export async function readTopicRecords(brokers: readonly string[], topic: string): Promise<StoredRecord[]> {
  const kafka = auditKafka("estelam-audit-verify", brokers);
  const ranges = await topicWatermarks(kafka, topic);
  const records: StoredRecord[] = [];
  const behind = new Set(ranges.filter((r) => r.low < r.high).map((r) => r.partition));
  if (behind.size === 0) return records;
  const high = new Map(ranges.map((r) => [r.partition, r.high]));
  const consumer = kafka.consumer({ groupId: `estelam-audit-verify-${randomBytes(6).toString("hex")}`, maxWaitTimeInMs: 200 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((done, fail) => {
      consumer
        .run({
          autoCommit: false,
          eachMessage: async ({ partition, message }) => {
            const end = high.get(partition) ?? 0n;
            if (BigInt(message.offset) >= end) return;
            if (message.value !== null) records.push({ where: `${topic}/${partition}@${message.offset}`, payload: message.value });
            if (BigInt(message.offset) + 1n >= end) {
              behind.delete(partition);
              if (behind.size === 0) done();
            }
          },
        })
        .catch(fail);
      for (const range of ranges) consumer.seek({ topic, partition: range.partition, offset: range.low.toString() });
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return records;
}

export function describeReport(report: VerifyReport, what: string): string {
  const lines: string[] = [];
  const instances = [...report.instances].map(([name, r]) => `${name || "(unnamed)"} ${r.first}–${r.last}`).join(", ");
  lines.push(
    `${what}: ${report.records} records${report.duplicates > 0 ? ` (+${report.duplicates} identical copies)` : ""}${instances === "" ? "" : `; instances: ${instances}`}`,
  );
  const first = report.breaks[0];
  if (first === undefined) lines.push("chain intact");
  else {
    lines.push(
      `BROKEN at ${first.where}${first.instance ? ` (instance ${first.instance}` : " ("}${first.sequence === undefined ? "" : `${first.instance ? ", " : ""}sequence ${first.sequence}`}): ${first.problem}`,
    );
    if (report.breaks.length > 1) lines.push(`${report.breaks.length - 1} more break(s) after it`);
  }
  return `${lines.join("\n")}\n`;
}

export async function runAuditVerify(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      journal: { type: "string" },
      brokers: { type: "string" },
      topic: { type: "string" },
      demo: { type: "boolean" },
      "old-keys": { type: "string" },
    },
    AUDIT_VERIFY_USAGE,
  );
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, AUDIT_VERIFY_USAGE);
  if (values.journal !== undefined && (values.brokers !== undefined || values.topic !== undefined))
    throw new UsageError("--journal reads the local journal; --brokers and --topic read Kafka: give one or the other", AUDIT_VERIFY_USAGE);
  let keys: Map<string, KeyObject>;
  try {
    keys = await keyring(values.demo === true, values["old-keys"]);
  } catch (error) {
    if (error instanceof UsageError) throw error;
    io.err(`estelam audit verify: the old keys cannot be read: ${(error as Error).message}\n`);
    return EXIT_FAILURE;
  }
  const brokers = values.journal === undefined ? brokerList(values.brokers) : [];
  let report: VerifyReport;
  let what: string;
  try {
    if (brokers.length > 0) {
      const topic = topicName(values.topic);
      what = `topic ${topic}`;
      report = verifyRecords(await readTopicRecords(brokers, topic), keys);
    } else {
      if (values.topic !== undefined) throw new UsageError("--topic needs Kafka brokers (--brokers or $KAFKA_BROKERS)", AUDIT_VERIFY_USAGE);
      const dir = journalDir(values.journal);
      // A gateway with several workers keeps one journal per worker (<dir>/worker-<n>), each its own chain.
      const workers = (await readdir(dir, { withFileTypes: true }).catch(() => []))
        .filter((entry) => entry.isDirectory() && /^worker-\d+$/.test(entry.name))
        .map((entry) => entry.name)
        .sort((a, b) => Number(a.slice(7)) - Number(b.slice(7)));
      if (workers.length > 0) {
        let broken = false;
        const top = await verifyJournal(dir, keys);
        if (top.records > 0 || top.breaks.length > 0) {
          io.out(describeReport(top, `journal ${dir}`));
          broken ||= top.breaks.length > 0;
        }
        for (const worker of workers) {
          const one = await verifyJournal(join(dir, worker), keys);
          io.out(describeReport(one, `journal ${join(dir, worker)}`));
          broken ||= one.breaks.length > 0;
        }
        return broken ? EXIT_BROKEN : EXIT_OK;
      }
      what = `journal ${dir}`;
      report = await verifyJournal(dir, keys);
    }
  } catch (error) {
    if (error instanceof UsageError) throw error;
    io.err(`estelam audit verify: the trail cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`);
    return EXIT_FAILURE;
  }
  io.out(describeReport(report, what));
  return report.breaks.length === 0 ? EXIT_OK : EXIT_BROKEN;
}
