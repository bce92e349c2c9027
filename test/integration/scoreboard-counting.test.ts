// The scoreboard's counting against a real (embedded) database, with the clock in the test's hands:
// inquiries counted while a write is under way are written by the next flush, even once their minute is
// over, and a closing scoreboard writes everything it counted.
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, beforeEach, expect, it } from "vitest";
import { builtInConnectorKinds } from "../../connectors/kinds.ts";
import { createScoreboard } from "../../observability/scoreboard/scoreboard.ts";
import { buildSnapshot } from "../../registry/build.ts";
import type { RegistrySnapshot } from "../../registry/catalogue.ts";
import type { Database } from "../../registry/database.ts";
import { openDatabase } from "../../registry/database-open.ts";
import { readDocuments } from "../../registry/documents.ts";
import { DEMO_REGISTRY } from "../helpers/gateway.ts";

const POST = "post.address-by-postcode.v1";
let db: Database;
let snapshot: RegistrySnapshot;
let clock = Date.UTC(2026, 10, 23, 9, 0, 10);

beforeEach(async () => {
  db = await openDatabase({ dataDir: await mkdtemp(join(tmpdir(), "estelam-board-")) });
  const read = await readDocuments(DEMO_REGISTRY);
  const built = buildSnapshot(read.documents, { revision: 1, kinds: builtInConnectorKinds(), vars: {} });
  if (!built.ok) throw new Error("the demo documents do not build");
  snapshot = built.snapshot;
});
afterEach(async () => {
  await db.close();
});

/** Runs once, inside the next transaction's commit: after the write's values were taken, before it is done. */
let duringWrite: (() => void) | undefined;

const open = () =>
  createScoreboard({
    database: {
      ...db,
      async transaction(body) {
        const result = await db.transaction(body);
        const hook = duringWrite;
        duringWrite = undefined;
        hook?.();
        return result;
      },
    },
    instance: "gw",
    snapshot: () => snapshot,
    breakers: () => new Map(),
    windowMinutes: 5,
    flushMs: 3_600_000,
    now: () => clock,
  });

it("writes what was counted during a write, after its minute is over", async () => {
  const board = await open();
  board.record(POST, undefined, 0.01);
  // Counted while the write is under way.
  duringWrite = () => {
    board.record(POST, undefined, 0.01);
    board.record(POST, "agency", 0.5);
  };
  await board.flush();
  expect(duringWrite).toBeUndefined();
  clock += 60_000;
  await board.flush();
  const view = await board.view();
  expect(view.inquiryTypes.find((t) => t.id === POST)).toMatchObject({ answered: 2, faults: 1, volumeToday: 3 });
  await board.close();
});

it("writes everything counted before it closed, and a new process adds to it", async () => {
  const first = await open();
  for (let i = 0; i < 5; i++) first.record(POST, i === 0 ? "client" : undefined, 0.02);
  void first.flush();
  first.record(POST, undefined, 0.02);
  await first.close();
  const second = await open();
  second.record(POST, undefined, 0.02);
  await second.flush();
  expect((await second.view()).inquiryTypes.find((t) => t.id === POST)).toMatchObject({ answered: 6, refused: 1, volumeToday: 7 });
  await second.close();
});

it("keeps each day's share online for the trend, day after day", async () => {
  const breakers = new Map<string, "closed" | "open">([["post/main", "closed"]]);
  const board = await createScoreboard({
    database: db,
    instance: "gw",
    snapshot: () => snapshot,
    breakers: () => breakers,
    windowMinutes: 5,
    flushMs: 3_600_000,
    now: () => clock,
  });
  const start = clock;
  await board.flush();
  // The next day Iran Post is down all day (every sample of it offline).
  clock = start + 86_400_000;
  breakers.set("post/main", "open");
  await board.flush();
  clock += 60_000;
  await board.flush();
  const post = (await board.view()).agencies.find((a) => a.id === "post");
  expect(post?.daily).toEqual([
    { date: new Date(start + 12_600_000).toISOString().slice(0, 10), shareOnline: 1 },
    { date: new Date(clock + 12_600_000).toISOString().slice(0, 10), shareOnline: 0 },
  ]);
  // Both days fall in one Saturday-to-Friday week (a Monday and a Tuesday): their average.
  expect(post?.weekly).toEqual([{ date: "2026-11-21", shareOnline: 0.5 }]);
  await board.close();
});
