// The embedded database: PGlite (PostgreSQL compiled to WebAssembly) in a local folder, inside this process,
// on a thread of its own (database-pglite-worker.ts). It runs the same SQL as the shared server. One process
// at a time may open a folder: a lock file says who holds it, and a second process is refused with a message
// naming the holder rather than corrupting it.
import { closeSync, mkdirSync, openSync, readFileSync, rmSync, writeSync } from "node:fs";
import { join } from "node:path";
import { Worker } from "node:worker_threads";
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

/** What the database's thread starts with. */
export interface DatabaseThreadData {
  /** PGlite's data folder. */
  readonly pgdata: string;
  readonly schema: string;
}

/** An error crossing from the database's thread: its message, and PostgreSQL's SQLSTATE code when it has one. */
export interface ThreadError {
  readonly message: string;
  readonly code?: string;
}

/** Messages to the database's thread; `id` is answered by a `result` or an `error` with the same id. */
export type ToDatabaseThread =
  /** A statement, in transaction `tx` if given. */
  | { readonly type: "query"; readonly id: number; readonly sql: string; readonly params: unknown[]; readonly tx?: number }
  /** Opens a transaction: answered by `began`. */
  | { readonly type: "begin"; readonly id: number }
  /** Commits or rolls back transaction `tx`: answered by `ended`. */
  | { readonly type: "end"; readonly tx: number; readonly commit: boolean }
  /** Listens on `channel`; its notifications come as `notify` with this id as `listener`. */
  | { readonly type: "listen"; readonly id: number; readonly channel: string }
  | { readonly type: "unlisten"; readonly id: number; readonly listener: number }
  | { readonly type: "close"; readonly id: number };

/** Messages from the database's thread. */
export type FromDatabaseThread =
  | { readonly type: "ready" }
  | { readonly type: "failed"; readonly error: ThreadError }
  | { readonly type: "result"; readonly id: number; readonly rows: Record<string, unknown>[]; readonly rowCount: number }
  | { readonly type: "error"; readonly id: number; readonly error: ThreadError }
  | { readonly type: "began"; readonly id: number; readonly tx: number }
  | { readonly type: "ended"; readonly tx: number; readonly error?: ThreadError }
  | { readonly type: "notify"; readonly listener: number; readonly payload: string };

const WORKER_URL = new URL("./database-pglite-worker.ts", import.meta.url);
/** Pause before a stopped database thread is started again, doubling while it keeps failing, up to the second. */
const RESTART_FIRST_MS = 200;
const RESTART_MAX_MS = 30_000;

/** The error a statement failed with on the database's thread, as PostgreSQL's clients give it: message and code. */
function threadError(error: ThreadError): Error {
  return Object.assign(new Error(error.message), error.code === undefined ? {} : { code: error.code });
}

/** The database thread's young generation (MiB); see openPgliteDatabase. */
const THREAD_YOUNG_GENERATION_MIB = 16;

export interface PgliteOptions {
  readonly dataDir: string;
  readonly schema: string;
  /**
   * The most JavaScript heap (MiB) the database's thread may use, for the rows of the statements under way;
   * a statement whose result would not fit stops the thread, which is started again, rather than the
   * gateway. Default 512.
   */
  readonly threadHeapMib?: number;
}

export async function openPgliteDatabase(options: PgliteOptions): Promise<Database> {
  const { dataDir, schema } = options;
  // The young generation is bounded too: left to itself, V8 grows it under steady load (8, 32, 64, then
  // 128 MiB after a quarter of an hour at 300 inquiries/s) and keeps the pages, so the gateway's memory
  // steps up for half an hour. The thread's objects are short-lived (messages and rows): 16 MiB cost it no
  // CPU that could be measured.
  const resourceLimits = {
    maxOldGenerationSizeMb: options.threadHeapMib ?? 512,
    maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MIB,
  };
  mkdirSync(dataDir, { recursive: true });
  const unlock = lockFolder(dataDir);
  const data: DatabaseThreadData = { pgdata: join(dataDir, "pgdata"), schema };
  let calls = 0;
  const waiting = new Map<number, { resolve(message: FromDatabaseThread): void; reject(error: Error): void }>();
  const ending = new Map<number, { resolve(): void; reject(error: Error): void }>();
  const listeners = new Map<number, { readonly channel: string; onNotify(payload: string): void; onReconnect?: () => void }>();
  /** Why the database cannot be reached now (its thread stopped and is not back yet), or undefined. */
  let down: Error | undefined;
  let closed = false;
  let restarts = 0;
  let restartTimer: NodeJS.Timeout | undefined;

  function answer(message: FromDatabaseThread): void {
    switch (message.type) {
      case "notify":
        listeners.get(message.listener)?.onNotify(message.payload);
        return;
      case "ended": {
        const end = ending.get(message.tx);
        ending.delete(message.tx);
        if (message.error === undefined) end?.resolve();
        else end?.reject(threadError(message.error));
        return;
      }
      case "result":
      case "error":
      case "began": {
        const call = waiting.get(message.id);
        waiting.delete(message.id);
        if (message.type === "error") call?.reject(threadError(message.error));
        else call?.resolve(message);
        return;
      }
    }
  }

  /**
   * Starts PGlite on a thread of its own: a transaction (an audit index batch, a registry change) then never
   * holds the thread that answers inquiries, and its CPU is not taken from it. Resolves once it is open.
   */
  function startThread(): Promise<Worker> {
    const thread = new Worker(WORKER_URL, { workerData: data, resourceLimits });
    return new Promise<Worker>((resolve, reject) => {
      let ready = false;
      thread.on("message", (message: FromDatabaseThread) => {
        if (message.type === "ready") {
          ready = true;
          resolve(thread);
        } else if (message.type === "failed") {
          reject(new DatabaseError(`the embedded database in ${dataDir} cannot be opened: ${message.error.message}`));
          void thread.terminate();
        } else answer(message);
      });
      // A thread that stops takes every open call with it; it is started again unless the database is closing.
      const stopped = (error: Error): void => {
        if (!ready) {
          reject(new DatabaseError(`the embedded database in ${dataDir} cannot be opened: ${error.message}`));
          return;
        }
        ready = false;
        if (thread !== worker) return;
        down ??= new DatabaseError(`the embedded database's thread stopped (${error.message}); it is being started again`);
        for (const pending of [...waiting.values(), ...ending.values()]) pending.reject(down);
        waiting.clear();
        ending.clear();
        if (!closed) restartLater();
      };
      thread.on("error", stopped);
      thread.on("exit", (code) => stopped(new Error(`exit code ${code}`)));
    });
  }

  /** Starts the thread again after a pause that grows while it keeps failing; listeners listen again. */
  function restartLater(): void {
    const delay = Math.min(RESTART_MAX_MS, RESTART_FIRST_MS * 2 ** Math.min(restarts, 10));
    restarts += 1;
    restartTimer = setTimeout(() => {
      restartTimer = undefined;
      startThread().then(
        async (thread) => {
          if (closed) {
            await thread.terminate();
            return;
          }
          worker = thread;
          down = undefined;
          restarts = 0;
          for (const [id, listener] of listeners) {
            await call({ type: "listen", id, channel: listener.channel }).catch(() => undefined);
            // Notifications sent while the thread was down are lost: the listener re-reads what it follows.
            listener.onReconnect?.();
          }
        },
        () => {
          if (!closed) restartLater();
        },
      );
    }, delay);
  }

  let worker: Worker;
  try {
    worker = await startThread();
  } catch (error) {
    unlock();
    throw error;
  }

  function call(message: ToDatabaseThread & { readonly id: number }): Promise<FromDatabaseThread> {
    if (down !== undefined) return Promise.reject(down);
    return new Promise((resolve, reject) => {
      try {
        worker.postMessage(message);
      } catch (error) {
        // A parameter that cannot cross to the database's thread (a function, say) fails this call only.
        reject(new DatabaseError(`the statement's parameters cannot be passed to the embedded database: ${(error as Error).message}`));
        return;
      }
      waiting.set(message.id, { resolve, reject });
    });
  }

  function queryable(tx?: number): Queryable {
    return {
      async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
        const answer = await call({ type: "query", id: ++calls, sql, params: [...params], ...(tx === undefined ? {} : { tx }) });
        if (answer.type !== "result") throw new DatabaseError(`the embedded database answered '${answer.type}' to a query`);
        return { rows: answer.rows as R[], rowCount: answer.rowCount };
      },
    };
  }

  function end(tx: number, commit: boolean): Promise<void> {
    if (down !== undefined) return Promise.reject(down);
    return new Promise((resolve, reject) => {
      ending.set(tx, { resolve, reject });
      worker.postMessage({ type: "end", tx, commit } satisfies ToDatabaseThread);
    });
  }

  const base = queryable();
  const db: Database = {
    kind: "pglite",
    location: dataDir,
    schema,
    query: (sql, params) => base.query(sql, params),
    async transaction(body) {
      const began = await call({ type: "begin", id: ++calls });
      if (began.type !== "began") throw new DatabaseError(`the embedded database answered '${began.type}' to a transaction`);
      let result: Awaited<ReturnType<typeof body>>;
      try {
        result = await body(queryable(began.tx));
      } catch (error) {
        await end(began.tx, false).catch(() => undefined);
        throw error;
      }
      await end(began.tx, true);
      return result;
    },
    migrate: (room, migrations) => applyMigrations(db, room, migrations),
    async listen(channel, onNotify, onReconnect) {
      const id = ++calls;
      const scoped = scopedChannel(schema, channel);
      listeners.set(id, { channel: scoped, onNotify, ...(onReconnect === undefined ? {} : { onReconnect }) });
      try {
        await call({ type: "listen", id, channel: scoped });
      } catch (error) {
        listeners.delete(id);
        throw error;
      }
      return async () => {
        listeners.delete(id);
        if (!closed && down === undefined) await call({ type: "unlisten", id: ++calls, listener: id });
      };
    },
    async notify(channel, payload, tx) {
      await (tx ?? base).query("select pg_notify($1, $2)", [scopedChannel(schema, channel), payload]);
    },
    reachable: () => !closed && down === undefined,
    threadHeap: () => (closed || down !== undefined ? Promise.resolve(undefined) : worker.getHeapStatistics().catch(() => undefined)),
    async close() {
      if (closed) return;
      closed = true;
      clearTimeout(restartTimer);
      try {
        if (down === undefined) await call({ type: "close", id: ++calls });
      } finally {
        await worker.terminate();
        unlock();
      }
    },
  };
  return db;
}
