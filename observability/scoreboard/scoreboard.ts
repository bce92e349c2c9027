// The live scoreboard of one gateway instance. It counts this instance's inquiries per minute and inquiry
// type in memory, writes them with its breaker states to the database every `flushMs`, and computes the
// scoreboard from every instance's rows (observability/scoreboard/model.ts). Counting is a monitoring
// sample, not evidence: when the database is away, counts wait in memory (the last day at most) and the
// last computed view is served; nothing on the request path waits for it.
import { randomBytes } from "node:crypto";
import type { RegistrySnapshot } from "../../registry/catalogue.ts";
import type { Database } from "../../registry/database.ts";
import type { Logger } from "../logger.ts";
import {
  type BreakerStateName,
  bucketOf,
  type Counts,
  computeScoreboard,
  dayOf,
  dayStartMs,
  emptyCounts,
  minuteOf,
  type ScoreboardView,
  SERIES_MINUTES,
} from "./model.ts";
import { createScoreboardStore, type ScoreboardStore } from "./store.ts";

export interface ScoreboardOptions {
  readonly database: Database;
  /** This instance's name (ESTELAM_INSTANCE). */
  readonly instance: string;
  /** The registry snapshot served now. */
  readonly snapshot: () => RegistrySnapshot;
  /** Breaker state per endpoint on this instance. */
  readonly breakers: () => ReadonlyMap<string, BreakerStateName>;
  readonly windowMinutes: number;
  readonly flushMs: number;
  readonly logger?: Logger;
  /** The clock; tests move it. */
  readonly now?: () => number;
}

export interface ViewOptions {
  readonly trendDays?: number;
  readonly trendWeeks?: number;
}

export interface Scoreboard {
  /** Counts one finished inquiry: `origin` undefined for any business answer, else the failure's origin. */
  record(inquiryType: string, origin: "client" | "gateway" | "agency" | undefined, seconds: number): void;
  /** Writes this instance's counts and breakers, samples the statuses and recomputes the view. */
  flush(): Promise<void>;
  /** The scoreboard now, from every instance's counts; the last computed one when the database does not answer. */
  view(options?: ViewOptions): Promise<ScoreboardView>;
  /** The last computed view, for gauges read at scrape time. */
  latest(): ScoreboardView | undefined;
  /** Writes what is left and stops the timer. */
  close(): Promise<void>;
}

const MINUTE_MS = 60_000;
/** Per-minute counts are kept 8 days (today and the week before); status samples, for trends, 100 days. */
const KEEP_MINUTES = 8 * 24 * 60;
const KEEP_SAMPLES_MINUTES = 100 * 24 * 60;
/** Counts that could not be written are kept in memory for a day at most. */
const KEEP_UNWRITTEN_MINUTES = 24 * 60;
const DEFAULT_TREND_DAYS = 14;
const DEFAULT_TREND_WEEKS = 8;

export async function createScoreboard(options: ScoreboardOptions): Promise<Scoreboard> {
  const now = options.now ?? Date.now;
  const store: ScoreboardStore = await createScoreboardStore(options.database);
  const writer = `${options.instance}#${randomBytes(4).toString("hex")}`;
  /**
   * `${minute}|${inquiryType}` → counts of this process. `version` grows with every inquiry counted;
   * `written` is the version the database holds, so counts added while a write is under way are written
   * by the next flush, never lost.
   */
  const pending = new Map<string, { minute: number; inquiryType: string; counts: Counts; version: number; written: number }>();
  const liveMs = Math.max(15_000, 3 * options.flushMs);
  let latest: ScoreboardView | undefined;
  let lastPruneMs = 0;
  let storeTrouble = false;
  let flushing: Promise<void> | undefined;
  let computing: Promise<ScoreboardView> | undefined;
  let closed = false;

  const breakersNow = (): Record<string, BreakerStateName> => Object.fromEntries(options.breakers());

  // The trend of past days changes no more (a late sample aside): read it at most hourly, today's every time.
  let past: { fromDay: number; today: number; readAtMs: number; daily: Map<string, Map<number, number>> } | undefined;
  const dailyTrend = async (fromDay: number, today: number, t: number): Promise<Map<string, Map<number, number>>> => {
    if (past === undefined || past.today !== today || past.fromDay > fromDay || t - past.readAtMs > 3_600_000) {
      const daily = await store.daily(fromDay);
      for (const days of daily.values()) days.delete(today);
      past = { fromDay, today, readAtMs: t, daily };
    }
    const merged = new Map<string, Map<number, number>>();
    for (const [agency, days] of past.daily) merged.set(agency, new Map([...days].filter(([day]) => day >= fromDay)));
    for (const [agency, days] of await store.daily(today)) {
      const into = merged.get(agency) ?? new Map<number, number>();
      for (const [day, share] of days) into.set(day, share);
      merged.set(agency, into);
    }
    return merged;
  };

  const compute = async (view: ViewOptions = {}): Promise<ScoreboardView> => {
    const t = now();
    const nowMinute = minuteOf(t);
    const trendDays = Math.min(90, view.trendDays || DEFAULT_TREND_DAYS);
    const trendWeeks = Math.min(13, view.trendWeeks || DEFAULT_TREND_WEEKS);
    const fromMinute = nowMinute - Math.max(SERIES_MINUTES, options.windowMinutes) + 1;
    const today = dayOf(t);
    const [minutes, today_, writers, daily] = await Promise.all([
      store.minutes(fromMinute),
      store.volumes(minuteOf(dayStartMs(today))),
      store.writers(t - liveMs),
      dailyTrend(Math.min(today - trendDays + 1, today - 7 * trendWeeks - 6), today, t),
    ]);
    // This instance's own breakers are always current, whatever it last wrote.
    const others = writers.filter((w) => w.writer !== writer);
    return computeScoreboard({
      snapshot: options.snapshot(),
      nowMs: t,
      windowMinutes: options.windowMinutes,
      minutes,
      today: today_,
      writers: [...others, { writer, instance: options.instance, seenAtMs: t, breakers: breakersNow() }],
      daily,
      trendDays,
      trendWeeks,
    });
  };

  let lastSampled = "";
  // The embedded database is this process's alone: with nothing new counted, the same minute, the same
  // breakers and the same registry revision, a flush would write and read back what is already there.
  const exclusive = options.database.kind === "pglite";
  let lastFlushed: { key: string; snapshot: unknown } | undefined;
  const flushOnce = async (): Promise<void> => {
    const t = now();
    const nowMinute = minuteOf(t);
    const dirty = [...pending.values()]
      .filter((p) => p.version !== p.written)
      .map((p) => ({ entry: p, version: p.version, counts: structuredClone(p.counts) }));
    const flushed = { key: `${nowMinute}|${JSON.stringify(breakersNow())}`, snapshot: options.snapshot() };
    if (
      exclusive &&
      dirty.length === 0 &&
      !storeTrouble &&
      latest !== undefined &&
      lastFlushed?.key === flushed.key &&
      lastFlushed.snapshot === flushed.snapshot
    )
      return;
    try {
      await store.write(
        writer,
        options.instance,
        t,
        dirty.map(({ entry, counts }) => ({
          minute: entry.minute,
          day: dayOf(entry.minute * MINUTE_MS),
          inquiryType: entry.inquiryType,
          counts,
        })),
        breakersNow(),
      );
      for (const d of dirty) d.entry.written = d.version;
      // Minutes that are over and written are no longer needed here.
      for (const [key, p] of pending) if (p.version === p.written && p.minute < nowMinute) pending.delete(key);
      const view = await compute();
      latest = view;
      // One sample per inquiry type and minute: rewritten only when a status changed within the minute.
      const samples = view.inquiryTypes.map((s) => ({ inquiryType: s.id, agency: s.agency, status: s.status }));
      const sampled = `${nowMinute}|${samples.map((s) => `${s.inquiryType}:${s.agency}:${s.status}`).join(",")}`;
      if (sampled !== lastSampled) {
        await store.sample(nowMinute, dayOf(t), samples);
        lastSampled = sampled;
      }
      if (t - lastPruneMs > 3_600_000) {
        lastPruneMs = t;
        await store.prune(nowMinute - KEEP_MINUTES, nowMinute - KEEP_SAMPLES_MINUTES, t - 86_400_000);
      }
      if (storeTrouble) options.logger?.info("scoreboard: the database answers again; counts written");
      storeTrouble = false;
      lastFlushed = flushed;
    } catch (error) {
      if (!storeTrouble)
        options.logger?.warn({ err: { message: (error as Error).message } }, "scoreboard: counts not written; kept and retried");
      storeTrouble = true;
      for (const [key, p] of pending) if (p.minute < nowMinute - KEEP_UNWRITTEN_MINUTES) pending.delete(key);
    }
  };

  const flush = (): Promise<void> => {
    flushing ??= flushOnce().finally(() => {
      flushing = undefined;
    });
    return flushing;
  };

  const timer = setInterval(() => void flush(), options.flushMs);
  timer.unref();
  await flush();

  return {
    record(inquiryType, origin, seconds) {
      if (closed) return;
      const minute = minuteOf(now());
      const key = `${minute}|${inquiryType}`;
      let entry = pending.get(key);
      if (entry === undefined) {
        entry = { minute, inquiryType, counts: emptyCounts(), version: 0, written: 0 };
        pending.set(key, entry);
      }
      entry.version++;
      const c = entry.counts;
      if (origin === undefined) {
        c.answered++;
        const i = bucketOf(seconds);
        c.buckets[i] = (c.buckets[i] ?? 0) + 1;
      } else if (origin === "client") c.refused++;
      else c.faults++;
    },
    flush,
    async view(view) {
      const custom = view?.trendDays !== undefined || view?.trendWeeks !== undefined;
      try {
        if (custom) return await compute(view);
        // Callers asking at the same moment share one computation.
        computing ??= compute().finally(() => {
          computing = undefined;
        });
        latest = await computing;
        return latest;
      } catch (error) {
        if (latest !== undefined) return latest;
        throw error;
      }
    },
    latest: () => latest,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      // A flush under way may have started before the last inquiries were counted: flush once more after it.
      await flushing?.catch(() => undefined);
      await flush();
    },
  };
}
