// Grant quotas: a Grant may carry `quota: {perSecond, perDay}`; an inquiry over either is refused with
// RESOURCE_EXHAUSTED / QUOTA_EXCEEDED and a retry hint, before any agency is asked. Quotas are per grant
// (the asking agency, or its sub-unit, and the inquiry type) and hold across the instances that share a
// database, as follows:
//   - per day (a calendar day in Asia/Tehran): exact upper bound. An instance takes units from the shared
//     count in leases (quota-store.ts, one transaction each) and spends them locally; the shared count never
//     passes perDay. A lease is 1 unit when perDay ≤ 1000, else perDay / 1000 (at most 1000), so at most
//     (lease - 1) units per instance may stay unspent at the day's end while another instance refuses.
//   - per second: approximate. Each instance runs a token bucket refilled at perSecond / n per second (burst
//     the same), n being the instances that sent a heartbeat within the last 6 s (every `syncMs`). Spread
//     evenly, the instances together admit about perSecond; a caller that reaches one instance only gets its
//     1/n part.
// If the database cannot be reached, the daily quota is not enforced (an inquiry is not refused for the
// quota store's outage) until it answers again; `estelam_quota_store_errors_total` counts those moments.
import { EstelamError } from "../core/errors.ts";
import type { Grant } from "../registry/catalogue.ts";
import type { InquiryInterceptor } from "./chain.ts";
import { grantFor } from "./interceptors/authorize.ts";
import type { QuotaStore } from "./quota-store.ts";

export interface QuotaEvents {
  onAdmitted?(requester: string, inquiryType: string): void;
  onRefused?(requester: string, inquiryType: string, window: "second" | "day"): void;
  onStoreError?(error: Error): void;
}

export interface QuotasOptions {
  readonly store: QuotaStore;
  readonly instance: string;
  /** False for a database only this process uses (the embedded one): no heartbeat, one instance. */
  readonly shared: boolean;
  /** How often the instance's heartbeat (and the count of live instances) is refreshed. */
  readonly syncMs: number;
  readonly events?: QuotaEvents;
  readonly now?: () => number;
}

export interface Quotas {
  /** The request path step: refuses an inquiry over its grant's quota. */
  readonly interceptor: InquiryInterceptor;
  /** Live instances sharing the per-second quotas, as last seen. */
  instances(): number;
  close(): Promise<void>;
}

interface Bucket {
  tokens: number;
  refilledAt: number;
}

interface DailyLease {
  day: string;
  left: number;
  /** The day's quota is used up, under this `perDay` (a grant changed since may allow more). */
  exhausted: number | undefined;
  /** The store failed: until then the daily quota is not enforced, and the store is not asked again. */
  unenforcedUntil: number;
  /**
   * The lease request under way (one at a time per grant): resolves true when the store has answered, false
   * once it has taken longer than an inquiry waits for it (later inquiries then go through at once).
   */
  asking: Promise<boolean> | undefined;
}

const TEHRAN_DAY = new Intl.DateTimeFormat("en-CA", { timeZone: "Asia/Tehran", year: "numeric", month: "2-digit", day: "2-digit" });

/** The calendar day in Tehran, e.g. `2026-11-23`. */
export function tehranDay(ms: number): string {
  return TEHRAN_DAY.format(ms);
}

/** Milliseconds until the next midnight in Tehran (Iran keeps UTC+03:30 all year). */
export function msUntilTehranMidnight(ms: number): number {
  const offset = 3.5 * 3600_000;
  const day = 86_400_000;
  return day - ((ms + offset) % day);
}

/** How long the daily quota goes unenforced after the store failed to answer, before it is asked again. */
const STORE_FAILURE_PAUSE_MS = 1_000;
/** How long an inquiry waits for the store's answer before it goes through unenforced (a hanging store). */
const STORE_PATIENCE_MS = 500;

function leaseSize(perDay: number): number {
  return perDay <= 1000 ? 1 : Math.min(1000, Math.floor(perDay / 1000));
}

function grantKey(grant: Grant): string {
  return grant.name;
}

export function createQuotas(options: QuotasOptions): Quotas {
  const { store, events = {} } = options;
  const now = options.now ?? Date.now;
  const buckets = new Map<string, Bucket>();
  const leases = new Map<string, DailyLease>();
  let instances = 1;
  let closed = false;

  const sync = async (): Promise<void> => {
    try {
      instances = await store.heartbeat(options.instance);
    } catch (error) {
      events.onStoreError?.(error as Error);
    }
  };
  const ready = options.shared ? sync() : Promise.resolve();
  const timer = options.shared ? setInterval(() => void sync(), options.syncMs) : undefined;
  timer?.unref();

  function checkSecond(grant: Grant, perSecond: number): number | undefined {
    const rate = perSecond / instances;
    const burst = Math.max(1, rate);
    const at = now();
    const key = grantKey(grant);
    let bucket = buckets.get(key);
    if (bucket === undefined) {
      bucket = { tokens: burst, refilledAt: at };
      buckets.set(key, bucket);
    }
    bucket.tokens = Math.min(burst, bucket.tokens + ((at - bucket.refilledAt) / 1000) * rate);
    bucket.refilledAt = at;
    if (bucket.tokens >= 1) {
      bucket.tokens -= 1;
      return undefined;
    }
    return Math.ceil(((1 - bucket.tokens) / rate) * 1000);
  }

  async function takeDay(grant: Grant, perDay: number): Promise<boolean> {
    const key = grantKey(grant);
    const day = tehranDay(now());
    let lease = leases.get(key);
    if (lease === undefined || lease.day !== day) {
      lease = { day, left: 0, exhausted: undefined, unenforcedUntil: 0, asking: undefined };
      leases.set(key, lease);
    }
    const current = lease;
    if (current.exhausted !== undefined && current.exhausted !== perDay) current.exhausted = undefined;
    while (current.left === 0 && current.exhausted === undefined) {
      // The store failed, or is slower than an inquiry waits: the daily quota is not enforced meanwhile, and
      // every waiting inquiry goes through at once (not one per attempt, each as slow as the store's time-out).
      if (now() < current.unenforcedUntil) return true;
      current.asking ??= new Promise<boolean>((settle) => {
        const impatient = setTimeout(() => settle(false), STORE_PATIENCE_MS);
        impatient.unref();
        store
          .takeDaily(key, day, leaseSize(perDay), perDay)
          .then(
            (got) => {
              if (got === 0) current.exhausted = perDay;
              current.left += got;
            },
            (error: unknown) => {
              events.onStoreError?.(error as Error);
              current.unenforcedUntil = now() + STORE_FAILURE_PAUSE_MS;
            },
          )
          .finally(() => {
            clearTimeout(impatient);
            current.asking = undefined;
            settle(true);
          });
      });
      const answered = await current.asking;
      if (!answered) return true;
    }
    if (current.left === 0) return false;
    current.left -= 1;
    return true;
  }

  const interceptor: InquiryInterceptor = (next) => async (ctx) => {
    const credential = ctx.credential;
    const type = ctx.inquiryType;
    if (credential === undefined || type === undefined) throw new EstelamError("INTERNAL", "quotas reached before authorization");
    const grant = grantFor(ctx.snapshot, credential, type.id);
    const { perSecond, perDay } = grant.quota;
    if (perSecond !== undefined) {
      const waitMs = checkSecond(grant, perSecond);
      if (waitMs !== undefined) {
        events.onRefused?.(credential.agency, type.id, "second");
        throw new EstelamError(
          "QUOTA_EXCEEDED",
          `grant '${grant.name}' allows ${perSecond} inquiries per second${instances > 1 ? ` (${instances} gateway instances share it)` : ""}`,
          { retryAfterMs: waitMs },
        );
      }
    }
    if (perDay !== undefined && !(await takeDay(grant, perDay))) {
      events.onRefused?.(credential.agency, type.id, "day");
      throw new EstelamError("QUOTA_EXCEEDED", `grant '${grant.name}' allows ${perDay} inquiries per day and they are used up`, {
        retryAfterMs: msUntilTehranMidnight(now()),
      });
    }
    if (perSecond !== undefined || perDay !== undefined) events.onAdmitted?.(credential.agency, type.id);
    return next(ctx);
  };

  return {
    interceptor,
    instances: () => instances,
    async close() {
      if (closed) return;
      closed = true;
      clearInterval(timer);
      await ready;
      if (options.shared) await store.leave(options.instance).catch((error: unknown) => events.onStoreError?.(error as Error));
    },
  };
}
