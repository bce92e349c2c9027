// `estelam audit`: read the audit trail where it is kept. `tail` prints the latest evidence records as JSON,
// one per line, from the Kafka topic or the local audit journal, and with --follow keeps printing new ones;
// `verify`, `show`, `report` and `index` live in their own files.
import { randomBytes } from "node:crypto";
import { readFile, stat } from "node:fs/promises";
import { join } from "node:path";
import { fromBinary, toJsonString } from "@bufbuild/protobuf";
import "../../observability/audit/kafkajs-idle-timer.ts";
import kafkajs from "kafkajs";
import { type AuditEvent, AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";
import { listSegments, parseRecords } from "../../observability/audit/journal-format.ts";
import { EXIT_FAILURE, EXIT_OK, io, parse, UsageError, wholeNumber } from "../args.ts";
import { DEFAULT_JOURNAL, DEFAULT_TOPIC, journalDir } from "../audit-location.ts";
import { runAuditIndex, runAuditReport, runAuditShow } from "./audit-report.ts";
import { AUDIT_VERIFY_USAGE, runAuditVerify } from "./audit-verify.ts";

const DEFAULT_COUNT = 10;
const FOLLOW_POLL_MS = 250;

export const AUDIT_USAGE = `usage: estelam audit tail [-n <count>] [--follow] [--brokers <host:port,...> --topic <name> | --journal <dir>]
       estelam audit verify (--journal <dir> | --brokers <host:port,...> --topic <name>) [options]
       estelam audit show <tracking-code> | report <national-code> | index [options]

tail prints the latest audit events (the evidence record of each inquiry) as JSON, one per line, oldest
first: from the Kafka topic when brokers are given (--brokers, else $KAFKA_BROKERS), otherwise from the local
audit journal. Subject identifiers appear only as keyed digests, as they are stored.
verify checks the trail's hash chain and reports the first break; show finds an inquiry by tracking code;
report lists every inquiry about one person; index fills the audit index (estelam audit <subcommand> --help).

  -n, --count <n>              how many of the latest events to print first (default ${DEFAULT_COUNT}; 0 for none)
  -f, --follow                 keep printing new events as they are recorded, until Ctrl-C
      --brokers <list>         Kafka bootstrap brokers (default: $KAFKA_BROKERS)
      --topic <name>           audit topic (default: $ESTELAM_AUDIT_TOPIC, else ${DEFAULT_TOPIC})
      --journal <dir>          the local audit journal (default: $ESTELAM_AUDIT_JOURNAL_DIR, else $ESTELAM_DATA_DIR/audit, else ${DEFAULT_JOURNAL})
  -h, --help                   show this text

The settings are the gateway's own (KAFKA_BROKERS, ESTELAM_AUDIT_TOPIC, ESTELAM_AUDIT_JOURNAL_DIR), so the same
environment that runs the gateway reads its trail.

Exit status: 0 ok, 1 the trail cannot be read, 2 usage error.
`;

function printEvent(event: AuditEvent): void {
  io.out(`${toJsonString(AuditEventSchema, event)}\n`);
}

/** Order of the trail: when the gateway received the request, then the inquiry id (UUIDv7, time-ordered). */
function byTime(a: AuditEvent, b: AuditEvent): number {
  const at = Number(a.requestIn?.seconds ?? 0n) * 1e3 + (a.requestIn?.nanos ?? 0) / 1e6;
  const bt = Number(b.requestIn?.seconds ?? 0n) * 1e3 + (b.requestIn?.nanos ?? 0) / 1e6;
  return at - bt || a.inquiryId.localeCompare(b.inquiryId);
}

/** Resolves on Ctrl-C (or the abort of `signal`). */
function interrupted(): { promise: Promise<void>; dispose(): void } {
  let done: () => void = () => {};
  const promise = new Promise<void>((r) => {
    done = r;
  });
  const onSigint = (): void => done();
  process.once("SIGINT", onSigint);
  return { promise, dispose: () => process.off("SIGINT", onSigint) };
}

/** Every record of the journal in `dir`, oldest first, decoded; damaged ones are reported on stderr. */
async function readJournalEvents(
  dir: string,
  from?: { segment: string; offset: number },
): Promise<{
  events: AuditEvent[];
  end: { segment: string; offset: number };
}> {
  const events: AuditEvent[] = [];
  let end = from ?? { segment: "", offset: 0 };
  for (const segment of await listSegments(dir)) {
    if (segment.name < end.segment) continue;
    const start = segment.name === end.segment ? end.offset : 0;
    const content = (await readFile(join(dir, segment.name))).subarray(start);
    const parsed = parseRecords(content, start);
    for (const record of parsed.records) {
      try {
        events.push(fromBinary(AuditEventSchema, record.payload));
      } catch {
        io.err(`estelam audit tail: ${segment.name}@${record.offset}: not an audit event\n`);
      }
    }
    // A record still being written is read on the next round.
    end = { segment: segment.name, offset: start + parsed.validBytes };
  }
  return { events, end };
}

async function tailJournal(dir: string, count: number, follow: boolean): Promise<number> {
  let read: Awaited<ReturnType<typeof readJournalEvents>>;
  try {
    await stat(dir);
    read = await readJournalEvents(dir);
  } catch (error) {
    io.err(
      `estelam audit tail: the audit journal ${dir} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`,
    );
    return EXIT_FAILURE;
  }
  if (count > 0) for (const event of read.events.slice(-count)) printEvent(event);
  if (!follow) return EXIT_OK;

  const stop = interrupted();
  let stopped = false;
  void stop.promise.then(() => {
    stopped = true;
  });
  let end = read.end;
  try {
    while (!stopped) {
      await Promise.race([new Promise((r) => setTimeout(r, FOLLOW_POLL_MS)), stop.promise]);
      if (stopped) break;
      const next = await readJournalEvents(dir, end).catch(() => undefined);
      if (next === undefined) continue;
      for (const event of next.events) printEvent(event);
      end = next.end;
    }
  } finally {
    stop.dispose();
  }
  return EXIT_OK;
}

async function tailKafka(brokers: string[], topic: string, count: number, follow: boolean): Promise<number> {
  const kafka = new kafkajs.Kafka({
    clientId: "estelam-audit-tail",
    brokers,
    logLevel: kafkajs.logLevel.NOTHING,
    connectionTimeout: 3000,
    requestTimeout: 10_000,
    retry: { retries: 2, initialRetryTime: 200, maxRetryTime: 1000 },
  });
  const admin = kafka.admin();
  let ends: Map<number, bigint>;
  let starts: Map<number, bigint>;
  try {
    await admin.connect();
    const offsets = await admin.fetchTopicOffsets(topic);
    ends = new Map(offsets.map((p) => [p.partition, BigInt(p.high)]));
    // Up to `count` from the end of each partition: the latest `count` overall are among them.
    starts = new Map(offsets.map((p) => [p.partition, BigInt(Math.max(Number(p.low), Number(p.high) - count))]));
  } catch (error) {
    io.err(`estelam audit tail: the audit topic '${topic}' on ${brokers.join(",")} cannot be read: ${(error as Error).message}\n`);
    return EXIT_FAILURE;
  } finally {
    await admin.disconnect().catch(() => undefined);
  }

  const latest: AuditEvent[] = [];
  const behind = new Set([...ends].filter(([p, high]) => (starts.get(p) ?? high) < high).map(([p]) => p));
  let caughtUp: () => void = () => {};
  const caughtUpPromise = new Promise<void>((r) => {
    caughtUp = r;
  });
  if (behind.size === 0) caughtUp();
  let live = false;

  // A group of its own that commits nothing: tailing never moves anyone else's offsets.
  const consumer = kafka.consumer({ groupId: `estelam-audit-tail-${randomBytes(6).toString("hex")}`, maxWaitTimeInMs: 200 });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: false });
    await consumer.run({
      autoCommit: false,
      eachMessage: async ({ partition, message }) => {
        let event: AuditEvent | undefined;
        try {
          event = message.value === null ? undefined : fromBinary(AuditEventSchema, message.value);
        } catch {
          io.err(`estelam audit tail: partition ${partition} offset ${message.offset}: not an audit event\n`);
        }
        if (live) {
          if (event !== undefined) printEvent(event);
          return;
        }
        if (event !== undefined) latest.push(event);
        if (BigInt(message.offset) + 1n >= (ends.get(partition) ?? 0n)) {
          behind.delete(partition);
          if (behind.size === 0) caughtUp();
        }
      },
    });
    for (const [partition, offset] of starts) consumer.seek({ topic, partition, offset: offset.toString() });
    await caughtUpPromise;
    if (count > 0) for (const event of latest.sort(byTime).slice(-count)) printEvent(event);
    if (follow) {
      live = true;
      const stop = interrupted();
      await stop.promise;
      stop.dispose();
    }
    return EXIT_OK;
  } catch (error) {
    io.err(`estelam audit tail: reading '${topic}' failed: ${(error as Error).message}\n`);
    return EXIT_FAILURE;
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
}

const SUBCOMMANDS: Readonly<Record<string, (args: readonly string[]) => Promise<number>>> = {
  show: runAuditShow,
  report: runAuditReport,
  index: runAuditIndex,
};

export async function runAudit(args: readonly string[]): Promise<number> {
  const other = SUBCOMMANDS[args[0] ?? ""];
  if (other !== undefined) return other(args.slice(1));
  if (args[0] === "verify") {
    if (args.includes("--help") || args.includes("-h")) {
      io.out(AUDIT_VERIFY_USAGE);
      return EXIT_OK;
    }
    return runAuditVerify(args.slice(1));
  }
  const { values, positionals } = parse(
    args,
    {
      count: { type: "string", short: "n" },
      follow: { type: "boolean", short: "f" },
      brokers: { type: "string" },
      topic: { type: "string" },
      journal: { type: "string" },
    },
    AUDIT_USAGE,
  );
  if (values.help === true) {
    io.out(AUDIT_USAGE);
    return EXIT_OK;
  }
  const [sub, ...rest] = positionals;
  if (sub !== "tail")
    throw new UsageError(
      sub === undefined
        ? "missing subcommand (tail, verify, show, report, index)"
        : `unknown subcommand '${sub}' (known: tail, verify, show, report, index)`,
      AUDIT_USAGE,
    );
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`, AUDIT_USAGE);
  const count = wholeNumber(values.count, "--count", 0, 100_000, DEFAULT_COUNT, AUDIT_USAGE);
  const follow = values.follow === true;
  if (values.journal !== undefined && (values.brokers !== undefined || values.topic !== undefined)) {
    throw new UsageError("--journal reads the local audit journal; --brokers and --topic read Kafka: give one or the other", AUDIT_USAGE);
  }
  const brokers = (values.journal === undefined ? (values.brokers ?? process.env.KAFKA_BROKERS ?? "") : "")
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b !== "");
  if (brokers.length > 0) {
    const topic = values.topic ?? (process.env.ESTELAM_AUDIT_TOPIC?.trim() || DEFAULT_TOPIC);
    return tailKafka(brokers, topic, count, follow);
  }
  if (values.topic !== undefined) throw new UsageError("--topic needs Kafka brokers (--brokers or $KAFKA_BROKERS)", AUDIT_USAGE);
  return tailJournal(journalDir(values.journal), count, follow);
}
