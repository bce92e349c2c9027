// An instance follows the revisions other instances write, whatever the timing: a notification that arrives
// while it is already re-reading the store, a revision written while it starts, a revision it could not serve
// at first (its connections could not be prepared) once the cause clears, and a listening connection the
// network silently stops carrying. Otherwise an instance serves an old revision until its next timed re-read
// (minutes with a long ESTELAM_REGISTRY_REFRESH_MS) or for good. A change this instance commits but cannot
// serve is still reported as made. Real PostgreSQL, several instances; the timed re-read is set to an hour.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { builtInConnectorKinds } from "../../connectors/kinds.ts";
import type { RegistrySnapshot } from "../../registry/catalogue.ts";
import type { Database } from "../../registry/database.ts";
import { openDatabase } from "../../registry/database-open.ts";
import { createDatabaseRegistryStore } from "../../registry/database-store.ts";
import { readDocuments } from "../../registry/documents.ts";
import { createRegistry, type Registry, ReloadError } from "../../registry/registry.ts";
import type { RegistryStore } from "../../registry/store.ts";
import { dropSchema, TEST_DATABASE_URL, uniqueSchema } from "../helpers/postgres.ts";
import { startDatabaseProxy } from "../helpers/tcp-proxy.ts";

const DEMO = resolve(import.meta.dirname, "../../registry/catalogues/demo");
const NEZAM = resolve(import.meta.dirname, "../../registry/catalogues/examples/nezam-military-service.yaml");
const vars = { DEMO_AGENCIES_URL: "http://127.0.0.1:9" };
const change = { actor: { agency: "estelam", credential: "test-admin" }, message: "add nezam", dryRun: false, expectedRevision: 0 };

/** Holds the next newest-revision read after it returned, until released; says when a notification came. */
function heldStore(store: RegistryStore) {
  let gate: { reached: () => void; release: Promise<void> } | undefined;
  let notified: (() => void) | undefined;
  let reads = 0;
  const wrapped: RegistryStore = {
    kind: store.kind,
    location: store.location,
    async headRevision() {
      reads += 1;
      const newest = await store.headRevision();
      const g = gate;
      gate = undefined;
      if (g !== undefined) {
        g.reached();
        await g.release;
      }
      return newest;
    },
    read: (revision) => store.read(revision),
    change: (decide) => store.change(decide),
    history: (limit, before) => store.history(limit, before),
    follow: (onRevision, onReconnect) =>
      store.follow((revision) => {
        onRevision(revision);
        notified?.();
      }, onReconnect),
    reachable: () => store.reachable(),
  };
  return {
    store: wrapped,
    /** How many times the newest revision number was read. */
    reads: () => reads,
    /** Resolves once the next read of the newest revision number has returned; it is handed on at `release()`. */
    holdNextRead(): { reached: Promise<void>; release: () => void } {
      let release = (): void => undefined;
      const released = new Promise<void>((r) => {
        release = r;
      });
      const reached = new Promise<void>((r) => {
        gate = { reached: r, release: released };
      });
      return { reached, release };
    },
    nextNotification(): Promise<void> {
      return new Promise((r) => {
        notified = r;
      });
    },
  };
}

/** A `prepare` that holds the first snapshot `which` picks until `release()`; `reached` once it holds it. */
function heldPreparation(which: (snapshot: RegistrySnapshot) => boolean) {
  let reachedNow = (): void => undefined;
  const reached = new Promise<void>((r) => {
    reachedNow = r;
  });
  let release = (): void => undefined;
  const released = new Promise<void>((r) => {
    release = r;
  });
  let holding = false;
  return {
    reached,
    release: () => release(),
    prepare: async (snapshot: RegistrySnapshot): Promise<void> => {
      if (holding || !which(snapshot)) return;
      holding = true;
      reachedNow();
      await released;
    },
  };
}

const schemas: string[] = [];
const opened: Database[] = [];
const registries: Registry[] = [];
afterAll(async () => {
  for (const r of registries) await r.close();
  for (const db of opened) await db.close();
  for (const schema of schemas) await dropSchema(schema);
});

function freshSchema(): string {
  const schema = uniqueSchema("follow");
  schemas.push(schema);
  return schema;
}

interface InstanceOptions {
  readonly wrap?: (store: RegistryStore) => RegistryStore;
  readonly prepare?: (snapshot: RegistrySnapshot) => Promise<void>;
  readonly retire?: (snapshot: RegistrySnapshot) => void;
  readonly url?: string;
}

async function instance(schema: string, name: string, options: InstanceOptions = {}): Promise<Registry> {
  const { wrap, prepare, retire, url = TEST_DATABASE_URL } = options;
  const db = await openDatabase({ url, dataDir: "", schema });
  opened.push(db);
  const store = await createDatabaseRegistryStore(db);
  const demo = await readDocuments(DEMO);
  const registry = await createRegistry({
    store: wrap === undefined ? store : wrap(store),
    kinds: builtInConnectorKinds(),
    vars,
    instance: name,
    seed: { label: DEMO, documents: demo.documents, problems: demo.problems },
    refreshMs: 3_600_000,
    prepare,
    retire,
  });
  registries.push(registry);
  // Its first re-read (for a revision written while it started) is over before a test holds one.
  await registry.refresh();
  return registry;
}

/** An instance whose store's reads of the newest revision number the test can hold. */
async function heldInstance(schema: string, name: string) {
  let held: ReturnType<typeof heldStore> | undefined;
  const registry = await instance(schema, name, {
    wrap: (store) => {
      held = heldStore(store);
      return held.store;
    },
  });
  if (held === undefined) throw new Error(`instance ${name} was not wrapped`);
  return { registry, held };
}

async function nezamDocuments() {
  const nezam = await readDocuments(NEZAM);
  expect(nezam.problems).toEqual([]);
  return nezam.documents;
}

/** A prepare step that fails while `failing` is true, as when a certificate file is not there yet. */
function flakyPrepare() {
  const state = { failing: false };
  return {
    state,
    prepare: async (): Promise<void> => {
      if (state.failing) throw new Error("certificate file /run/secrets/nezam-ca.pem not found");
    },
  };
}

describe("following another instance's revisions", () => {
  it("serves a revision notified while a re-read that missed it was running", async () => {
    const schema = freshSchema();
    const { registry: a, held } = await heldInstance(schema, "a");
    const b = await instance(schema, "b");
    expect(a.status().revision).toBe(1);
    expect(b.status().revision).toBe(1);

    // A re-read on A reads the newest revision number (1) and is held before it compares it.
    const hold = held.holdNextRead();
    const reread = a.refresh();
    await hold.reached;

    // Meanwhile B writes revision 2, and A hears of it.
    const notified = held.nextNotification();
    const outcome = await b.apply(await nezamDocuments(), false, change);
    expect(outcome).toMatchObject({ result: "applied", revision: 2 });
    await notified;

    hold.release();
    await reread;
    await expect.poll(() => a.status().revision, { timeout: 2000, interval: 10 }).toBe(2);
    expect(a.current().inquiryTypes.has("nezam.military-service-status.v1")).toBe(true);
  });

  it("serves a revision it could not prepare at first once the cause clears, without another revision", async () => {
    const schema = freshSchema();
    const a = await instance(schema, "a");
    const flaky = flakyPrepare();
    const b = await instance(schema, "b", { prepare: flaky.prepare });

    flaky.state.failing = true;
    expect(await a.apply(await nezamDocuments(), false, change)).toMatchObject({ result: "applied", revision: 2 });
    await expect.poll(() => b.status().unservable?.revision, { timeout: 2000, interval: 10 }).toBe(2);
    expect(b.status().unservable?.problems.join()).toContain("nezam-ca.pem not found");
    await b.refresh();
    expect(b.status().revision).toBe(1);

    // The file arrives; the next re-read (timed, or SIGHUP) serves the revision.
    flaky.state.failing = false;
    await b.refresh();
    expect(b.status()).toMatchObject({ revision: 2, unservable: undefined });
  });

  it("reports a change it committed as made even when this instance cannot serve it yet", async () => {
    const schema = freshSchema();
    const flaky = flakyPrepare();
    const a = await instance(schema, "a", { prepare: flaky.prepare });
    const b = await instance(schema, "b");

    flaky.state.failing = true;
    const outcome = await a.apply(await nezamDocuments(), false, change);
    expect(outcome).toMatchObject({ result: "applied", revision: 2 });
    expect(a.status()).toMatchObject({ revision: 1, unservable: { revision: 2 } });
    expect((await a.history(1))[0]?.revision).toBe(2);
    await expect.poll(() => b.status().revision, { timeout: 2000, interval: 10 }).toBe(2);

    flaky.state.failing = false;
    await a.refresh();
    expect(a.status()).toMatchObject({ revision: 2, unservable: undefined });
  });

  it("tells every swap listener of a new revision even when one of them throws", async () => {
    const schema = freshSchema();
    const a = await instance(schema, "a");
    const b = await instance(schema, "b");
    const heard: number[] = [];
    const stopFirst = b.onSwap(() => {
      throw new Error("a watcher whose stream is gone");
    });
    const stopSecond = b.onSwap((_snapshot, record) => heard.push(record.revision));
    try {
      expect(await a.apply(await nezamDocuments(), false, change)).toMatchObject({ result: "applied", revision: 2 });
      await expect.poll(() => heard, { timeout: 2000, interval: 10 }).toEqual([2]);
      expect(b.status()).toMatchObject({ revision: 2, unservable: undefined });
      expect(b.current().inquiryTypes.has("nezam.military-service-status.v1")).toBe(true);
    } finally {
      stopFirst();
      stopSecond();
    }
  });

  it("serves a revision written while it was starting", async () => {
    const schema = freshSchema();
    const a = await instance(schema, "a");
    // B's first revision takes a while to prepare (its connections warm); A writes revision 2 meanwhile.
    const held = heldPreparation(() => true);
    const starting = instance(schema, "b", { prepare: held.prepare });
    await held.reached;
    expect(await a.apply(await nezamDocuments(), false, change)).toMatchObject({ revision: 2 });
    held.release();
    const b = await starting;
    await expect.poll(() => b.status().revision, { timeout: 1000, interval: 10 }).toBe(2);
  });

  it("reads nothing from the store once closed, even with a re-read queued", async () => {
    const schema = freshSchema();
    const { registry: a, held } = await heldInstance(schema, "a");
    const hold = held.holdNextRead();
    const running = a.refresh();
    await hold.reached;
    const queued = a.refresh();
    const closing = a.close();
    const readsAtClose = held.reads();
    hold.release();
    await Promise.all([running, queued, closing]);
    await new Promise((r) => setTimeout(r, 100));
    expect(held.reads()).toBe(readsAtClose);
  });
});

describe("reloading the files of the revision served", () => {
  it("keeps the connections it has when the renewed ones cannot be prepared, and renews them once they can", async () => {
    const dir = mkdtempSync(join(tmpdir(), "estelam-reload-ca-"));
    const caFile = join(dir, "nezam-ca.pem");
    writeFileSync(caFile, "the CA before renewal\n");
    try {
      const flaky = flakyPrepare();
      const a = await instance(freshSchema(), "a", { prepare: flaky.prepare });
      const documents = await nezamDocuments();
      for (const d of documents) {
        const content = d.content as { kind: string; spec: { options?: Record<string, unknown> } };
        if (content.kind === "Endpoint") content.spec.options = { baseUrl: "https://127.0.0.1:9", tls: { caFile } };
      }
      expect(await a.apply(documents, false, change)).toMatchObject({ result: "applied", revision: 2 });
      const before = a.current().endpoints.get("nezam/main")?.connection;
      const untouched = a.current().endpoints.get("nocr/main")?.connection;

      writeFileSync(caFile, "the renewed CA\n");
      flaky.state.failing = true;
      const failure = await a.reload().catch((e: unknown) => e);
      expect(failure).toBeInstanceOf(ReloadError);
      expect((failure as ReloadError).problems).toEqual([expect.stringContaining("could not be prepared")]);
      expect(a.current().endpoints.get("nezam/main")?.connection).toBe(before);
      expect(a.status()).toMatchObject({ revision: 2, unservable: undefined });

      flaky.state.failing = false;
      expect(await a.reload()).toEqual({ revision: 2, renewed: ["nezam/main"] });
      expect(a.current().endpoints.get("nezam/main")?.connection).not.toBe(before);
      expect(a.current().endpoints.get("nocr/main")?.connection).toBe(untouched);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});

describe("closing", () => {
  it("while a new revision's connections are being prepared gives them back and serves nothing new", async () => {
    const schema = freshSchema();
    const a = await instance(schema, "a");
    const held = heldPreparation((snapshot) => snapshot.revision === 2);
    const retired: number[] = [];
    const b = await instance(schema, "b", { prepare: held.prepare, retire: (snapshot) => retired.push(snapshot.revision) });
    expect(await a.apply(await nezamDocuments(), false, change)).toMatchObject({ revision: 2 });
    await held.reached;
    let closed = false;
    const closing = b.close().then(() => {
      closed = true;
    });
    await new Promise((r) => setTimeout(r, 50));
    // Close waits for the preparation under way rather than leaving its connections open behind it.
    expect(closed).toBe(false);
    held.release();
    await closing;
    expect(retired).toEqual([2]);
    expect(b.status().revision).toBe(1);
  });
});

describe("the listening connection", () => {
  it("is found dead and replaced when the network silently stops carrying it", async () => {
    const { proxy, url: viaProxy } = await startDatabaseProxy(TEST_DATABASE_URL);
    const schema = freshSchema();
    const direct = await openDatabase({ url: TEST_DATABASE_URL, dataDir: "", schema });
    const listening = await openDatabase({ url: viaProxy, dataDir: "", schema });
    opened.push(direct, listening);
    try {
      const heard: string[] = [];
      let reconnects = 0;
      await listening.listen(
        "revisions",
        (payload) => heard.push(payload),
        () => {
          reconnects += 1;
        },
      );
      await direct.notify("revisions", "1");
      await expect.poll(() => heard, { timeout: 2000, interval: 10 }).toEqual(["1"]);

      proxy.silence();
      await direct.notify("revisions", "2");
      // The heartbeat (every 5 s, 5 s to answer) finds the connection dead and listens again on a new one;
      // what was sent meanwhile is lost, which onReconnect tells the listener, and what is sent next arrives.
      await expect.poll(() => reconnects, { timeout: 15_000, interval: 50 }).toBe(1);
      expect(heard).toEqual(["1"]);
      await direct.notify("revisions", "3");
      await expect.poll(() => heard, { timeout: 2000, interval: 10 }).toEqual(["1", "3"]);
    } finally {
      await proxy.close();
    }
  }, 30_000);

  it("is given up at once when the database closes while it is being reconnected", async () => {
    const { proxy, url: viaProxy } = await startDatabaseProxy(TEST_DATABASE_URL);
    const listening = await openDatabase({ url: viaProxy, dataDir: "", schema: freshSchema() });
    try {
      let reconnects = 0;
      await listening.listen(
        "revisions",
        () => undefined,
        () => {
          reconnects += 1;
        },
      );
      // The connection drops; the reconnection that follows reaches a server that never answers.
      await proxy.cut();
      await proxy.hold();
      await new Promise((r) => setTimeout(r, 500));
      expect(listening.reachable()).toBe(false);
      const started = performance.now();
      await listening.close();
      // Bounded by the connection time-out (3 s), not by the server that never answers.
      expect(performance.now() - started).toBeLessThan(4_000);
      // The server answers again: nothing of the closed database comes back.
      await proxy.restore();
      await new Promise((r) => setTimeout(r, 1_500));
      expect(reconnects).toBe(0);
    } finally {
      await proxy.close();
    }
  }, 30_000);
});
