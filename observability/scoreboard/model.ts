// The scoreboard's arithmetic, free of any database or clock: from per-minute counts and latency buckets
// (summed over every gateway instance), the breaker states the live instances report and the registry
// snapshot, it says for every inquiry type whether it is online, degraded, offline or not connected, and for
// every answering agency which share of its inquiry types is online, bucketed as government reports do.
import type { RegistrySnapshot } from "../../registry/catalogue.ts";
import { INQUIRY_BUCKETS } from "../metrics.ts";

export type InquiryStatus = "online" | "degraded" | "offline" | "not_connected";
export type BreakerStateName = "closed" | "half_open" | "open";
export type ShareBucket = "above_90" | "from_50_to_90" | "below_50" | "none";
export const SHARE_BUCKETS: readonly ShareBucket[] = ["above_90", "from_50_to_90", "below_50", "none"];
export const STATUSES: readonly InquiryStatus[] = ["online", "degraded", "offline", "not_connected"];

/** Upper bounds (seconds) of the latency buckets; counts have one more entry, for +Inf. */
export const LATENCY_BOUNDS: readonly number[] = INQUIRY_BUCKETS;

/** Judged inquiries a window needs before its success rate and percentiles can miss an objective. */
export const MIN_JUDGED = 10;
/** Judged inquiries of the last two minutes that, all failing, make an inquiry type offline. */
export const MIN_FAILING = 3;
/** Minutes of per-minute series (for charts). */
export const SERIES_MINUTES = 60;

const MINUTE_MS = 60_000;
const DAY_MS = 86_400_000;
/** Iran keeps UTC+03:30 all year (daylight saving time was abolished in 2022); days and weeks follow it. */
export const IRAN_OFFSET_MS = 12_600_000;

export interface Counts {
  /** Any business answer (found, not found, rejected). */
  answered: number;
  /** Failures of the gateway or of the agency (the error catalogue's origin `gateway` or `agency`). */
  faults: number;
  /** Refusals that are the caller's own mistake (origin `client`): not judged. */
  refused: number;
  /** Latency of answered inquiries, per bucket of LATENCY_BOUNDS (not cumulative), +Inf last. */
  buckets: number[];
}

export function emptyCounts(): Counts {
  return { answered: 0, faults: 0, refused: 0, buckets: new Array<number>(LATENCY_BOUNDS.length + 1).fill(0) };
}

export function addCounts(into: Counts, from: Counts): void {
  into.answered += from.answered;
  into.faults += from.faults;
  into.refused += from.refused;
  for (let i = 0; i < into.buckets.length; i++) into.buckets[i] = (into.buckets[i] ?? 0) + (from.buckets[i] ?? 0);
}

/** The bucket index of a latency in seconds. */
export function bucketOf(seconds: number): number {
  const i = LATENCY_BOUNDS.findIndex((bound) => seconds <= bound);
  return i < 0 ? LATENCY_BOUNDS.length : i;
}

/** The q-quantile in seconds, interpolated inside its bucket as Prometheus' histogram_quantile does. */
export function quantile(buckets: readonly number[], q: number): number | undefined {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return undefined;
  const rank = q * total;
  let seen = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i] ?? 0;
    if (seen + n >= rank && n > 0) {
      if (i === LATENCY_BOUNDS.length) return LATENCY_BOUNDS[LATENCY_BOUNDS.length - 1];
      const lower = i === 0 ? 0 : (LATENCY_BOUNDS[i - 1] as number);
      const upper = LATENCY_BOUNDS[i] as number;
      return lower + ((upper - lower) * (rank - seen)) / n;
    }
    seen += n;
  }
  return LATENCY_BOUNDS[LATENCY_BOUNDS.length - 1];
}

/** Share of observations slower than `seconds`, interpolated inside the bucket that holds it. */
export function shareSlowerThan(buckets: readonly number[], seconds: number): number {
  const total = buckets.reduce((a, b) => a + b, 0);
  if (total === 0) return 0;
  let faster = 0;
  for (let i = 0; i < buckets.length; i++) {
    const n = buckets[i] ?? 0;
    const lower = i === 0 ? 0 : (LATENCY_BOUNDS[i - 1] as number);
    const upper = i === LATENCY_BOUNDS.length ? Number.POSITIVE_INFINITY : (LATENCY_BOUNDS[i] as number);
    if (upper <= seconds) faster += n;
    else if (lower < seconds && Number.isFinite(upper)) faster += (n * (seconds - lower)) / (upper - lower);
  }
  return Math.max(0, (total - faster) / total);
}

export function minuteOf(ms: number): number {
  return Math.floor(ms / MINUTE_MS);
}

/** Days since 1970-01-01, Iran time. */
export function dayOf(ms: number): number {
  return Math.floor((ms + IRAN_OFFSET_MS) / DAY_MS);
}

/** The instant (ms) at which an Iran-time day starts. */
export function dayStartMs(day: number): number {
  return day * DAY_MS - IRAN_OFFSET_MS;
}

/** YYYY-MM-DD of an Iran-time day. */
export function dayDate(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10);
}

/** The Saturday (as a day number) that starts the Iranian week holding `day` (1970-01-01 was a Thursday). */
export function weekStart(day: number): number {
  return day - ((((day - 2) % 7) + 7) % 7);
}

export function bucketOfShare(share: number): ShareBucket {
  if (share > 0.9) return "above_90";
  if (share >= 0.5) return "from_50_to_90";
  if (share > 0) return "below_50";
  return "none";
}

const WORST: Readonly<Record<BreakerStateName, number>> = { closed: 0, half_open: 1, open: 2 };

export function worseBreaker(a: BreakerStateName | undefined, b: BreakerStateName): BreakerStateName {
  return a === undefined || WORST[b] > WORST[a] ? b : a;
}

export interface MinuteCounts {
  readonly minute: number;
  readonly inquiryType: string;
  readonly counts: Counts;
}

/** What one gateway instance last reported: its breakers, and when. */
export interface WriterReport {
  readonly writer: string;
  readonly instance: string;
  readonly seenAtMs: number;
  readonly breakers: Readonly<Record<string, BreakerStateName>>;
}

export interface TrendPoint {
  readonly date: string;
  readonly shareOnline: number;
}

export interface ScoreboardInput {
  readonly snapshot: RegistrySnapshot;
  readonly nowMs: number;
  readonly windowMinutes: number;
  /** Counts of the last SERIES_MINUTES minutes (or the window, when longer), of every instance. */
  readonly minutes: readonly MinuteCounts[];
  /** Inquiries today per inquiry type, of every instance. */
  readonly today: ReadonlyMap<string, number>;
  /** Reports of the live instances. */
  readonly writers: readonly WriterReport[];
  /** Per agency: day → share online (the average of its samples that day). */
  readonly daily: ReadonlyMap<string, ReadonlyMap<number, number>>;
  readonly trendDays: number;
  readonly trendWeeks: number;
}

export interface MinutePoint {
  readonly minute: number;
  readonly volume: number;
  readonly faults: number;
  readonly p95Ms: number;
}

export interface InquiryTypeScore {
  readonly id: string;
  readonly agency: string;
  readonly title: { readonly fa: string; readonly en: string };
  readonly status: InquiryStatus;
  readonly reasons: readonly string[];
  readonly volumeToday: number;
  readonly answered: number;
  readonly faults: number;
  readonly refused: number;
  readonly successRate: number | undefined;
  readonly p50Ms: number | undefined;
  readonly p95Ms: number | undefined;
  readonly p99Ms: number | undefined;
  /** Worst breaker state among its endpoints; undefined when not connected. */
  readonly breaker: BreakerStateName | undefined;
  readonly objectives: { readonly latencyP99Ms: number; readonly latencyP95Ms: number | undefined; readonly successRate: number };
  readonly errorBurn: number | undefined;
  readonly latencyBurn: number | undefined;
  readonly series: readonly MinutePoint[];
}

export interface AgencyScore {
  readonly id: string;
  readonly name: { readonly fa: string; readonly en: string };
  readonly inquiryTypes: number;
  readonly online: number;
  readonly shareOnline: number;
  readonly bucket: ShareBucket;
  readonly rank: number;
  readonly daily: readonly TrendPoint[];
  readonly weekly: readonly TrendPoint[];
}

export interface EndpointBreakerView {
  readonly endpoint: string;
  readonly agency: string;
  readonly state: BreakerStateName;
  readonly inquiryTypes: readonly string[];
  readonly instances: ReadonlyArray<{ readonly instance: string; readonly state: BreakerStateName; readonly reportedAtMs: number }>;
}

export interface ScoreboardView {
  readonly generatedAtMs: number;
  readonly registryRevision: number;
  readonly windowMinutes: number;
  readonly instances: readonly string[];
  readonly todayStartMs: number;
  readonly inquiryTypes: readonly InquiryTypeScore[];
  readonly agencies: readonly AgencyScore[];
  readonly buckets: ReadonlyMap<ShareBucket, number>;
  readonly breakers: readonly EndpointBreakerView[];
}

const round = (n: number, digits = 1): number => Math.round(n * 10 ** digits) / 10 ** digits;

/** Every endpoint of the snapshot with its state on each live instance (closed where an instance has not reported it). */
function breakerViews(snapshot: RegistrySnapshot, writers: readonly WriterReport[]): EndpointBreakerView[] {
  const typesOf = new Map<string, string[]>();
  for (const binding of snapshot.bindings.values())
    for (const route of binding.routes) typesOf.set(route.endpoint.key, [...(typesOf.get(route.endpoint.key) ?? []), binding.inquiryType]);
  return [...snapshot.endpoints.values()]
    .map((endpoint) => {
      const instances = writers
        .filter((w) => w.breakers[endpoint.key] !== undefined)
        .map((w) => ({ instance: w.instance, state: w.breakers[endpoint.key] as BreakerStateName, reportedAtMs: w.seenAtMs }));
      let state: BreakerStateName = "closed";
      for (const i of instances) state = worseBreaker(state, i.state);
      return { endpoint: endpoint.key, agency: endpoint.agency, state, inquiryTypes: typesOf.get(endpoint.key) ?? [], instances };
    })
    .sort((a, b) => a.endpoint.localeCompare(b.endpoint));
}

export function computeScoreboard(input: ScoreboardInput): ScoreboardView {
  const { snapshot, nowMs, windowMinutes } = input;
  const nowMinute = minuteOf(nowMs);
  const breakers = breakerViews(snapshot, input.writers);
  const breakerOf = new Map(breakers.map((b) => [b.endpoint, b.state]));

  // Sum every instance's counts per inquiry type: over the window, over the last two minutes, and per minute.
  const windowCounts = new Map<string, Counts>();
  const recentCounts = new Map<string, Counts>();
  const perMinute = new Map<string, Map<number, Counts>>();
  for (const row of input.minutes) {
    const age = nowMinute - row.minute;
    if (age < 0) continue;
    if (age < windowMinutes) addCounts(getOr(windowCounts, row.inquiryType), row.counts);
    if (age < 2) addCounts(getOr(recentCounts, row.inquiryType), row.counts);
    if (age < SERIES_MINUTES) {
      const byMinute = perMinute.get(row.inquiryType) ?? new Map<number, Counts>();
      perMinute.set(row.inquiryType, byMinute);
      addCounts(getOr(byMinute, row.minute), row.counts);
    }
  }

  const inquiryTypes: InquiryTypeScore[] = [];
  for (const type of [...snapshot.inquiryTypes.values()].sort((a, b) => a.id.localeCompare(b.id))) {
    const counts = windowCounts.get(type.id) ?? emptyCounts();
    const recent = recentCounts.get(type.id) ?? emptyCounts();
    const judged = counts.answered + counts.faults;
    const successRate = judged === 0 ? undefined : counts.answered / judged;
    const seconds = (q: number): number | undefined => {
      const v = quantile(counts.buckets, q);
      return v === undefined ? undefined : round(v * 1000);
    };
    const [p50Ms, p95Ms, p99Ms] = [seconds(0.5), seconds(0.95), seconds(0.99)];
    const objectives = {
      latencyP99Ms: type.latencyObjectiveMs,
      latencyP95Ms: type.latencyP95ObjectiveMs,
      successRate: type.successRateObjective,
    };
    const errorBurn = successRate === undefined ? undefined : round((1 - successRate) / Math.max(1e-6, 1 - objectives.successRate), 2);
    const latencyBurn =
      counts.answered === 0 ? undefined : round(shareSlowerThan(counts.buckets, objectives.latencyP99Ms / 1000) / 0.01, 2);

    const binding = snapshot.bindings.get(type.id);
    let breaker: BreakerStateName | undefined;
    let status: InquiryStatus;
    const reasons: string[] = [];
    if (binding === undefined || binding.routes.length === 0) {
      status = "not_connected";
      reasons.push("no connector binding");
    } else {
      const states = binding.routes.map((r) => breakerOf.get(r.endpoint.key) ?? "closed");
      for (const s of states) breaker = worseBreaker(breaker, s);
      const recentJudged = recent.answered + recent.faults;
      if (states.every((s) => s === "open")) {
        status = "offline";
        reasons.push(states.length === 1 ? "breaker open" : "every endpoint's breaker open");
      } else if (recentJudged >= MIN_FAILING && recent.answered === 0) {
        // Not answering at all, though its breaker has not opened (yet, or again after a half-open probe).
        status = "offline";
        reasons.push(`all ${recentJudged} inquiries of the last two minutes failed`);
      } else {
        if (breaker !== "closed") reasons.push(`breaker ${breaker === "open" ? "open" : "half open"} on an endpoint`);
        if (judged >= MIN_JUDGED && successRate !== undefined && successRate < objectives.successRate)
          reasons.push(`success ${round(successRate * 100, 2)} % under the ${round(objectives.successRate * 100, 2)} % objective`);
        if (counts.answered >= MIN_JUDGED && p99Ms !== undefined && p99Ms > objectives.latencyP99Ms)
          reasons.push(`p99 ${Math.round(p99Ms)} ms over the ${objectives.latencyP99Ms} ms objective`);
        if (
          counts.answered >= MIN_JUDGED &&
          p95Ms !== undefined &&
          objectives.latencyP95Ms !== undefined &&
          p95Ms > objectives.latencyP95Ms
        )
          reasons.push(`p95 ${Math.round(p95Ms)} ms over the ${objectives.latencyP95Ms} ms objective`);
        status = reasons.length === 0 ? "online" : "degraded";
      }
    }
    const byMinute = perMinute.get(type.id);
    const series: MinutePoint[] = [];
    for (let m = nowMinute - SERIES_MINUTES + 1; m <= nowMinute; m++) {
      const c = byMinute?.get(m);
      series.push({
        minute: m,
        volume: c === undefined ? 0 : c.answered + c.faults + c.refused,
        faults: c?.faults ?? 0,
        p95Ms: c === undefined ? 0 : round((quantile(c.buckets, 0.95) ?? 0) * 1000),
      });
    }
    inquiryTypes.push({
      id: type.id,
      agency: type.agency,
      title: type.title,
      status,
      reasons,
      volumeToday: input.today.get(type.id) ?? 0,
      answered: counts.answered,
      faults: counts.faults,
      refused: counts.refused,
      successRate,
      p50Ms,
      p95Ms,
      p99Ms,
      breaker,
      objectives,
      errorBurn,
      latencyBurn,
      series,
    });
  }

  const owned = new Map<string, InquiryTypeScore[]>();
  for (const t of inquiryTypes) owned.set(t.agency, [...(owned.get(t.agency) ?? []), t]);
  const today = dayOf(nowMs);
  const unranked = [...owned].map(([id, types]) => {
    const online = types.filter((t) => t.status === "online").length;
    const shareOnline = online / types.length;
    const days = input.daily.get(id) ?? new Map<number, number>();
    const daily: TrendPoint[] = [];
    for (let d = today - input.trendDays + 1; d <= today; d++) {
      const share = days.get(d);
      if (share !== undefined) daily.push({ date: dayDate(d), shareOnline: round(share, 4) });
    }
    const weeks = new Map<number, number[]>();
    for (const [d, share] of days) {
      const w = weekStart(d);
      if (w > weekStart(today) - 7 * input.trendWeeks) weeks.set(w, [...(weeks.get(w) ?? []), share]);
    }
    const weekly = [...weeks]
      .sort((a, b) => a[0] - b[0])
      .map(([w, shares]) => ({ date: dayDate(w), shareOnline: round(shares.reduce((a, b) => a + b, 0) / shares.length, 4) }));
    const agency = snapshot.agencies.get(id);
    return {
      id,
      name: agency?.name ?? { fa: id, en: id },
      inquiryTypes: types.length,
      online,
      shareOnline,
      bucket: bucketOfShare(shareOnline),
      daily,
      weekly,
    };
  });
  unranked.sort((a, b) => b.shareOnline - a.shareOnline || b.online - a.online || a.id.localeCompare(b.id));
  const agencies: AgencyScore[] = unranked.map((a, i) => ({ ...a, rank: i + 1 }));
  const buckets = new Map<ShareBucket, number>(SHARE_BUCKETS.map((b) => [b, 0]));
  for (const a of agencies) buckets.set(a.bucket, (buckets.get(a.bucket) ?? 0) + 1);

  return {
    generatedAtMs: nowMs,
    registryRevision: snapshot.revision,
    windowMinutes,
    instances: [...new Set(input.writers.map((w) => w.instance))].sort(),
    todayStartMs: dayStartMs(today),
    inquiryTypes,
    agencies,
    buckets,
    breakers,
  };
}

function getOr<K>(map: Map<K, Counts>, key: K): Counts {
  let counts = map.get(key);
  if (counts === undefined) {
    counts = emptyCounts();
    map.set(key, counts);
  }
  return counts;
}
