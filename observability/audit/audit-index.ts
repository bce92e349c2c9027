// The audit index: the evidence records, taken from the journal or the Kafka topic, kept in the gateway's
// database (registry/database.ts: embedded PGlite or shared PostgreSQL) so that an inquiry is found by its
// tracking code and a citizen's data-access report ("every inquiry about me") is one index lookup. A record
// is indexed once, whatever the number of times it is offered (its gateway instance and sequence are the key),
// and each record's subject digests are indexed with the time of the inquiry, newest first. No identifier is
// stored in clear: only the keyed digests the records already hold. A record that amends an earlier one
// (AuditEvent.amends: the caller went away while that record was synced) is found with it by tracking code,
// and gives its inquiry's report entry the outcome the caller got; it is not an inquiry of its own.
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { timestampDate } from "@bufbuild/protobuf/wkt";
import { type AuditEvent, AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";
import type { Database, Migration, Queryable } from "../../registry/database.ts";

export const AUDIT_INDEX_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      create table audit_events (
        instance text not null,
        sequence bigint not null,
        inquiry_id text not null,
        tracking_code text not null,
        request_in timestamptz not null,
        record bytea not null,
        primary key (instance, sequence)
      )`,
  },
  { version: 2, sql: "create index audit_events_tracking_code on audit_events (tracking_code)" },
  {
    version: 3,
    sql: `
      create table audit_subjects (
        digest bytea not null,
        request_in timestamptz not null,
        instance text not null,
        sequence bigint not null,
        param text not null,
        primary key (digest, request_in, instance, sequence, param)
      )`,
  },
  {
    version: 4,
    sql: `
      create table audit_index_sources (
        source text primary key,
        position text not null,
        updated_at timestamptz not null default now()
      )`,
  },
];

export interface SubjectHit {
  readonly event: AuditEvent;
  /** The parameter that held the identifier. */
  readonly param: string;
  /** A record amending `event` with what the caller got, if there is one. */
  readonly amendment?: AuditEvent;
}

export interface AuditIndex {
  /** Indexes records (encoded AuditEvents); records already indexed are skipped. Returns how many were new. */
  add(records: readonly Uint8Array[], source?: { readonly name: string; readonly position: string }): Promise<number>;
  /** Where indexing from `source` got to, as saved by `add`. */
  position(source: string): Promise<string | undefined>;
  /** The records with this tracking code (normalised: upper case, dashes as given by the gateway). */
  findByTrackingCode(trackingCode: string): Promise<AuditEvent[]>;
  /** The records whose subjects include `digest`, newest first, at most `limit`. */
  subjectReport(digest: Uint8Array, limit: number): Promise<SubjectHit[]>;
  /** Records indexed. */
  count(): Promise<number>;
}

/** Dashes every four symbols, upper case: the form tracking codes are given in. */
export function normaliseTrackingCode(code: string): string {
  const plain = code.replace(/[\s-]/g, "").toUpperCase();
  return plain.match(/.{1,4}/g)?.join("-") ?? "";
}

function requestIn(event: AuditEvent): Date {
  return event.requestIn === undefined ? new Date(0) : timestampDate(event.requestIn);
}

export async function openAuditIndex(db: Database): Promise<AuditIndex> {
  await db.migrate("audit", AUDIT_INDEX_MIGRATIONS);

  // Columns travel as one array parameter each (bytes as base64, two thirds of hex's length to parse): one
  // short statement per batch, whatever its size, instead of thousands of parameters to parse and bind.
  async function insert(tx: Queryable, events: readonly AuditEvent[], encoded: readonly Uint8Array[]): Promise<number> {
    const inserted = await tx.query(
      `insert into audit_events (instance, sequence, inquiry_id, tracking_code, request_in, record)
       select i, s, q, t, r, decode(b, 'base64')
       from unnest($1::text[], $2::bigint[], $3::text[], $4::text[], $5::timestamptz[], $6::text[]) as u(i, s, q, t, r, b)
       on conflict do nothing`,
      [
        events.map((e) => e.gatewayInstance),
        events.map((e) => e.sequence.toString()),
        events.map((e) => e.inquiryId),
        events.map((e) => e.trackingCode),
        events.map((e) => requestIn(e).toISOString()),
        events.map((e, i) => Buffer.from(encoded[i] ?? toBinary(AuditEventSchema, e)).toString("base64")),
      ],
    );
    // An amending record repeats its inquiry's subjects; the inquiry is indexed by the record it amends.
    const subjects = events.flatMap((e) => (e.amends === "" ? e.subjects.map((subject) => ({ e, subject })) : []));
    if (subjects.length > 0)
      await tx.query(
        `insert into audit_subjects (digest, request_in, instance, sequence, param)
         select decode(d, 'base64'), r, i, s, p
         from unnest($1::text[], $2::timestamptz[], $3::text[], $4::bigint[], $5::text[]) as u(d, r, i, s, p)
         on conflict do nothing`,
        [
          subjects.map(({ subject }) => Buffer.from(subject.digest).toString("base64")),
          subjects.map(({ e }) => requestIn(e).toISOString()),
          subjects.map(({ e }) => e.gatewayInstance),
          subjects.map(({ e }) => e.sequence.toString()),
          subjects.map(({ subject }) => subject.param),
        ],
      );
    return inserted.rowCount;
  }

  return {
    async add(records, source) {
      const events = records.map((r) => fromBinary(AuditEventSchema, r));
      return db.transaction(async (tx) => {
        const added = await insert(tx, events, records);
        if (source !== undefined)
          await tx.query(
            `insert into audit_index_sources (source, position) values ($1, $2)
             on conflict (source) do update set position = excluded.position, updated_at = now()`,
            [source.name, source.position],
          );
        return added;
      });
    },

    async position(source) {
      const result = await db.query<{ position: string }>("select position from audit_index_sources where source = $1", [source]);
      return result.rows[0]?.position;
    },

    async findByTrackingCode(trackingCode) {
      const result = await db.query<{ record: Uint8Array }>(
        "select record from audit_events where tracking_code = $1 order by request_in, instance, sequence",
        [normaliseTrackingCode(trackingCode)],
      );
      return result.rows.map((r) => fromBinary(AuditEventSchema, new Uint8Array(r.record)));
    },

    async subjectReport(digest, limit) {
      const result = await db.query<{ record: Uint8Array; param: string }>(
        `select e.record, s.param from (
           select instance, sequence, param, request_in from audit_subjects where digest = $1
           order by request_in desc limit $2
         ) s join audit_events e on e.instance = s.instance and e.sequence = s.sequence
         order by s.request_in desc, s.instance, s.sequence`,
        [Buffer.from(digest), limit],
      );
      const hits = result.rows.map((r) => ({ event: fromBinary(AuditEventSchema, new Uint8Array(r.record)), param: r.param }));
      if (hits.length === 0) return hits;
      // Amending records share their inquiry's tracking code (rare: one per caller gone during a sync).
      const amendments = new Map<string, AuditEvent>();
      const codes = [...new Set(hits.map((h) => h.event.trackingCode))];
      const related = await db.query<{ record: Uint8Array }>(
        "select record from audit_events where tracking_code = any($1::text[]) order by sequence",
        [codes],
      );
      for (const row of related.rows) {
        const event = fromBinary(AuditEventSchema, new Uint8Array(row.record));
        if (event.amends !== "") amendments.set(event.amends, event);
      }
      return hits.map((h) => {
        const amendment = amendments.get(h.event.inquiryId);
        return amendment === undefined ? h : { ...h, amendment };
      });
    },

    async count() {
      const result = await db.query<{ n: string | number }>("select count(*) as n from audit_events");
      return Number(result.rows[0]?.n ?? 0);
    },
  };
}
