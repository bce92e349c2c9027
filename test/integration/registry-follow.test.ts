// An instance follows the revisions other instances write: a notification that arrives while this instance is
// already re-reading the store is not lost, even when that re-read asked for the newest revision number just
// before the notified revision committed. (Otherwise the instance would serve the old revision until its next
// timed re-read, minutes with a long ESTELAM_REGISTRY_REFRESH_MS.) Real PostgreSQL, two instances.
import { resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { builtInConnectorKinds } from "../../connectors/kinds.ts";
import type { Database } from "../../registry/database.ts";
import { openDatabase } from "../../registry/database-open.ts";
import { createDatabaseRegistryStore } from "../../registry/database-store.ts";
import { readDocuments } from "../../registry/documents.ts";
import { createRegistry, type Registry } from "../../registry/registry.ts";
import type { RegistryStore } from "../../registry/store.ts";
import { dropSchema, TEST_DATABASE_URL, uniqueSchema } from "../helpers/postgres.ts";

const DEMO = resolve(import.meta.dirname, "../../registry/catalogues/demo");
const NEZAM = resolve(import.meta.dirname, "../../registry/catalogues/examples/nezam-military-service.yaml");
const vars = { DEMO_AGENCIES_URL: "http://127.0.0.1:9" };
const change = { actor: { agency: "estelam", credential: "test-admin" }, message: "add nezam", dryRun: false, expectedRevision: 0 };

/** Holds the next newest-revision read after it returned, until released; says when a notification came. */
function heldStore(store: RegistryStore) {
  let gate: { reached: () => void; release: Promise<void> } | undefined;
  let notified: (() => void) | undefined;
  const wrapped: RegistryStore = {
    kind: store.kind,
    location: store.location,
    async headRevision() {
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

const schema = uniqueSchema("follow");
const opened: Database[] = [];
const registries: Registry[] = [];
afterAll(async () => {
  for (const r of registries) await r.close();
  for (const db of opened) await db.close();
  await dropSchema(schema);
});

async function instance(name: string, wrap?: (store: RegistryStore) => RegistryStore): Promise<Registry> {
  const db = await openDatabase({ url: TEST_DATABASE_URL, dataDir: "", schema });
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
  });
  registries.push(registry);
  return registry;
}

describe("following another instance's revisions", () => {
  it("serves a revision notified while a re-read that missed it was running", async () => {
    let held: ReturnType<typeof heldStore> | undefined;
    const a = await instance("a", (store) => {
      held = heldStore(store);
      return held.store;
    });
    const b = await instance("b");
    if (held === undefined) throw new Error("instance a was not wrapped");
    expect(a.status().revision).toBe(1);
    expect(b.status().revision).toBe(1);

    // A re-read on A reads the newest revision number (1) and is held before it compares it.
    const hold = held.holdNextRead();
    const reread = a.refresh();
    await hold.reached;

    // Meanwhile B writes revision 2, and A hears of it.
    const notified = held.nextNotification();
    const nezam = await readDocuments(NEZAM);
    expect(nezam.problems).toEqual([]);
    const outcome = await b.apply(nezam.documents, false, change);
    expect(outcome).toMatchObject({ result: "applied", revision: 2 });
    await notified;

    hold.release();
    await reread;
    await expect.poll(() => a.status().revision, { timeout: 2000, interval: 10 }).toBe(2);
    expect(a.current().inquiryTypes.has("nezam.military-service-status.v1")).toBe(true);
  });
});
