// `estelam audit`: read the audit trail where it is kept. `tail` prints the latest evidence records as JSON,
// one per line, from the Kafka topic or the local audit file, and with --follow keeps printing new ones.
import { randomBytes } from "node:crypto";
import { open, stat } from "node:fs/promises";
import { resolve } from "node:path";
import { fromBinary, fromJsonString, toJsonString } from "@bufbuild/protobuf";
import "../../observability/audit/kafkajs-idle-timer.ts";
import kafkajs from "kafkajs";
import { type AuditEvent, AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";
import { EXIT_FAILURE, EXIT_OK, io, parse, UsageError, wholeNumber } from "../args.ts";

const DEFAULT_TOPIC = "estelam.audit.v1";
const DEFAULT_FILE = "var/audit/audit-events.jsonl";
/** Where the gateway resolves its default paths from (gateway/config.ts does the same). */
const PROJECT_ROOT = resolve(import.meta.dirname, "../..");
const DEFAULT_COUNT = 10;
const FOLLOW_POLL_MS = 250;

export const AUDIT_USAGE = `usage: estelam audit tail [-n <count>] [--follow] [--brokers <host:port,...> --topic <name> | --file <path>]

Prints the latest audit events (the evidence record of each inquiry) as JSON, one per line, oldest first:
from the Kafka topic when brokers are given (--brokers, else $KAFKA_BROKERS), otherwise from the local audit
file. Subject identifiers appear only as keyed digests, as they are stored.

  -n, --count <n>              how many of the latest events to print first (default ${DEFAULT_COUNT}; 0 for none)
  -f, --follow                 keep printing new events as they are recorded, until Ctrl-C
      --brokers <list>         Kafka bootstrap brokers (default: $KAFKA_BROKERS)
      --topic <name>           audit topic (default: $ESTELAM_AUDIT_TOPIC, else ${DEFAULT_TOPIC})
      --file <path>            the local audit file (default: $ESTELAM_AUDIT_FILE, else ${DEFAULT_FILE})
  -h, --help                   show this text

The settings are the gateway's own (KAFKA_BROKERS, ESTELAM_AUDIT_TOPIC, ESTELAM_AUDIT_FILE), so the same
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

async function tailFile(path: string, count: number, follow: boolean): Promise<number> {
  let text: string;
  let size: number;
  try {
    const handle = await open(path, "r");
    try {
      const buffer = await handle.readFile();
      size = buffer.length;
      text = buffer.toString("utf8");
    } finally {
      await handle.close();
    }
  } catch (error) {
    io.err(
      `estelam audit tail: the audit file ${path} cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`,
    );
    return EXIT_FAILURE;
  }
  // A line still being written has no newline yet: it is read on the next round.
  const complete = text.lastIndexOf("\n") + 1;
  let offset = Buffer.byteLength(text.slice(0, complete));
  const lines = text
    .slice(0, complete)
    .split("\n")
    .filter((l) => l !== "");
  const decode = (line: string, at: string): AuditEvent | undefined => {
    try {
      return fromJsonString(AuditEventSchema, line);
    } catch {
      io.err(`estelam audit tail: ${at}: not an audit event\n`);
      return undefined;
    }
  };
  const first = count === 0 ? [] : lines.slice(-count);
  first.forEach((line, i) => {
    const event = decode(line, `line ${lines.length - first.length + i + 1}`);
    if (event !== undefined) printEvent(event);
  });
  if (!follow) return EXIT_OK;

  const stop = interrupted();
  let stopped = false;
  void stop.promise.then(() => {
    stopped = true;
  });
  let pending = Buffer.alloc(0);
  try {
    while (!stopped) {
      await Promise.race([new Promise((r) => setTimeout(r, FOLLOW_POLL_MS)), stop.promise]);
      if (stopped) break;
      const now = (await stat(path).catch(() => undefined))?.size ?? size;
      if (now < offset) offset = 0; // the file was replaced: read the new one from the start
      if (now === offset) continue;
      const handle = await open(path, "r");
      try {
        const chunk = Buffer.alloc(now - offset);
        const { bytesRead } = await handle.read(chunk, 0, chunk.length, offset);
        offset += bytesRead;
        pending = Buffer.concat([pending, chunk.subarray(0, bytesRead)]);
      } finally {
        await handle.close();
      }
      let newline = pending.indexOf(0x0a);
      while (newline >= 0) {
        const line = pending.subarray(0, newline).toString("utf8");
        pending = pending.subarray(newline + 1);
        if (line !== "") {
          const event = decode(line, "a new line");
          if (event !== undefined) printEvent(event);
        }
        newline = pending.indexOf(0x0a);
      }
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

export async function runAudit(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      count: { type: "string", short: "n" },
      follow: { type: "boolean", short: "f" },
      brokers: { type: "string" },
      topic: { type: "string" },
      file: { type: "string" },
    },
    AUDIT_USAGE,
  );
  if (values.help === true) {
    io.out(AUDIT_USAGE);
    return EXIT_OK;
  }
  const [sub, ...rest] = positionals;
  if (sub !== "tail")
    throw new UsageError(sub === undefined ? "missing subcommand (tail)" : `unknown subcommand '${sub}' (known: tail)`, AUDIT_USAGE);
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`, AUDIT_USAGE);
  const count = wholeNumber(values.count, "--count", 0, 100_000, DEFAULT_COUNT, AUDIT_USAGE);
  const follow = values.follow === true;
  if (values.file !== undefined && (values.brokers !== undefined || values.topic !== undefined)) {
    throw new UsageError("--file reads the local audit file; --brokers and --topic read Kafka: give one or the other", AUDIT_USAGE);
  }
  const brokers = (values.file === undefined ? (values.brokers ?? process.env.KAFKA_BROKERS ?? "") : "")
    .split(",")
    .map((b) => b.trim())
    .filter((b) => b !== "");
  if (brokers.length > 0) {
    const topic = values.topic ?? (process.env.ESTELAM_AUDIT_TOPIC?.trim() || DEFAULT_TOPIC);
    return tailKafka(brokers, topic, count, follow);
  }
  if (values.topic !== undefined) throw new UsageError("--topic needs Kafka brokers (--brokers or $KAFKA_BROKERS)", AUDIT_USAGE);
  const given = values.file ?? process.env.ESTELAM_AUDIT_FILE?.trim();
  const file = given ? resolve(given) : resolve(PROJECT_ROOT, DEFAULT_FILE);
  return tailFile(file, count, follow);
}
