// Where grant quotas are counted across gateway instances: two tables in the gateway's database (the
// embedded one for a single process, or the PostgreSQL schema several instances share).
//   quota_usage      units of each grant's daily quota taken so far, per day; taken in leases by instances
//   quota_instances  a heartbeat per instance, so each knows how many share the per-second quotas
import type { Database, Migration } from "../registry/database.ts";

export const QUOTA_MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: "create table quota_usage (grant_key text not null, day text not null, used bigint not null, primary key (grant_key, day))",
  },
  {
    version: 2,
    sql: "create table quota_instances (instance text primary key, seen_at timestamptz not null)",
  },
];

/** How long an instance counts as live after its last heartbeat. */
const LIVE_SECONDS = 6;

export interface QuotaStore {
  /**
   * Takes up to `want` units of `limit` for a grant's day, atomically across instances; returns how many it
   * got (0 when the day's quota is used up).
   */
  takeDaily(grantKey: string, day: string, want: number, limit: number): Promise<number>;
  /** Records this instance as live and returns how many instances are live (at least 1). */
  heartbeat(instance: string): Promise<number>;
  /** Removes this instance from the live ones (on stop). */
  leave(instance: string): Promise<void>;
}

export async function createQuotaStore(database: Database): Promise<QuotaStore> {
  await database.migrate("quotas", QUOTA_MIGRATIONS);
  return {
    takeDaily(grantKey, day, want, limit) {
      return database.transaction(async (tx) => {
        await tx.query("insert into quota_usage (grant_key, day, used) values ($1, $2, 0) on conflict do nothing", [grantKey, day]);
        const current = await tx.query<{ used: string | number }>(
          "select used from quota_usage where grant_key = $1 and day = $2 for update",
          [grantKey, day],
        );
        const used = Number(current.rows[0]?.used ?? 0);
        const granted = Math.max(0, Math.min(want, limit - used));
        if (granted > 0)
          await tx.query("update quota_usage set used = used + $3 where grant_key = $1 and day = $2", [grantKey, day, granted]);
        return granted;
      });
    },
    async heartbeat(instance) {
      await database.query(
        "insert into quota_instances (instance, seen_at) values ($1, now()) on conflict (instance) do update set seen_at = now()",
        [instance],
      );
      const live = await database.query<{ n: string | number }>(
        `select count(*) as n from quota_instances where seen_at > now() - interval '${LIVE_SECONDS} seconds'`,
      );
      return Math.max(1, Number(live.rows[0]?.n ?? 1));
    },
    async leave(instance) {
      await database.query("delete from quota_instances where instance = $1", [instance]);
    },
  };
}
