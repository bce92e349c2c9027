// The database extension point: where the registry, and what is kept beside it (the audit index, the
// operators' trends, shared quotas), live. One schema and one set of SQL serve both kinds:
//   - `pglite`: PostgreSQL compiled to WebAssembly, in a local folder, in this process (the embedded default
//     of `npm start`; one process at a time may open a folder);
//   - `postgres`: a PostgreSQL server shared by several gateway instances (registry/database-postgres.ts).
// Every room keeps its tables in the database's schema (`search_path`) and its own numbered migrations;
// notifications are scoped to the schema so two deployments on one server never hear each other.
import type { HeapInfo } from "node:v8";

export interface Queryable {
  /** Runs one statement with `$1`-style parameters. */
  query<R extends object = Record<string, unknown>>(sql: string, params?: readonly unknown[]): Promise<QueryResult<R>>;
}

export interface QueryResult<R> {
  readonly rows: R[];
  /** Rows inserted, updated or deleted, when the statement reports it. */
  readonly rowCount: number;
}

/** One step of a room's schema; applied once, in order, under a lock shared by every instance. */
export interface Migration {
  readonly version: number;
  readonly sql: string;
}

export interface Database extends Queryable {
  readonly kind: "pglite" | "postgres";
  /** Where the data is, for messages: a folder, or the server's URL without its password. */
  readonly location: string;
  /** The PostgreSQL schema every table lives in. */
  readonly schema: string;
  /** Runs `body` in one transaction: committed if it resolves, rolled back if it throws. */
  transaction<T>(body: (tx: Queryable) => Promise<T>): Promise<T>;
  /** Applies the migrations of `room` that are not applied yet. Safe to run from several instances at once. */
  migrate(room: string, migrations: readonly Migration[]): Promise<void>;
  /**
   * Calls `onNotify` for every notification on `channel` (scoped to the schema), until the returned function
   * is called. After a lost connection comes back, `onReconnect` is called: notifications sent meanwhile are
   * lost, so a listener re-reads what it follows. It never fails because the server is away: listening then
   * starts when the server answers again (and `onReconnect` is called).
   */
  listen(channel: string, onNotify: (payload: string) => void, onReconnect?: () => void): Promise<() => Promise<void>>;
  /** Sends a notification on `channel` (scoped to the schema); inside a transaction it is sent on commit. */
  notify(channel: string, payload: string, tx?: Queryable): Promise<void>;
  /** Whether the last contact with the database succeeded. */
  reachable(): boolean;
  /**
   * The JavaScript heap of the thread an embedded database runs on (for the gateway's metrics); absent for a
   * database server, undefined while the thread is being started again.
   */
  threadHeap?(): Promise<HeapInfo | undefined>;
  close(): Promise<void>;
}

export class DatabaseError extends Error {
  override readonly name = "DatabaseError";
}

const SCHEMA = /^[a-z_][a-z0-9_]{0,47}$/;
const CHANNEL = /^[a-z_][a-z0-9_]{0,15}$/;

/** Checks a schema name (it is spliced into SQL, so only a plain lowercase identifier will do). */
export function checkSchemaName(schema: string): string {
  if (!SCHEMA.test(schema)) throw new DatabaseError(`database schema '${schema}' must be a lowercase identifier (a-z, 0-9, _)`);
  return schema;
}

/** The PostgreSQL channel for a room's channel name within a schema. */
export function scopedChannel(schema: string, channel: string): string {
  if (!CHANNEL.test(channel)) throw new DatabaseError(`notification channel '${channel}' must be a short lowercase identifier`);
  return `${schema}__${channel}`;
}

/** The SQL both kinds run to apply migrations: one bookkeeping table, one transaction-scoped lock. */
export async function applyMigrations(
  db: Pick<Database, "transaction" | "schema">,
  room: string,
  migrations: readonly Migration[],
): Promise<void> {
  const sorted = [...migrations].sort((a, b) => a.version - b.version);
  for (const [i, m] of sorted.entries()) {
    if (!Number.isInteger(m.version) || m.version < 1 || (i > 0 && sorted[i - 1]?.version === m.version)) {
      throw new DatabaseError(`migrations of ${room}: versions must be distinct whole numbers from 1`);
    }
  }
  await db.transaction(async (tx) => {
    // One instance at a time migrates; the others wait and then find nothing left to do.
    await tx.query("select pg_advisory_xact_lock(hashtext($1))", [`estelam-migrate:${db.schema}`]);
    await tx.query(
      "create table if not exists schema_migrations (room text not null, version integer not null, applied_at timestamptz not null default now(), primary key (room, version))",
    );
    const done = await tx.query<{ version: number }>("select version from schema_migrations where room = $1", [room]);
    const applied = new Set(done.rows.map((r) => Number(r.version)));
    for (const migration of sorted) {
      if (applied.has(migration.version)) continue;
      await tx.query(migration.sql);
      await tx.query("insert into schema_migrations (room, version) values ($1, $2)", [room, migration.version]);
    }
  });
}
