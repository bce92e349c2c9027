// The embedded database: PGlite (PostgreSQL compiled to WebAssembly) in a local folder, inside this process.
// It runs the same SQL as the shared server. One process at a time may open a folder: a lock file says who
// holds it, and a second process is refused with a message naming the holder rather than corrupting it.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { PGlite } from "@electric-sql/pglite";
import { applyMigrations, type Database, DatabaseError, type Queryable, type QueryResult, scopedChannel } from "./database.ts";

const LOCK_FILE = "estelam.lock";

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === "EPERM";
  }
}

/** Takes the folder's lock file, or throws naming the live process that holds it. A dead holder's lock is taken over. */
function lockFolder(dataDir: string): () => void {
  const path = join(dataDir, LOCK_FILE);
  for (let attempt = 0; attempt < 2; attempt++) {
    try {
      const fd = openSync(path, "wx");
      writeSync(fd, String(process.pid));
      closeSync(fd);
      return () => rmSync(path, { force: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      const holder = Number(readFileSync(path, "utf8").trim());
      if (Number.isInteger(holder) && holder > 0 && pidAlive(holder)) {
        throw new DatabaseError(
          `the embedded database in ${dataDir} is in use by process ${holder}; stop it, or give every process a PostgreSQL server (ESTELAM_DATABASE_URL)`,
        );
      }
      rmSync(path, { force: true });
    }
  }
  throw new DatabaseError(`the embedded database in ${dataDir} could not be locked`);
}

function wrap(q: Pick<PGlite, "query">): Queryable {
  return {
    async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const result = await q.query<R>(sql, [...params]);
      return { rows: result.rows, rowCount: result.affectedRows ?? result.rows.length };
    },
  };
}

export async function openPgliteDatabase(options: { readonly dataDir: string; readonly schema: string }): Promise<Database> {
  const { dataDir, schema } = options;
  mkdirSync(dataDir, { recursive: true });
  const unlock = lockFolder(dataDir);
  let pg: PGlite;
  try {
    pg = await PGlite.create(join(dataDir, "pgdata"));
    // One session serves every query here, so the search path set once holds for all of them.
    await pg.exec(`create schema if not exists ${schema}; set search_path to ${schema}`);
  } catch (error) {
    unlock();
    if (error instanceof DatabaseError) throw error;
    throw new DatabaseError(`the embedded database in ${dataDir} cannot be opened: ${(error as Error).message}`, { cause: error });
  }
  const base = wrap(pg);
  let closed = false;

  const db: Database = {
    kind: "pglite",
    location: dataDir,
    schema,
    query: (sql, params) => base.query(sql, params),
    transaction: (body) => pg.transaction((tx) => body(wrap(tx))),
    migrate: (room, migrations) => applyMigrations(db, room, migrations),
    async listen(channel, onNotify) {
      const unlisten = await pg.listen(scopedChannel(schema, channel), onNotify);
      return async () => {
        if (!closed) await unlisten();
      };
    },
    async notify(channel, payload, tx) {
      await (tx ?? base).query("select pg_notify($1, $2)", [scopedChannel(schema, channel), payload]);
    },
    reachable: () => !closed,
    async close() {
      if (closed) return;
      closed = true;
      await pg.close();
      unlock();
    },
  };
  return db;
}
