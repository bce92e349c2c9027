// The scoreboard's arithmetic: percentiles from latency buckets, burn, the report buckets, Iran-time days
// and Saturday weeks, and the status rules over the demo registry.
import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { builtInConnectorKinds } from "../../connectors/kinds.ts";
import {
  bucketOf,
  bucketOfShare,
  type Counts,
  computeScoreboard,
  dayDate,
  dayOf,
  dayStartMs,
  emptyCounts,
  LATENCY_BOUNDS,
  minuteOf,
  quantile,
  type ScoreboardInput,
  shareSlowerThan,
  weekStart,
} from "../../observability/scoreboard/model.ts";
import { buildSnapshot } from "../../registry/build.ts";
import type { RegistrySnapshot } from "../../registry/catalogue.ts";
import { type RegistryDocument, readDocuments } from "../../registry/documents.ts";
import { DEMO_REGISTRY, findDocument } from "../helpers/gateway.ts";

async function demoSnapshot(edit?: (documents: RegistryDocument[]) => void): Promise<RegistrySnapshot> {
  const read = await readDocuments(DEMO_REGISTRY);
  edit?.(read.documents);
  const built = buildSnapshot(read.documents, {
    revision: 3,
    kinds: builtInConnectorKinds(),
    vars: { DEMO_AGENCIES_URL: "http://127.0.0.1:1" },
  });
  if (!built.ok) throw new Error(JSON.stringify(built.problems));
  return built.snapshot;
}

function counts(answered: number, faults: number, seconds: number, refused = 0): Counts {
  const c = emptyCounts();
  c.answered = answered;
  c.faults = faults;
  c.refused = refused;
  c.buckets[bucketOf(seconds)] = answered;
  return c;
}

const NOW = Date.UTC(2026, 10, 23, 9, 30, 0); // a Monday, 13:00 in Tehran

function input(snapshot: RegistrySnapshot, overrides: Partial<ScoreboardInput> = {}): ScoreboardInput {
  return {
    snapshot,
    nowMs: NOW,
    windowMinutes: 5,
    minutes: [],
    today: new Map(),
    writers: [{ writer: "a#1", instance: "a", seenAtMs: NOW, breakers: {} }],
    daily: new Map(),
    trendDays: 14,
    trendWeeks: 8,
    ...overrides,
  };
}

describe("percentiles from buckets", () => {
  it("interpolate inside a bucket as histogram_quantile does", () => {
    const b = new Array<number>(LATENCY_BOUNDS.length + 1).fill(0);
    b[LATENCY_BOUNDS.indexOf(0.1)] = 100; // every observation in (0.05, 0.1]
    expect(quantile(b, 0.5)).toBeCloseTo(0.075, 10);
    expect(quantile(b, 0.99)).toBeCloseTo(0.0995, 10);
    expect(quantile(emptyCounts().buckets, 0.5)).toBeUndefined();
  });

  it("are ordered and stay within the bucket bounds (property)", () => {
    fc.assert(
      fc.property(fc.array(fc.nat({ max: 1000 }), { minLength: LATENCY_BOUNDS.length + 1, maxLength: LATENCY_BOUNDS.length + 1 }), (b) => {
        const total = b.reduce((x, y) => x + y, 0);
        const [p50, p95, p99] = [quantile(b, 0.5), quantile(b, 0.95), quantile(b, 0.99)];
        if (total === 0) return p50 === undefined;
        return (
          (p50 as number) <= (p95 as number) && (p95 as number) <= (p99 as number) && (p99 as number) <= (LATENCY_BOUNDS.at(-1) as number)
        );
      }),
    );
  });

  it("count the share slower than a threshold, all or nothing outside the buckets that straddle it", () => {
    const b = new Array<number>(LATENCY_BOUNDS.length + 1).fill(0);
    b[bucketOf(0.004)] = 90;
    b[bucketOf(0.4)] = 10;
    expect(shareSlowerThan(b, 0.2)).toBeCloseTo(0.1, 10);
    expect(shareSlowerThan(b, 1)).toBe(0);
    expect(shareSlowerThan(b, 0.0001)).toBeGreaterThan(0.99);
  });
});

describe("report buckets and calendar", () => {
  it("bucket shares as government reports do", () => {
    expect([1, 0.91, 0.9, 0.5, 0.49, 0.01, 0].map(bucketOfShare)).toEqual([
      "above_90",
      "above_90",
      "from_50_to_90",
      "from_50_to_90",
      "below_50",
      "below_50",
      "none",
    ]);
  });

  it("start days at midnight in Tehran and weeks on Saturday", () => {
    const day = dayOf(NOW);
    expect(dayDate(day)).toBe("2026-11-23");
    expect(new Date(dayStartMs(day)).toISOString()).toBe("2026-11-22T20:30:00.000Z");
    // 20:29 UTC is still the 22nd in Tehran; 20:30 is the 23rd.
    expect(dayDate(dayOf(Date.UTC(2026, 10, 22, 20, 29)))).toBe("2026-11-22");
    expect(dayDate(dayOf(Date.UTC(2026, 10, 22, 20, 30)))).toBe("2026-11-23");
    expect(dayDate(weekStart(day))).toBe("2026-11-21"); // a Saturday
    expect(new Date(`${dayDate(weekStart(day))}T00:00:00Z`).getUTCDay()).toBe(6);
    fc.assert(
      fc.property(
        fc.integer({ min: 0, max: 40_000 }),
        (d) => weekStart(d) <= d && d - weekStart(d) < 7 && new Date(dayStartMs(weekStart(d)) + 43_200_000).getUTCDay() === 6,
      ),
    );
  });
});

describe("statuses", () => {
  it("judge objectives only with enough inquiries, and never count refusals", async () => {
    const snapshot = await demoSnapshot();
    const m = minuteOf(NOW);
    const view = computeScoreboard(
      input(snapshot, {
        minutes: [
          // Slow but only 5 answers: not judged yet.
          { minute: m, inquiryType: "cbi.iban-owner.v1", counts: counts(5, 0, 2) },
          // 12 slow answers: p99 over the 150 ms objective.
          { minute: m - 1, inquiryType: "post.address-by-postcode.v1", counts: counts(12, 0, 0.4) },
          // Fast, many refusals: online.
          { minute: m, inquiryType: "nocr.identity-match.v1", counts: counts(20, 0, 0.004, 500) },
          // Outside the 5-minute window: ignored for the status.
          { minute: m - 10, inquiryType: "nocr.identity-match.v1", counts: counts(0, 50, 0) },
        ],
      }),
    );
    const status = Object.fromEntries(view.inquiryTypes.map((t) => [t.id, t.status]));
    expect(status).toMatchObject({
      "cbi.iban-owner.v1": "online",
      "nocr.identity-match.v1": "online",
      "post.address-by-postcode.v1": "degraded",
    });
    // Every inquiry type of the registry is on the scoreboard; those without a Binding are not connected.
    expect(Object.keys(status).sort()).toEqual([...snapshot.inquiryTypes.keys()].sort());
    for (const id of snapshot.inquiryTypes.keys()) if (!snapshot.bindings.has(id)) expect(status[id]).toBe("not_connected");
    const nocr = view.inquiryTypes.find((t) => t.id === "nocr.identity-match.v1");
    expect(nocr).toMatchObject({ answered: 20, faults: 0, refused: 500, successRate: 1 });
    expect(nocr?.series.at(-11)).toMatchObject({ volume: 50, faults: 50 });
  });

  it("judge the optional p95 objective too, which the registry keeps at most the p99 one", async () => {
    const snapshot = await demoSnapshot((documents) => {
      findDocument(documents, "InquiryType", "cbi.iban-owner.v1").spec.objectives = { latencyMs: 250, latencyP95Ms: 20 };
    });
    const view = computeScoreboard(
      input(snapshot, { minutes: [{ minute: minuteOf(NOW), inquiryType: "cbi.iban-owner.v1", counts: counts(20, 0, 0.04) }] }),
    );
    expect(view.inquiryTypes.find((t) => t.id === "cbi.iban-owner.v1")).toMatchObject({
      status: "degraded",
      reasons: [expect.stringMatching(/^p95 \d+ ms over the 20 ms objective$/)],
      objectives: { latencyP99Ms: 250, latencyP95Ms: 20 },
    });
    const read = await readDocuments(DEMO_REGISTRY);
    findDocument(read.documents, "InquiryType", "cbi.iban-owner.v1").spec.objectives = { latencyMs: 250, latencyP95Ms: 300 };
    const refused = buildSnapshot(read.documents, { revision: 1, kinds: builtInConnectorKinds(), vars: {} });
    expect(refused.ok).toBe(false);
    if (!refused.ok)
      expect(refused.problems.map((p) => `${p.path}: ${p.message}`)).toContain(
        "spec.objectives.latencyP95Ms: must be a whole number from 1 to 250",
      );
  });

  it("are offline when every route's breaker is open on some live instance, or nothing answered lately", async () => {
    const snapshot = await demoSnapshot();
    const m = minuteOf(NOW);
    const view = computeScoreboard(
      input(snapshot, {
        minutes: [{ minute: m, inquiryType: "cbi.iban-owner.v1", counts: counts(0, 3, 0) }],
        writers: [
          { writer: "a#1", instance: "a", seenAtMs: NOW, breakers: { "post/main": "closed" } },
          { writer: "b#1", instance: "b", seenAtMs: NOW, breakers: { "post/main": "open" } },
        ],
      }),
    );
    const post = view.inquiryTypes.find((t) => t.id === "post.address-by-postcode.v1");
    expect(post).toMatchObject({ status: "offline", breaker: "open", reasons: ["breaker open"] });
    expect(view.inquiryTypes.find((t) => t.id === "cbi.iban-owner.v1")).toMatchObject({
      status: "offline",
      reasons: ["all 3 inquiries of the last two minutes failed"],
    });
    expect(view.breakers.find((b) => b.endpoint === "post/main")?.instances.map((i) => i.instance)).toEqual(["a", "b"]);
    expect(view.instances).toEqual(["a", "b"]);
  });

  it("rank agencies by share and keep their daily and Saturday-to-Friday weekly trend", async () => {
    const snapshot = await demoSnapshot();
    const today = dayOf(NOW);
    const view = computeScoreboard(
      input(snapshot, {
        daily: new Map([
          [
            "nocr",
            new Map([
              [today - 3, 0.5],
              [today - 2, 1],
              [today, 0.5],
              [today - 40, 0],
            ]),
          ],
        ]),
        trendDays: 7,
        trendWeeks: 2,
      }),
    );
    const nocr = view.agencies.find((a) => a.id === "nocr");
    expect(nocr?.daily.map((p) => p.date)).toEqual([dayDate(today - 3), dayDate(today - 2), dayDate(today)]);
    // today - 3 is the Friday ending last week; today - 2 the Saturday starting this one.
    expect(nocr?.weekly).toEqual([
      { date: dayDate(weekStart(today - 3)), shareOnline: 0.5 },
      { date: dayDate(weekStart(today)), shareOnline: 0.75 },
    ]);
    // Fully online agencies first (by id among equals), then nocr, one of whose types is not connected.
    const rank = (id: string) => view.agencies.find((a) => a.id === id)?.rank ?? 0;
    expect(view.agencies.map((a) => a.rank)).toEqual(view.agencies.map((_, i) => i + 1));
    expect(rank("cbi")).toBeLessThan(rank("post"));
    expect(rank("post")).toBeLessThan(rank("nocr"));
    const buckets = Object.fromEntries(view.buckets);
    expect(buckets.from_50_to_90).toBeGreaterThanOrEqual(1);
    expect(Object.values(buckets).reduce((a, b) => a + b, 0)).toBe(view.agencies.length);
  });
});
