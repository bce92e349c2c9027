// The database both kinds share: the embedded PGlite folder and a real PostgreSQL server run the same
// migrations and SQL, deliver notifications, roll back failed transactions, and fail clearly when they
// cannot work. PostgreSQL's listener comes back by itself after its connection is killed.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { type Database, DatabaseError, type Migration } from "../../registry/database.ts";
import { openDatabase } from "../../registry/database-open.ts";
import { openPgliteDatabase } from "../../registry/database-pglite.ts";
import { freePort } from "../helpers/gateway-process.ts";
import { adminQuery, dropSchema, TEST_DATABASE_URL, uniqueSchema } from "../helpers/postgres.ts";

const MIGRATIONS: Migration[] = [
  { version: 1, sql: "create table things (id integer primary key, name text not null)" },
  { version: 2, sql: "alter table things add column note text" },
];

function waitFor<T>(what: string, check: () => T | undefined, timeoutMs = 5000): Promise<T> {
  const started = Date.now();
  return new Promise((resolve, reject) => {
    const tick = (): void => {
      const value = check();
      if (value !== undefined) resolve(value);
      else if (Date.now() - started > timeoutMs) reject(new Error(`timed out waiting for ${what}`));
      else setTimeout(tick, 20);
    };
    tick();
  });
}

const schemas: string[] = [];
afterAll(async () => {
  for (const schema of schemas) await dropSchema(schema);
});

async function open(kind: "pglite" | "postgres"): Promise<Database> {
  const schema = uniqueSchema("db");
  if (kind === "postgres") schemas.push(schema);
  const dataDir = await mkdtemp(join(tmpdir(), "estelam-db-"));
  return openDatabase({ url: kind === "postgres" ? TEST_DATABASE_URL : undefined, dataDir, schema });
}

describe.each(["pglite", "postgres"] as const)("%s", (kind) => {
  it("applies each migration once, in its own schema", async () => {
    const db = await open(kind);
    try {
      await db.migrate("things", MIGRATIONS);
      await db.migrate("things", MIGRATIONS);
      await db.query("insert into things (id, name, note) values ($1, $2, $3)", [1, "یک", "first"]);
      const rows = await db.query<{ name: string; note: string }>("select name, note from things");
      expect(rows.rows).toEqual([{ name: "یک", note: "first" }]);
      const applied = await db.query<{ version: number }>("select version from schema_migrations where room = 'things' order by version");
      expect(applied.rows.map((r) => Number(r.version))).toEqual([1, 2]);
      const where = await db.query<{ schema: string }>("select current_schema() as schema");
      expect(where.rows[0]?.schema).toBe(db.schema);
    } finally {
      await db.close();
    }
  });

  it("rolls a failed transaction back whole", async () => {
    const db = await open(kind);
    try {
      await db.migrate("things", MIGRATIONS);
      await expect(
        db.transaction(async (tx) => {
          await tx.query("insert into things (id, name) values (1, 'kept?')");
          await tx.query("insert into things (id, name) values (1, 'duplicate')");
        }),
      ).rejects.toThrow();
      expect((await db.query("select * from things")).rows).toEqual([]);
      const committed = await db.transaction(async (tx) => (await tx.query("insert into things (id, name) values (2, 'two')")).rowCount);
      expect(committed).toBe(1);
    } finally {
      await db.close();
    }
  });

  it("delivers a notification sent in a transaction once it commits, and none after unlisten", async () => {
    const db = await open(kind);
    const heard: string[] = [];
    try {
      const unlisten = await db.listen("revisions", (payload) => heard.push(payload));
      await db.transaction(async (tx) => {
        await db.notify("revisions", "r1", tx);
        await tx.query("select 1");
      });
      await db.notify("revisions", "r2");
      await waitFor("two notifications", () => (heard.length >= 2 ? true : undefined));
      expect(heard).toEqual(["r1", "r2"]);
      await unlisten();
      await db.notify("revisions", "r3");
      await new Promise((r) => setTimeout(r, 200));
      expect(heard).toEqual(["r1", "r2"]);
    } finally {
      await db.close();
    }
  });

  it("refuses a schema name that is not a plain identifier", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "estelam-db-"));
    await expect(
      openDatabase({ url: kind === "postgres" ? TEST_DATABASE_URL : undefined, dataDir, schema: "x; drop table y" }),
    ).rejects.toThrow(DatabaseError);
  });
});

describe("postgres", () => {
  it("lets several instances migrate at once, each migration applied once", async () => {
    const schema = uniqueSchema("db");
    schemas.push(schema);
    const dataDir = await mkdtemp(join(tmpdir(), "estelam-db-"));
    const dbs = await Promise.all([1, 2, 3].map(() => openDatabase({ url: TEST_DATABASE_URL, dataDir, schema })));
    try {
      await Promise.all(dbs.map((db) => db.migrate("things", MIGRATIONS)));
      const applied = await dbs[0]!.query<{ n: string }>("select count(*) as n from schema_migrations where room = 'things'");
      expect(Number(applied.rows[0]?.n)).toBe(2);
    } finally {
      await Promise.all(dbs.map((db) => db.close()));
    }
  });

  it("carries a notification from one instance to another", async () => {
    const schema = uniqueSchema("db");
    schemas.push(schema);
    const dataDir = await mkdtemp(join(tmpdir(), "estelam-db-"));
    const [a, b] = await Promise.all([1, 2].map(() => openDatabase({ url: TEST_DATABASE_URL, dataDir, schema })));
    const heard: string[] = [];
    try {
      await b!.listen("revisions", (payload) => heard.push(payload));
      await a!.notify("revisions", "7");
      await waitFor("the notification", () => (heard.length > 0 ? true : undefined));
      expect(heard).toEqual(["7"]);
    } finally {
      await a!.close();
      await b!.close();
    }
  });

  it("listens again by itself after its connection is killed, and says so", async () => {
    const db = await open("postgres");
    const heard: string[] = [];
    let reconnects = 0;
    try {
      await db.listen(
        "revisions",
        (payload) => heard.push(payload),
        () => reconnects++,
      );
      const killed = await adminQuery<{ ok: boolean }>(
        "select pg_terminate_backend(pid) as ok from pg_stat_activity where application_name = 'estelam' and query ilike $1",
        [`listen "${db.schema}__revisions"`],
      );
      expect(killed.length).toBeGreaterThan(0);
      await waitFor("the listener to come back", () => (reconnects > 0 ? true : undefined), 10_000);
      await db.notify("revisions", "after");
      await waitFor("the notification after reconnecting", () => (heard.includes("after") ? true : undefined));
    } finally {
      await db.close();
    }
  });

  it("fails at once with a clear message when the server cannot be reached, without showing the password", async () => {
    const port = await freePort();
    const dataDir = await mkdtemp(join(tmpdir(), "estelam-db-"));
    const started = Date.now();
    const attempt = openDatabase({ url: `postgres://estelam:s3cret@127.0.0.1:${port}/test`, dataDir, schema: "estelam" });
    await expect(attempt).rejects.toThrow(DatabaseError);
    await attempt.catch((error: Error) => {
      expect(error.message).toContain(`127.0.0.1:${port}`);
      expect(error.message).not.toContain("s3cret");
    });
    expect(Date.now() - started).toBeLessThan(5000);
  });
});

describe("pglite", () => {
  it("refuses a second opening of a folder in use, naming the process that holds it, and opens again once closed", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "estelam-db-"));
    const first = await openDatabase({ dataDir });
    await expect(openDatabase({ dataDir })).rejects.toThrow(`in use by process ${process.pid}`);
    await first.query("create table kept (x integer)");
    await first.query("insert into kept values (42)");
    await first.close();
    const again = await openDatabase({ dataDir });
    try {
      expect((await again.query<{ x: number }>("select x from kept")).rows).toEqual([{ x: 42 }]);
    } finally {
      await again.close();
    }
  });

  it("runs a long statement and a long transaction without holding the caller's thread", async () => {
    const db = await openDatabase({ dataDir: await mkdtemp(join(tmpdir(), "estelam-db-")) });
    // The caller's event loop, watched by a 1 ms timer: its longest gap while the database works.
    let last = performance.now();
    let longestGap = 0;
    const watch = setInterval(() => {
      const now = performance.now();
      longestGap = Math.max(longestGap, now - last);
      last = now;
    }, 1);
    try {
      const started = performance.now();
      await db.query("select count(*) from generate_series(1, 3000000)");
      await db.transaction(async (tx) => {
        await tx.query("create table filled (n integer primary key, s text)");
        await tx.query("insert into filled select n, md5(n::text) from generate_series(1, 100000) as n");
      });
      const worked = performance.now() - started;
      // The timer measures a gap when it next runs.
      await new Promise((resolve) => setTimeout(resolve, 20));
      expect((await db.query<{ n: number }>("select count(*)::int as n from filled")).rows).toEqual([{ n: 100_000 }]);
      // The work took long enough that, on the caller's thread, it would have been one long gap.
      expect(worked).toBeGreaterThan(200);
      expect(longestGap).toBeLessThan(Math.min(100, worked / 2));
    } finally {
      clearInterval(watch);
      await db.close();
    }
  });

  it("a statement whose rows overflow the database thread's heap stops that thread only: it starts again with the data kept", async () => {
    // A small heap, so that a few hundred megabytes of rows overflow it quickly.
    const db = await openPgliteDatabase({ dataDir: await mkdtemp(join(tmpdir(), "estelam-db-")), schema: "estelam", threadHeapMib: 64 });
    try {
      await db.query("create table kept (x integer)");
      await db.query("insert into kept values (42)");
      const heard: string[] = [];
      let reconnects = 0;
      await db.listen(
        "news",
        (payload) => heard.push(payload),
        () => {
          reconnects += 1;
        },
      );
      const huge = db.query("select n, repeat('x', 1000) as s from generate_series(1, 300000) as n");
      await expect(huge).rejects.toThrow(/the embedded database's thread stopped \(.*memory.*\); it is being started again/);
      // Until it is back, calls fail at once with the same reason, and the database says it is unreachable.
      expect(db.reachable()).toBe(false);
      await expect(db.query("select 1")).rejects.toThrow("it is being started again");
      await waitFor("the database thread to start again", () => (db.reachable() && reconnects === 1 ? true : undefined));
      expect((await db.query<{ x: number }>("select x from kept")).rows).toEqual([{ x: 42 }]);
      await db.notify("news", "after the restart");
      await waitFor("the notification", () => (heard.includes("after the restart") ? true : undefined));
    } finally {
      await db.close();
    }
  });

  it("a transaction cut off by the database thread stopping is rolled back: none of its writes are there after the restart", async () => {
    const db = await openPgliteDatabase({ dataDir: await mkdtemp(join(tmpdir(), "estelam-db-")), schema: "estelam", threadHeapMib: 64 });
    try {
      await db.query("create table ledger (x integer)");
      await db.query("insert into ledger values (1)");
      const cutOff = db.transaction(async (tx) => {
        await tx.query("insert into ledger values (2), (3)");
        await tx.query("select n, repeat('x', 1000) as s from generate_series(1, 300000) as n");
      });
      await expect(cutOff).rejects.toThrow("it is being started again");
      await waitFor("the database thread to start again", () => (db.reachable() ? true : undefined));
      expect((await db.query<{ x: number }>("select x from ledger order by x")).rows).toEqual([{ x: 1 }]);
      // And a transaction after the restart commits as usual.
      await db.transaction((tx) => tx.query("insert into ledger values (4)"));
      expect((await db.query<{ n: number }>("select count(*)::int as n from ledger")).rows).toEqual([{ n: 2 }]);
    } finally {
      await db.close();
    }
  });

  it("closes at once while its thread is down, and leaves the folder for the next opening with the data kept", async () => {
    const dataDir = await mkdtemp(join(tmpdir(), "estelam-db-"));
    const db = await openPgliteDatabase({ dataDir, schema: "estelam", threadHeapMib: 64 });
    await db.query("create table kept (x integer)");
    await db.query("insert into kept values (7)");
    await expect(db.query("select n, repeat('x', 1000) as s from generate_series(1, 300000) as n")).rejects.toThrow(
      "it is being started again",
    );
    expect(db.reachable()).toBe(false);
    await db.close();
    expect(db.reachable()).toBe(false);
    // No thread is started again after the close: the folder's lock is free for the next opening.
    const again = await openPgliteDatabase({ dataDir, schema: "estelam" });
    try {
      expect((await again.query<{ x: number }>("select x from kept")).rows).toEqual([{ x: 7 }]);
    } finally {
      await again.close();
    }
  });

  it("refuses a parameter that cannot reach the database's thread, and goes on answering", async () => {
    const db = await openDatabase({ dataDir: await mkdtemp(join(tmpdir(), "estelam-db-")) });
    try {
      await expect(db.query("select $1::text as t", [() => "a function"])).rejects.toThrow(
        "the statement's parameters cannot be passed to the embedded database",
      );
      expect((await db.query<{ t: string }>("select $1::text as t", ["text"])).rows).toEqual([{ t: "text" }]);
    } finally {
      await db.close();
    }
  });
});
