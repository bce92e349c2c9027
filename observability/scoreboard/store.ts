// The scoreboard's tables, beside the registry's in the gateway's database (embedded PGlite or a shared
// PostgreSQL schema), so that trends survive restarts and several gateway instances add up to one view.
// Each instance (a "writer": its name plus a random suffix per process, so that a restart never overwrites
// what the previous process wrote) upserts its own rows; readers sum over every writer.
import type { Database, Migration } from "../../registry/database.ts";
import type { BreakerStateName, InquiryStatus, MinuteCounts, WriterReport } from "./model.ts";

export const SCOREBOARD_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      create table scoreboard_minutes (
        writer text not null,
        instance text not null,
        minute bigint not null,
        day integer not null,
        inquiry_type text not null,
        answered integer not null,
        faults integer not null,
        refused integer not null,
        buckets jsonb not null,
        primary key (writer, minute, inquiry_type)
      )`,
  },
  { version: 2, sql: "create index scoreboard_minutes_minute on scoreboard_minutes (minute)" },
  {
    version: 3,
    sql: `
      create table scoreboard_writers (
        writer text primary key,
        instance text not null,
        seen_at bigint not null,
        breakers jsonb not null
      )`,
  },
  {
    version: 4,
    sql: `
      create table scoreboard_status (
        minute bigint not null,
        day integer not null,
        inquiry_type text not null,
        agency text not null,
        status text not null,
        primary key (minute, inquiry_type)
      )`,
  },
  { version: 5, sql: "create index scoreboard_status_day on scoreboard_status (day)" },
];

function json<T>(value: unknown): T {
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}

export interface StatusSample {
  readonly inquiryType: string;
  readonly agency: string;
  readonly status: InquiryStatus;
}

export interface ScoreboardStore {
  /** Replaces this writer's rows for the given minutes and reports its breakers, in one transaction. */
  write(
    writer: string,
    instance: string,
    nowMs: number,
    rows: ReadonlyArray<MinuteCounts & { readonly day: number }>,
    breakers: Readonly<Record<string, BreakerStateName>>,
  ): Promise<void>;
  /** Every writer's rows from `fromMinute` on. */
  minutes(fromMinute: number): Promise<MinuteCounts[]>;
  /** Inquiries per inquiry type from `fromMinute` on, every writer. */
  volumes(fromMinute: number): Promise<Map<string, number>>;
  /** Writers that reported at or after `sinceMs`. */
  writers(sinceMs: number): Promise<WriterReport[]>;
  /** The statuses of one minute (the latest evaluation in the minute wins). */
  sample(minute: number, day: number, samples: readonly StatusSample[]): Promise<void>;
  /** Per agency and day from `fromDay` on: the share of its status samples that were online. */
  daily(fromDay: number): Promise<Map<string, Map<number, number>>>;
  /** Deletes counts before `minutesBefore`, samples before `samplesBefore`, writers silent since `writersBeforeMs`. */
  prune(minutesBefore: number, samplesBefore: number, writersBeforeMs: number): Promise<void>;
}

export async function createScoreboardStore(db: Database): Promise<ScoreboardStore> {
  await db.migrate("scoreboard", SCOREBOARD_MIGRATIONS);
  return {
    async write(writer, instance, nowMs, rows, breakers) {
      await db.transaction(async (tx) => {
        // One statement for all the rows, their columns as arrays: one parse and plan per flush, not per row.
        if (rows.length > 0)
          await tx.query(
            `insert into scoreboard_minutes (writer, instance, minute, day, inquiry_type, answered, faults, refused, buckets)
             select $1, $2, m, d, t, a, f, r, b::jsonb
             from unnest($3::bigint[], $4::bigint[], $5::text[], $6::bigint[], $7::bigint[], $8::bigint[], $9::text[]) as u(m, d, t, a, f, r, b)
             on conflict (writer, minute, inquiry_type) do update
               set answered = excluded.answered, faults = excluded.faults, refused = excluded.refused, buckets = excluded.buckets`,
            [
              writer,
              instance,
              rows.map((row) => row.minute),
              rows.map((row) => row.day),
              rows.map((row) => row.inquiryType),
              rows.map((row) => row.counts.answered),
              rows.map((row) => row.counts.faults),
              rows.map((row) => row.counts.refused),
              rows.map((row) => JSON.stringify(row.counts.buckets)),
            ],
          );
        await tx.query(
          `insert into scoreboard_writers (writer, instance, seen_at, breakers) values ($1, $2, $3, $4::jsonb)
           on conflict (writer) do update set seen_at = excluded.seen_at, breakers = excluded.breakers`,
          [writer, instance, nowMs, JSON.stringify(breakers)],
        );
      });
    },
    async minutes(fromMinute) {
      const result = await db.query<{
        minute: string | number;
        inquiry_type: string;
        answered: number;
        faults: number;
        refused: number;
        buckets: unknown;
      }>("select minute, inquiry_type, answered, faults, refused, buckets from scoreboard_minutes where minute >= $1", [fromMinute]);
      return result.rows.map((r) => ({
        minute: Number(r.minute),
        inquiryType: r.inquiry_type,
        counts: { answered: Number(r.answered), faults: Number(r.faults), refused: Number(r.refused), buckets: json<number[]>(r.buckets) },
      }));
    },
    async volumes(fromMinute) {
      const result = await db.query<{ inquiry_type: string; volume: string | number }>(
        `select inquiry_type, sum(answered + faults + refused) as volume from scoreboard_minutes
         where minute >= $1 group by inquiry_type`,
        [fromMinute],
      );
      return new Map(result.rows.map((r) => [r.inquiry_type, Number(r.volume)]));
    },
    async writers(sinceMs) {
      const result = await db.query<{ writer: string; instance: string; seen_at: string | number; breakers: unknown }>(
        "select writer, instance, seen_at, breakers from scoreboard_writers where seen_at >= $1",
        [sinceMs],
      );
      return result.rows.map((r) => ({
        writer: r.writer,
        instance: r.instance,
        seenAtMs: Number(r.seen_at),
        breakers: json<Record<string, BreakerStateName>>(r.breakers),
      }));
    },
    async sample(minute, day, samples) {
      if (samples.length === 0) return;
      await db.query(
        `insert into scoreboard_status (minute, day, inquiry_type, agency, status)
         select $1, $2, t, a, s from unnest($3::text[], $4::text[], $5::text[]) as u(t, a, s)
         on conflict (minute, inquiry_type) do update set status = excluded.status, agency = excluded.agency`,
        [minute, day, samples.map((x) => x.inquiryType), samples.map((x) => x.agency), samples.map((x) => x.status)],
      );
    },
    async daily(fromDay) {
      const result = await db.query<{ agency: string; day: number; online: string | number; total: string | number }>(
        `select agency, day, count(*) filter (where status = 'online') as online, count(*) as total
         from scoreboard_status where day >= $1 group by agency, day`,
        [fromDay],
      );
      const byAgency = new Map<string, Map<number, number>>();
      for (const r of result.rows) {
        const days = byAgency.get(r.agency) ?? new Map<number, number>();
        days.set(Number(r.day), Number(r.online) / Math.max(1, Number(r.total)));
        byAgency.set(r.agency, days);
      }
      return byAgency;
    },
    async prune(minutesBefore, samplesBefore, writersBeforeMs) {
      await db.query("delete from scoreboard_minutes where minute < $1", [minutesBefore]);
      await db.query("delete from scoreboard_status where minute < $1", [samplesBefore]);
      await db.query("delete from scoreboard_writers where seen_at < $1", [writersBeforeMs]);
    },
  };
}
