// `npm run bench -- --audit-index`: builds an audit index of millions of records in the gateway's database
// (embedded PGlite by default, or a PostgreSQL server) and times a citizen's data-access report and a
// tracking-code look-up against it — the same queries AuditService runs. Most records are generated in SQL
// (people drawn from a population, one to three subjects each); one citizen's records are real AuditEvents
// made by the gateway's own event factory, so the report's digest is the real keyed digest.
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { toBinary } from "@bufbuild/protobuf";
import { AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";
import { type AuditIndex, openAuditIndex } from "../../observability/audit/audit-index.ts";
import { createAuditEventFactory, createAuditKey, type InquiryRecord } from "../../observability/audit/event.ts";
import type { Database } from "../../registry/database.ts";
import { openDatabase } from "../../registry/database-open.ts";

export interface AuditIndexBenchOptions {
  /** Records in the index. */
  readonly events: number;
  /** Distinct people the generated records are about. */
  readonly people: number;
  /** Records about the measured citizen. */
  readonly citizenEvents: number;
  /** Report queries timed. */
  readonly queries: number;
  /** A PostgreSQL URL, or undefined for embedded PGlite in a temporary folder. */
  readonly databaseUrl: string | undefined;
  readonly json: boolean;
}

const KEY = createAuditKey("estelam-bench-audit-key-not-a-secret-0123456789");
const CITIZEN = "0012345679";
const CHUNK = 250_000;

function progress(text: string): void {
  process.stderr.write(`${text}\n`);
}

function percentile(sorted: readonly number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((sorted.length - 1) * p))] ?? Number.NaN;
}

async function fill(db: Database, events: number, people: number): Promise<void> {
  // A realistic record size (the protobuf of an inquiry's record is 400–600 bytes), incompressible.
  for (let from = 1; from <= events; from += CHUNK) {
    const to = Math.min(events, from + CHUNK - 1);
    await db.query(
      `insert into audit_events (instance, sequence, inquiry_id, tracking_code, request_in, record)
       select 'bench-' || (g % 4), g, 'inq-' || g, upper(substr(md5(g::text), 1, 4) || '-' || substr(md5(g::text), 5, 4) || '-' || substr(md5(g::text), 9, 4)),
              timestamptz '2025-01-01' + g * interval '6 seconds',
              decode(repeat(md5(g::text), 15), 'hex')
       from generate_series($1::bigint, $2::bigint) g`,
      [from, to],
    );
    // One subject per record, a second for every third: people drawn from the population.
    await db.query(
      `insert into audit_subjects (digest, request_in, instance, sequence, param)
       select sha256(('person-' || ((g * 7919) % $3))::bytea), timestamptz '2025-01-01' + g * interval '6 seconds', 'bench-' || (g % 4), g, 'national_code'
       from generate_series($1::bigint, $2::bigint) g
       union all
       select sha256(('person-' || ((g * 104729) % $3))::bytea), timestamptz '2025-01-01' + g * interval '6 seconds', 'bench-' || (g % 4), g, 'seller_national_code'
       from generate_series($1::bigint, $2::bigint) g where g % 3 = 0`,
      [from, to, people],
    );
    progress(`  ${to.toLocaleString("en")} of ${events.toLocaleString("en")} records`);
  }
}

async function addCitizen(index: AuditIndex, count: number): Promise<string[]> {
  const factory = createAuditEventFactory({ key: KEY, instance: "bench-citizen" });
  const records: Uint8Array[] = [];
  const tracking: string[] = [];
  for (let i = 0; i < count; i++) {
    const at = Date.parse("2025-03-01T08:00:00Z") + i * 86_400_000;
    const record: InquiryRecord = {
      inquiryId: `citizen-${i}`,
      trackingCode: `CTZN-${String(i).padStart(4, "0")}-0000`,
      clientMessageId: "",
      inquiryType: "nocr.identity-match.v1",
      requester: i % 2 === 0 ? "demo-bank" : "counter-office",
      requesterCredential: i % 2 === 0 ? "demo-bank/dev" : "counter-office/dev",
      endUser: "teller-7",
      caseReference: "",
      purpose: "kyc.account-opening",
      responder: "nocr",
      endpoint: "nocr/main",
      requestInMs: at,
      requestOutMs: at + 1,
      responseInMs: at + 5,
      responseOutMs: at + 6,
      params: { national_code: CITIZEN, birth_date: "1348/01/31" },
      answer: { match: true },
      outcome: "answered",
      faultReason: "",
      faultOrigin: undefined,
      grpcStatus: 0,
      subjects: [{ param: "national_code", kind: "national-code", value: CITIZEN }],
    };
    const event = factory.build(record);
    event.sequence = BigInt(i + 1);
    records.push(toBinary(AuditEventSchema, event));
    tracking.push(record.trackingCode);
  }
  await index.add(records);
  return tracking;
}

export async function runAuditIndexBench(options: AuditIndexBenchOptions): Promise<number> {
  const dir = options.databaseUrl === undefined ? mkdtempSync(join(tmpdir(), "estelam-index-bench-")) : undefined;
  const schema = `estelam_index_bench_${Date.now().toString(36)}`;
  const db = await openDatabase({ url: options.databaseUrl, dataDir: join(dir ?? tmpdir(), "db"), schema });
  try {
    const index = await openAuditIndex(db);
    progress(`audit index bench: ${db.kind} ${db.location}, schema ${schema}`);
    const started = performance.now();
    await fill(db, options.events, options.people);
    const tracking = await addCitizen(index, options.citizenEvents);
    await db.query("analyze audit_events");
    await db.query("analyze audit_subjects");
    const buildSeconds = (performance.now() - started) / 1000;
    const total = await index.count();
    progress(`built: ${total.toLocaleString("en")} records in ${buildSeconds.toFixed(0)} s`);

    const factory = createAuditEventFactory({ key: KEY, instance: "bench" });
    const digest = factory.subjectDigest("national-code", CITIZEN);
    const report: number[] = [];
    let entries = 0;
    for (let i = 0; i < options.queries; i++) {
      const t0 = performance.now();
      entries = (await index.subjectReport(digest, 1001)).length;
      report.push(performance.now() - t0);
    }
    const lookup: number[] = [];
    for (let i = 0; i < options.queries; i++) {
      const t0 = performance.now();
      await index.findByTrackingCode(tracking[i % tracking.length] ?? "");
      lookup.push(performance.now() - t0);
    }
    report.sort((a, b) => a - b);
    lookup.sort((a, b) => a - b);
    const result = {
      bench: "estelam-audit-index",
      database: db.kind,
      records: total,
      people: options.people,
      buildSeconds,
      report: { entries, queries: options.queries, p50Ms: percentile(report, 0.5), p99Ms: percentile(report, 0.99), maxMs: report.at(-1) },
      trackingCodeLookup: { p50Ms: percentile(lookup, 0.5), p99Ms: percentile(lookup, 0.99) },
      goalMs: 100,
      ok: entries === options.citizenEvents && percentile(report, 0.5) < 100,
    };
    if (!options.json) {
      process.stdout.write(
        [
          `audit index: ${total.toLocaleString("en")} records (${options.people.toLocaleString("en")} people) in ${db.kind}, built in ${buildSeconds.toFixed(0)} s`,
          `citizen's data-access report (${entries} entries): p50 ${result.report.p50Ms.toFixed(2)} ms, p99 ${result.report.p99Ms.toFixed(2)} ms over ${options.queries} queries (goal < 100 ms)`,
          `tracking-code look-up: p50 ${result.trackingCodeLookup.p50Ms.toFixed(2)} ms, p99 ${result.trackingCodeLookup.p99Ms.toFixed(2)} ms`,
          "",
        ].join("\n"),
      );
    }
    process.stdout.write(`${JSON.stringify(result)}\n`);
    return result.ok ? 0 : 1;
  } finally {
    if (options.databaseUrl !== undefined) await db.query(`drop schema if exists ${schema} cascade`).catch(() => undefined);
    await db.close();
    if (dir !== undefined) rmSync(dir, { recursive: true, force: true });
  }
}
