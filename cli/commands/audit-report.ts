// `estelam audit show | report | index`: read the audit index. `show` finds an inquiry by its tracking code,
// `report` is a citizen's data-access report (every inquiry about one national code or other identifier),
// both through the gateway's AuditService with an admin key; `index` fills an index from the journal or the
// Kafka topic into a database directly (a shared PostgreSQL, or an embedded folder no gateway has open).
import { randomBytes } from "node:crypto";
import { readFile } from "node:fs/promises";
import { join, resolve } from "node:path";
import { toJsonString } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type AuditEvent, AuditEventSchema, Outcome } from "../../gen/estelam/audit/v1/audit_pb.js";
import { SubjectReportResponseSchema } from "../../gen/estelam/audit/v1/audit_service_pb.js";
import { type AuditIndex, openAuditIndex } from "../../observability/audit/audit-index.ts";
import { createAuditKey, decryptPayload } from "../../observability/audit/event.ts";
import { listSegments, parseRecords } from "../../observability/audit/journal-format.ts";
import { openDatabase } from "../../registry/database-open.ts";
import { apiKey, DEFAULT_ADDRESS, EXIT_FAILURE, EXIT_OK, gatewayAddress, io, parse, UsageError, wholeNumber } from "../args.ts";
import { createAuditClient } from "../audit-client.ts";
import { auditKafka, brokerList, journalDir, topicName, topicWatermarks } from "../audit-location.ts";
import { formatFailure } from "../format.ts";

export const AUDIT_SHOW_USAGE = `usage: estelam audit show <tracking-code> [--json] [--decrypt] [--address <host:port>] [--api-key <admin key>]

Finds an inquiry in the gateway's audit index by the tracking code its caller was given, and prints its
record (AuditService/FindInquiry; an admin key is needed).

      --json                   print the record as JSON (protobuf JSON mapping) instead of a summary
      --decrypt                also print the params and answer kept encrypted in the record (only for
                               inquiry types whose policy keeps them), decrypted here with $ESTELAM_AUDIT_KEY
      --address <host:port>    gateway gRPC address (default: $ESTELAM_GRPC_ADDRESS, else ${DEFAULT_ADDRESS})
      --api-key <key>          an admin API key (default: $ESTELAM_API_KEY)
  -h, --help                   show this text

Exit status: 0 found, 1 not found or no answer, 2 usage error.
`;

export const AUDIT_REPORT_USAGE = `usage: estelam audit report <identifier> [--kind national-code] [--limit <n>] [--json] [--address <host:port>] [--api-key <admin key>]

A citizen's data-access report: every indexed inquiry about one person (or company, account, phone, address),
newest first — when it was asked, which agency asked (its system and end user), for what purpose and under
which legal basis, which agency answered, and the outcome (AuditService/SubjectReport; an admin key is
needed). The identifier is sent to the gateway, which looks up its keyed digest; it is never stored or logged.

      --kind <kind>            national-code (default), legal-entity-id, iban, mobile or postal-code
      --limit <n>              at most this many entries (default 1000, at most 10000)
      --json                   print the report as JSON
      --address <host:port>    gateway gRPC address (default: $ESTELAM_GRPC_ADDRESS, else ${DEFAULT_ADDRESS})
      --api-key <key>          an admin API key (default: $ESTELAM_API_KEY)
  -h, --help                   show this text

Exit status: 0 the report was made (even if empty), 1 no answer or refused, 2 usage error.
`;

export const AUDIT_INDEX_USAGE = `usage: estelam audit index (--journal <dir> | --brokers <host:port,...> --topic <name>) [--database-url <url> --schema <name> | --data-dir <dir>]

Indexes audit records into the audit index of a database, for \`estelam audit show\` and \`report\`. Records
already indexed are skipped, so running it again, or over a trail the gateway indexes itself, is harmless. The
gateway indexes its own journal as it goes (ESTELAM_AUDIT_INDEX); this command fills a central index from the
Kafka topic, or an index from journal files kept elsewhere. From the topic it reads batch by batch (never the
whole topic in memory) and keeps, in the same transaction as each batch, where it got to: the next run goes on
from there.

      --journal <dir>          journal segment files (default: $ESTELAM_AUDIT_JOURNAL_DIR, else $ESTELAM_DATA_DIR/audit)
      --brokers <list>         read the Kafka topic instead (default: $KAFKA_BROKERS)
      --topic <name>           audit topic (default: $ESTELAM_AUDIT_TOPIC, else estelam.audit.v1)
      --database-url <url>     a PostgreSQL server (default: $ESTELAM_DATABASE_URL)
      --schema <name>          its schema (default: $ESTELAM_DATABASE_SCHEMA, else estelam)
      --data-dir <dir>         else the embedded database in <dir>/db (default: $ESTELAM_DATA_DIR, else var);
                               it must not be open in a running gateway
  -h, --help                   show this text

Exit status: 0 indexed, 1 the trail or the database cannot be read, 2 usage error.
`;

const OUTCOMES: Readonly<Record<number, string>> = {
  [Outcome.ANSWERED]: "answered",
  [Outcome.NOT_FOUND]: "answered: not found",
  [Outcome.REJECTED]: "answered: rejected",
  [Outcome.FAILED]: "failed",
};

function when(event: { requestIn?: Parameters<typeof timestampDate>[0] | undefined }): string {
  return event.requestIn === undefined ? "?" : timestampDate(event.requestIn).toISOString();
}

function summary(event: AuditEvent): string {
  const lines = [
    `inquiry      ${event.inquiryId}  (tracking code ${event.trackingCode})`,
    `asked at     ${when(event)}`,
    `asked by     ${event.requester || "(unidentified)"}  credential ${event.requesterCredential || "-"}  end user ${event.endUser || "-"}`,
    `purpose      ${event.purpose || "-"}${event.caseReference ? `  case ${event.caseReference}` : ""}`,
    `inquiry type ${event.inquiryType}`,
    `answered by  ${event.responder || "(no agency was asked)"}${event.endpoint ? `  via ${event.endpoint}` : ""}`,
    `outcome      ${OUTCOMES[event.outcome] ?? "unknown"}${event.faultReason ? ` ${event.faultReason}` : ""}`,
    ...(event.amends === ""
      ? []
      : [`amends       ${event.amends}: the caller went away while that record was synced; this is what it got`]),
    `subjects     ${event.subjects.map((s) => `${s.param} (${s.kind})`).join(", ") || "-"}`,
    `record       instance ${event.gatewayInstance} sequence ${event.sequence}, key ${event.keyId}`,
  ];
  return `${lines.join("\n")}\n`;
}

export async function runAuditShow(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    { json: { type: "boolean" }, decrypt: { type: "boolean" }, address: { type: "string" }, "api-key": { type: "string" } },
    AUDIT_SHOW_USAGE,
  );
  if (values.help === true) {
    io.out(AUDIT_SHOW_USAGE);
    return EXIT_OK;
  }
  const [code, ...rest] = positionals;
  if (code === undefined) throw new UsageError("missing tracking code", AUDIT_SHOW_USAGE);
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`, AUDIT_SHOW_USAGE);
  const address = gatewayAddress(values.address, AUDIT_SHOW_USAGE);
  const client = createAuditClient(address, apiKey(values["api-key"], AUDIT_SHOW_USAGE));
  try {
    const result = await client.findInquiry({ trackingCode: code });
    if (!result.ok) {
      io.err(formatFailure(result.status, address));
      return EXIT_FAILURE;
    }
    for (const event of result.response.events) {
      io.out(values.json === true ? `${toJsonString(AuditEventSchema, event)}\n` : summary(event));
      if (values.decrypt !== true) continue;
      const secret = process.env.ESTELAM_AUDIT_KEY?.trim();
      if (event.payload === undefined) io.out("payload      (none kept: the inquiry type's policy keeps digests only)\n");
      else if (!secret) throw new UsageError("--decrypt needs the audit key in ESTELAM_AUDIT_KEY", AUDIT_SHOW_USAGE);
      else {
        const key = createAuditKey(secret);
        if (key.id !== event.keyId) {
          io.err(`estelam audit show: the record was made under key ${event.keyId}, not the key given (${key.id})\n`);
          return EXIT_FAILURE;
        }
        io.out(`payload      ${decryptPayload(key, event.inquiryId, event.payload)}\n`);
      }
    }
    return EXIT_OK;
  } finally {
    client.close();
  }
}

export async function runAuditReport(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      kind: { type: "string" },
      limit: { type: "string" },
      json: { type: "boolean" },
      address: { type: "string" },
      "api-key": { type: "string" },
    },
    AUDIT_REPORT_USAGE,
  );
  if (values.help === true) {
    io.out(AUDIT_REPORT_USAGE);
    return EXIT_OK;
  }
  const [value, ...rest] = positionals;
  if (value === undefined) throw new UsageError("missing identifier (e.g. a national code)", AUDIT_REPORT_USAGE);
  if (rest.length > 0) throw new UsageError(`unexpected argument '${rest[0]}'`, AUDIT_REPORT_USAGE);
  const limit = wholeNumber(values.limit, "--limit", 1, 10_000, 1000, AUDIT_REPORT_USAGE);
  const address = gatewayAddress(values.address, AUDIT_REPORT_USAGE);
  const client = createAuditClient(address, apiKey(values["api-key"], AUDIT_REPORT_USAGE));
  try {
    const result = await client.subjectReport({ kind: values.kind ?? "national-code", value, limit });
    if (!result.ok) {
      io.err(formatFailure(result.status, address));
      return EXIT_FAILURE;
    }
    const report = result.response;
    if (values.json === true) {
      io.out(`${toJsonString(SubjectReportResponseSchema, report)}\n`);
      return EXIT_OK;
    }
    io.out(
      `${report.accesses.length}${report.truncated ? "+" : ""} inquiries about this ${values.kind ?? "national-code"}, newest first\n`,
    );
    for (const a of report.accesses) {
      io.out(
        [
          "",
          `${a.askedAt === undefined ? "?" : timestampDate(a.askedAt).toISOString()}  ${a.requester || "(unidentified)"} asked ${a.inquiryType}  (tracking code ${a.trackingCode})`,
          `  by          ${a.requesterCredential || "-"}, end user ${a.endUser || "-"}`,
          `  purpose     ${a.purpose || "-"}`,
          `  legal basis ${a.legalBasis || "-"}`,
          `  answered by ${a.responder || "(no agency was asked)"}: ${OUTCOMES[a.outcome] ?? "unknown"}${a.faultReason ? ` ${a.faultReason}` : ""}`,
          "",
        ].join("\n"),
      );
    }
    return EXIT_OK;
  } finally {
    client.close();
  }
}

export async function runAuditIndex(args: readonly string[]): Promise<number> {
  const { values, positionals } = parse(
    args,
    {
      journal: { type: "string" },
      brokers: { type: "string" },
      topic: { type: "string" },
      "database-url": { type: "string" },
      schema: { type: "string" },
      "data-dir": { type: "string" },
    },
    AUDIT_INDEX_USAGE,
  );
  if (values.help === true) {
    io.out(AUDIT_INDEX_USAGE);
    return EXIT_OK;
  }
  if (positionals.length > 0) throw new UsageError(`unexpected argument '${positionals[0]}'`, AUDIT_INDEX_USAGE);
  if (values.journal !== undefined && (values.brokers !== undefined || values.topic !== undefined))
    throw new UsageError("--journal reads journal files; --brokers and --topic read Kafka: give one or the other", AUDIT_INDEX_USAGE);
  const brokers = values.journal === undefined ? brokerList(values.brokers) : [];
  const url = values["database-url"] ?? (process.env.ESTELAM_DATABASE_URL?.trim() || undefined);
  const dataDir = resolve(values["data-dir"] ?? (process.env.ESTELAM_DATA_DIR?.trim() || "var"));
  const schema = values.schema ?? (process.env.ESTELAM_DATABASE_SCHEMA?.trim() || "estelam");
  let records: Uint8Array[] = [];
  let what: string;
  const topic = topicName(values.topic);
  if (brokers.length > 0) what = `topic ${topic}`;
  else {
    const dir = journalDir(values.journal);
    what = `journal ${dir}`;
    try {
      for (const segment of await listSegments(dir))
        for (const record of parseRecords(await readFile(join(dir, segment.name))).records) records.push(record.payload);
    } catch (error) {
      io.err(`estelam audit index: the trail cannot be read: ${(error as NodeJS.ErrnoException).code ?? (error as Error).message}\n`);
      return EXIT_FAILURE;
    }
  }
  let database: Awaited<ReturnType<typeof openDatabase>>;
  try {
    database = await openDatabase({
      url,
      dataDir: join(dataDir, "db"),
      schema,
    });
  } catch (error) {
    io.err(`estelam audit index: the database cannot be opened: ${(error as Error).message}\n`);
    return EXIT_FAILURE;
  }
  try {
    const index = await openAuditIndex(database);
    let read = records.length;
    let added = 0;
    if (brokers.length > 0) {
      try {
        ({ read, added } = await indexTopic(brokers, topic, index));
      } catch (error) {
        io.err(`estelam audit index: the trail cannot be read: ${(error as Error).message}\n`);
        return EXIT_FAILURE;
      }
    } else
      for (let start = 0; start < records.length; start += INDEX_BATCH) added += await index.add(records.slice(start, start + INDEX_BATCH));
    records = [];
    io.out(
      `${what}: ${read} records read, ${added} newly indexed, ${read - added} already there; ${await index.count()} in the index (${database.kind} ${database.location})\n`,
    );
    return EXIT_OK;
  } catch (error) {
    io.err(`estelam audit index: indexing failed: ${(error as Error).message}\n`);
    return EXIT_FAILURE;
  } finally {
    await database.close();
  }
}

/** Records per index transaction. */
const INDEX_BATCH = 5000;

/**
 * Indexes the topic from where the last run stopped (the source `topic:<name>`: the next offset of each
 * partition, saved in the same transaction as each batch) up to the end it has now, batch by batch as
 * kafkajs fetches them: memory holds one fetch (at most FETCH_BYTES), never the topic.
 */
async function indexTopic(brokers: readonly string[], topic: string, index: AuditIndex): Promise<{ read: number; added: number }> {
  const FETCH_BYTES = 4 * 1024 * 1024;
  const source = `topic:${topic}`;
  const saved = JSON.parse((await index.position(source)) ?? "{}") as Record<string, string>;
  const kafka = auditKafka("estelam-audit-index", brokers);
  const ranges = (await topicWatermarks(kafka, topic)).map((p) => {
    const resume = saved[String(p.partition)];
    return { partition: p.partition, from: resume === undefined || BigInt(resume) < p.low ? p.low : BigInt(resume), high: p.high };
  });
  const next: Record<string, string> = { ...saved };
  for (const r of ranges) next[String(r.partition)] = r.from.toString();
  const high = new Map(ranges.map((r) => [r.partition, r.high]));
  const behind = new Set(ranges.filter((r) => r.from < r.high).map((r) => r.partition));
  let read = 0;
  let added = 0;
  if (behind.size === 0) return { read, added };
  const consumer = kafka.consumer({
    groupId: `estelam-audit-index-${randomBytes(6).toString("hex")}`,
    maxWaitTimeInMs: 200,
    maxBytes: FETCH_BYTES,
    maxBytesPerPartition: FETCH_BYTES,
  });
  try {
    await consumer.connect();
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((done, fail) => {
      consumer
        .run({
          autoCommit: false,
          eachBatchAutoResolve: false,
          eachBatch: async ({ batch, resolveOffset, heartbeat }) => {
            const end = high.get(batch.partition) ?? 0n;
            const taken = batch.messages.filter(
              (m) => BigInt(m.offset) >= BigInt(next[String(batch.partition)] ?? "0") && BigInt(m.offset) < end,
            );
            for (let start = 0; start < taken.length; start += INDEX_BATCH) {
              const slice = taken.slice(start, start + INDEX_BATCH);
              const last = slice.at(-1);
              if (last === undefined) break;
              next[String(batch.partition)] = (BigInt(last.offset) + 1n).toString();
              const payloads = slice.flatMap((m) => (m.value === null ? [] : [new Uint8Array(m.value)]));
              added += await index.add(payloads, { name: source, position: JSON.stringify(next) });
              read += payloads.length;
              resolveOffset(last.offset);
              await heartbeat();
            }
            if (BigInt(next[String(batch.partition)] ?? "0") >= end && behind.delete(batch.partition) && behind.size === 0) done();
          },
        })
        .catch(fail);
      for (const range of ranges) consumer.seek({ topic, partition: range.partition, offset: range.from.toString() });
    });
  } finally {
    await consumer.disconnect().catch(() => undefined);
  }
  return { read, added };
}
