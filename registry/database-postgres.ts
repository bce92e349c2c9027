// The shared database: a PostgreSQL server, for several gateway instances (node-postgres). Queries go through
// a small pool with client-side timeouts, so a frozen server slows the admin path down but never hangs it;
// notifications come through one dedicated connection that reconnects by itself and tells its listeners
// when it did, so they can catch up on what they missed.
import pg from "pg";
import { applyMigrations, type Database, DatabaseError, type Queryable, type QueryResult, scopedChannel } from "./database.ts";

const RECONNECT_MIN_MS = 250;
const RECONNECT_MAX_MS = 5_000;
// The listening connection is idle: a network that drops it silently (a NAT or firewall forgetting the flow)
// raises no error, and notifications simply stop. A query every few seconds, with its own time-out, finds out.
const HEARTBEAT_MS = 5_000;
const HEARTBEAT_TIMEOUT_MS = 5_000;

/** The server's URL without its password, for messages and logs. */
function withoutPassword(url: string): string {
  try {
    const u = new URL(url);
    if (u.password !== "") u.password = "***";
    return u.href;
  } catch {
    return "postgres://(unparseable URL)";
  }
}

/** Errors of reaching the server (as opposed to errors in a statement). */
function connectionTrouble(error: unknown): boolean {
  const code = (error as { code?: unknown }).code;
  if (typeof code === "string" && (code.startsWith("08") || code === "57P01" || code === "57P03" || code.startsWith("E"))) return true;
  const message = error instanceof Error ? error.message : "";
  return /timeout|terminated|ECONNREFUSED|ECONNRESET|Connection terminated|not queryable/i.test(message);
}

function wrap(client: Pick<pg.PoolClient, "query">): Queryable {
  return {
    async query<R extends object>(sql: string, params: readonly unknown[] = []): Promise<QueryResult<R>> {
      const result = await client.query<R & pg.QueryResultRow>(sql, [...params]);
      return { rows: result.rows, rowCount: result.rowCount ?? result.rows.length };
    },
  };
}

/** Ends a connection whose events no longer matter (a late error from it is ignored). */
async function discard(client: pg.Client): Promise<void> {
  client.removeAllListeners();
  client.on("error", () => undefined);
  await client.end().catch(() => undefined);
}

export async function openPostgresDatabase(options: { readonly url: string; readonly schema: string }): Promise<Database> {
  const { url, schema } = options;
  const location = withoutPassword(url);
  const clientConfig = {
    connectionString: url,
    application_name: "estelam",
    connectionTimeoutMillis: 3_000,
    query_timeout: 15_000,
    keepAlive: true,
    keepAliveInitialDelayMillis: 10_000,
    // Every connection starts in the deployment's schema.
    options: `-c search_path=${schema}`,
  };
  const pool = new pg.Pool({ ...clientConfig, max: 8, idleTimeoutMillis: 30_000 });
  let reachable = true;
  // An idle connection the server drops must not take the process down; the next query reconnects.
  pool.on("error", () => {
    reachable = false;
  });

  const track = async <T>(work: () => Promise<T>): Promise<T> => {
    try {
      const result = await work();
      reachable = true;
      return result;
    } catch (error) {
      if (connectionTrouble(error)) reachable = false;
      throw error;
    }
  };

  try {
    await pool.query(`create schema if not exists ${schema}`);
  } catch (error) {
    // Two instances creating the schema at once: the loser sees a duplicate, which is fine.
    const code = (error as { code?: unknown }).code;
    if (code !== "23505" && code !== "42P06") {
      await pool.end().catch(() => undefined);
      throw new DatabaseError(`the database at ${location} cannot be reached: ${(error as Error).message}`, { cause: error });
    }
  }

  // Notifications: one connection, every channel, reconnected with backoff.
  const channels = new Map<string, Set<(payload: string) => void>>();
  const reconnectListeners = new Set<() => void>();
  let listener: pg.Client | undefined;
  let connecting: Promise<void> | undefined;
  let retryTimer: NodeJS.Timeout | undefined;
  let backoff = RECONNECT_MIN_MS;
  let closed = false;

  const connectListener = (): Promise<void> => {
    connecting ??= (async () => {
      const client = new pg.Client(clientConfig);
      let heartbeat: NodeJS.Timeout | undefined;
      const lost = (): void => {
        clearInterval(heartbeat);
        if (listener !== client) return;
        listener = undefined;
        reachable = false;
        void discard(client);
        scheduleReconnect();
      };
      client.on("error", lost);
      client.on("end", lost);
      client.on("notification", (message) => {
        for (const callback of channels.get(message.channel) ?? []) callback(message.payload ?? "");
      });
      try {
        await client.connect();
        for (const channel of channels.keys()) await client.query(`listen "${channel}"`);
      } catch (error) {
        await discard(client);
        throw error;
      }
      if (closed) {
        await discard(client);
        return;
      }
      listener = client;
      reachable = true;
      backoff = RECONNECT_MIN_MS;
      heartbeat = setInterval(() => {
        if (listener !== client) return lost();
        const late = setTimeout(lost, HEARTBEAT_TIMEOUT_MS);
        late.unref();
        client.query("select 1").then(
          () => clearTimeout(late),
          () => {
            clearTimeout(late);
            lost();
          },
        );
      }, HEARTBEAT_MS);
      heartbeat.unref();
    })().finally(() => {
      connecting = undefined;
    });
    return connecting;
  };

  const scheduleReconnect = (): void => {
    if (closed || retryTimer !== undefined) return;
    retryTimer = setTimeout(() => {
      retryTimer = undefined;
      connectListener().then(
        () => {
          for (const callback of reconnectListeners) callback();
        },
        () => {
          backoff = Math.min(RECONNECT_MAX_MS, backoff * 2);
          scheduleReconnect();
        },
      );
    }, backoff);
    retryTimer.unref();
  };

  const db: Database = {
    kind: "postgres",
    location,
    schema,
    query: (sql, params) => track(() => wrap(pool).query(sql, params)),
    transaction: (body) =>
      track(async () => {
        const client = await pool.connect();
        // A checked-out connection has no listener of the pool's: one that drops mid-transaction would throw
        // its error event out of the process. The statement under way fails with it instead.
        let dropped: Error | undefined;
        const onError = (error: Error): void => {
          dropped = error;
        };
        client.on("error", onError);
        try {
          await client.query("begin");
          const result = await body(wrap(client));
          await client.query("commit");
          client.off("error", onError);
          client.release();
          return result;
        } catch (error) {
          if (dropped === undefined) await client.query("rollback").catch(() => undefined);
          client.off("error", onError);
          client.release(dropped ?? (connectionTrouble(error) ? (error as Error) : undefined));
          throw error;
        }
      }),
    migrate: (room, migrations) => applyMigrations(db, room, migrations),
    async listen(channel, onNotify, onReconnect) {
      if (closed) throw new DatabaseError("the database is closed");
      const name = scopedChannel(schema, channel);
      const callbacks = channels.get(name) ?? new Set();
      const first = callbacks.size === 0;
      callbacks.add(onNotify);
      channels.set(name, callbacks);
      if (onReconnect !== undefined) reconnectListeners.add(onReconnect);
      if (listener === undefined) {
        // Unreachable now: the registration stays, listening starts when the server answers again and
        // onReconnect says so. A listener never fails for the server's absence.
        await connectListener().catch(() => scheduleReconnect());
      } else if (first) {
        await listener.query(`listen "${name}"`);
      }
      return async () => {
        callbacks.delete(onNotify);
        if (onReconnect !== undefined) reconnectListeners.delete(onReconnect);
        if (callbacks.size === 0) {
          channels.delete(name);
          await listener?.query(`unlisten "${name}"`).catch(() => undefined);
        }
      };
    },
    async notify(channel, payload, tx) {
      const sql = "select pg_notify($1, $2)";
      const params = [scopedChannel(schema, channel), payload];
      if (tx !== undefined) await tx.query(sql, params);
      else await db.query(sql, params);
    },
    reachable: () => reachable,
    async close() {
      if (closed) return;
      closed = true;
      if (retryTimer !== undefined) clearTimeout(retryTimer);
      // A reconnection under way ends its own connection once it sees the database closed.
      await connecting?.catch(() => undefined);
      const client = listener;
      listener = undefined;
      if (client !== undefined) {
        await discard(client);
      }
      await pool.end().catch(() => undefined);
    },
  };
  return db;
}
