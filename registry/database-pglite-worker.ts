// The embedded database's thread (started by database-pglite.ts): PGlite itself, answering the queries,
// transactions and notifications the gateway's threads send it by message. Each transaction is one PGlite
// transaction held open until the other side says to commit or roll back; PGlite runs one at a time, so
// queries from outside it wait, as they would in the same thread.

import { parentPort, workerData } from "node:worker_threads";
import { PGlite, type Transaction } from "@electric-sql/pglite";
import type { DatabaseThreadData, FromDatabaseThread, ThreadError, ToDatabaseThread } from "./database-pglite.ts";

const port = parentPort;
if (port === null) throw new Error("database-pglite-worker.ts runs as a worker thread of the gateway");
const data = workerData as DatabaseThreadData;
const send = (message: FromDatabaseThread): void => port.postMessage(message);

/** An error as plain data: its message, and PostgreSQL's SQLSTATE code when it has one. */
function describe(error: unknown): ThreadError {
  const code = (error as { code?: unknown } | undefined)?.code;
  const message = error instanceof Error ? error.message : String(error);
  return typeof code === "string" ? { message, code } : { message };
}

function failure(id: number, error: unknown): FromDatabaseThread {
  return { type: "error", id, error: describe(error) };
}

/** A transaction under way: its PGlite handle, and how to end it (true: commit). */
const open = new Map<number, { readonly tx: Transaction; end(commit: boolean): void }>();
/** Listeners, by the id the other side gave them. */
const unlisteners = new Map<number, () => Promise<void>>();
let transactions = 0;

/** Thrown inside a transaction the other side rolls back, so PGlite rolls it back; not an error. */
const ROLLBACK = Symbol("rollback");

let pg: PGlite;
try {
  pg = await PGlite.create(data.pgdata);
  // One session serves every query here, so the search path set once holds for all of them.
  await pg.exec(`create schema if not exists ${data.schema}; set search_path to ${data.schema}`);
  send({ type: "ready" });
} catch (error) {
  send({ type: "failed", error: describe(error) });
  port.close();
  throw error;
}

function begin(id: number): void {
  const txId = ++transactions;
  let end: (commit: boolean) => void = () => undefined;
  const ended = new Promise<boolean>((resolve) => {
    end = resolve;
  });
  let began = false;
  pg.transaction(async (tx) => {
    began = true;
    open.set(txId, { tx, end });
    send({ type: "began", id, tx: txId });
    const commit = await ended;
    open.delete(txId);
    if (!commit) throw ROLLBACK;
  }).then(
    () => send({ type: "ended", tx: txId }),
    (error: unknown) => {
      // A transaction that could not even begin answers the call that asked for it.
      if (!began) send(failure(id, error));
      else send(error === ROLLBACK ? { type: "ended", tx: txId } : { type: "ended", tx: txId, error: describe(error) });
    },
  );
}

port.on("message", (message: ToDatabaseThread) => {
  switch (message.type) {
    case "query": {
      const target = message.tx === undefined ? pg : open.get(message.tx)?.tx;
      if (target === undefined) {
        send({ type: "error", id: message.id, error: { message: "the transaction has already ended" } });
        return;
      }
      target.query<Record<string, unknown>>(message.sql, message.params).then(
        (result) => send({ type: "result", id: message.id, rows: result.rows, rowCount: result.affectedRows ?? result.rows.length }),
        (error: unknown) => send(failure(message.id, error)),
      );
      return;
    }
    case "begin":
      begin(message.id);
      return;
    case "end":
      open.get(message.tx)?.end(message.commit);
      return;
    case "listen":
      pg.listen(message.channel, (payload) => send({ type: "notify", listener: message.id, payload })).then(
        (unlisten) => {
          unlisteners.set(message.id, unlisten);
          send({ type: "result", id: message.id, rows: [], rowCount: 0 });
        },
        (error: unknown) => send(failure(message.id, error)),
      );
      return;
    case "unlisten": {
      const unlisten = unlisteners.get(message.listener);
      unlisteners.delete(message.listener);
      (unlisten?.() ?? Promise.resolve()).then(
        () => send({ type: "result", id: message.id, rows: [], rowCount: 0 }),
        (error: unknown) => send(failure(message.id, error)),
      );
      return;
    }
    case "close":
      pg.close().then(
        () => {
          send({ type: "result", id: message.id, rows: [], rowCount: 0 });
          port.close();
        },
        (error: unknown) => {
          send(failure(message.id, error));
          port.close();
        },
      );
      return;
  }
});
