// Closed-loop load: `concurrency` workers each send the next inquiry as soon as their previous one is
// answered, until the list is done. Every inquiry's latency is measured on its own (performance.now, sub-µs
// resolution) and percentiles are read from the sorted latencies, so they are exact rather than bucketed.

import { Pool } from "undici";
import { createInquiryClient, grpcCodeName } from "../../cli/client.ts";
import { Answer } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import type { BenchInquiry } from "./workload.ts";

export type BusinessAnswer = "found" | "not_found" | "rejected";

/** Sends one inquiry; resolves with the business answer, throws on any failure. */
export type Sender = (inquiry: BenchInquiry) => Promise<BusinessAnswer>;

export interface PhaseResult {
  readonly count: number;
  readonly seconds: number;
  /** Latency of each inquiry in milliseconds, in the order of the list. */
  readonly latenciesMs: Float64Array;
  readonly errors: number;
  /** The first few failures, as text. */
  readonly errorSamples: readonly string[];
  readonly answers: Readonly<Record<BusinessAnswer, number>>;
}

export interface LatencySummary {
  readonly p50: number;
  readonly p90: number;
  readonly p99: number;
  readonly max: number;
  readonly mean: number;
}

const MAX_ERROR_SAMPLES = 5;

export async function runLoad(
  inquiries: readonly BenchInquiry[],
  concurrency: number,
  send: Sender,
  signal?: AbortSignal,
): Promise<PhaseResult> {
  const latenciesMs = new Float64Array(inquiries.length);
  const answers: Record<BusinessAnswer, number> = { found: 0, not_found: 0, rejected: 0 };
  const errorSamples: string[] = [];
  let errors = 0;
  let next = 0;
  let done = 0;

  const worker = async (): Promise<void> => {
    while (next < inquiries.length && signal?.aborted !== true) {
      const index = next++;
      const inquiry = inquiries[index] as BenchInquiry;
      const started = performance.now();
      try {
        answers[await send(inquiry)]++;
      } catch (error) {
        errors++;
        if (errorSamples.length < MAX_ERROR_SAMPLES)
          errorSamples.push(`${inquiry.inquiryType}: ${error instanceof Error ? error.message : String(error)}`);
      }
      latenciesMs[index] = performance.now() - started;
      done++;
    }
  };
  const started = performance.now();
  await Promise.all(Array.from({ length: Math.min(concurrency, inquiries.length) }, worker));
  const seconds = (performance.now() - started) / 1000;
  if (done < inquiries.length) throw new Error(`stopped after ${done} of ${inquiries.length} inquiries`);
  return { count: inquiries.length, seconds, latenciesMs, errors, errorSamples, answers };
}

export interface OpenLoopResult {
  readonly count: number;
  /** Wall time from the first scheduled inquiry to the last answer. */
  readonly seconds: number;
  /** Each inquiry's latency from its scheduled send time to its answer, in milliseconds. */
  readonly latenciesMs: Float64Array;
  /** How late the sending was, at worst (the client's own lag, counted in the latencies above). */
  readonly maxSendLagMs: number;
  readonly errors: number;
  readonly errorSamples: readonly string[];
}

/**
 * Open-loop load: inquiry i is due at start + i / rate, whether or not earlier ones have been answered, and
 * its latency counts from that scheduled time (so a stall delays every inquiry due during it, as it would
 * real traffic; no coordinated omission). The list bounds the run; each inquiry is bounded by its deadline.
 */
export async function runOpenLoop(
  inquiries: readonly BenchInquiry[],
  ratePerSecond: number,
  send: Sender,
  signal?: AbortSignal,
): Promise<OpenLoopResult> {
  const latenciesMs = new Float64Array(inquiries.length);
  const errorSamples: string[] = [];
  const intervalMs = 1000 / ratePerSecond;
  let errors = 0;
  let maxSendLagMs = 0;
  const pending: Promise<void>[] = [];
  const start = performance.now();
  const one = async (index: number, scheduled: number): Promise<void> => {
    const inquiry = inquiries[index] as BenchInquiry;
    try {
      await send(inquiry);
    } catch (error) {
      errors++;
      if (errorSamples.length < MAX_ERROR_SAMPLES)
        errorSamples.push(`${inquiry.inquiryType}: ${error instanceof Error ? error.message : String(error)}`);
    }
    latenciesMs[index] = performance.now() - scheduled;
  };
  let next = 0;
  while (next < inquiries.length && signal?.aborted !== true) {
    const now = performance.now();
    // Every inquiry already due goes now, each timed from its own scheduled moment.
    while (next < inquiries.length && start + next * intervalMs <= now) {
      const scheduled = start + next * intervalMs;
      maxSendLagMs = Math.max(maxSendLagMs, now - scheduled);
      pending.push(one(next, scheduled));
      next++;
    }
    if (next < inquiries.length) await new Promise((done) => setTimeout(done, Math.max(0, start + next * intervalMs - performance.now())));
  }
  await Promise.all(pending);
  if (next < inquiries.length) throw new Error(`stopped after ${next} of ${inquiries.length} inquiries`);
  return { count: inquiries.length, seconds: (performance.now() - start) / 1000, latenciesMs, maxSendLagMs, errors, errorSamples };
}

/** Nearest-rank percentile `p` (0–1) of the latencies. */
export function percentile(latenciesMs: Float64Array, p: number): number {
  const sorted = Float64Array.from(latenciesMs).sort();
  return sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
}

/** Nearest-rank percentiles of the latencies. */
export function summarizeLatencies(latenciesMs: Float64Array): LatencySummary {
  const sorted = Float64Array.from(latenciesMs).sort();
  const at = (p: number): number => sorted[Math.min(sorted.length - 1, Math.max(0, Math.ceil(p * sorted.length) - 1))] ?? Number.NaN;
  let sum = 0;
  for (const v of sorted) sum += v;
  return { p50: at(0.5), p90: at(0.9), p99: at(0.99), max: sorted[sorted.length - 1] ?? Number.NaN, mean: sum / sorted.length };
}

// ---------------------------------------------------------------------------------------------------------
// The two paths

export interface GatewayPath {
  readonly send: Sender;
  close(): void;
}

/** Through the gateway: one grpc-js channel (one HTTP/2 connection), as an agency's back end would use it. */
export function createGatewayPath(address: string, apiKey: string, endUser: string, deadlineMs: number): GatewayPath {
  const client = createInquiryClient(address, { apiKey });
  return {
    async send(inquiry) {
      const outcome = await client.inquire(
        { inquiryType: inquiry.inquiryType, params: { ...inquiry.params }, purpose: inquiry.purpose, endUser },
        { deadlineMs },
      );
      if (!outcome.ok)
        throw new Error(`gRPC ${grpcCodeName(outcome.status.code)} ${outcome.status.reason ?? ""}: ${outcome.status.message}`);
      const response = outcome.response;
      switch (response.answer) {
        case Answer.FOUND:
          return "found";
        case Answer.NOT_FOUND:
          return "not_found";
        case Answer.REJECTED:
          return "rejected";
        default:
          throw new Error(`answer ${response.answer} is not a business answer`);
      }
    },
    close: () => client.close(),
  };
}

export interface DirectPath {
  readonly send: Sender;
  close(): Promise<void>;
}

/**
 * Straight to the demo agencies: an undici Pool with keep-alive and one connection per inquiry in flight,
 * POSTing the same JSON body the gateway's http-json connector sends and parsing the JSON answer.
 */
export function createDirectPath(baseUrl: string, connections: number, deadlineMs: number): DirectPath {
  const pool = new Pool(baseUrl, {
    connections,
    pipelining: 1,
    keepAliveTimeout: 30_000,
    headersTimeout: deadlineMs,
    bodyTimeout: deadlineMs,
  });
  const headers = { "content-type": "application/json", accept: "application/json" };
  return {
    async send(inquiry) {
      const response = await pool.request({ path: inquiry.agencyPath, method: "POST", headers, body: JSON.stringify(inquiry.params) });
      const body: unknown = await response.body.json();
      if (typeof body !== "object" || body === null) throw new Error(`HTTP ${response.statusCode} without a JSON object`);
      switch (response.statusCode) {
        case 200:
          return "found";
        case 404:
          return "not_found";
        case 422:
          return "rejected";
        default:
          throw new Error(`HTTP ${response.statusCode} ${JSON.stringify(body).slice(0, 200)}`);
      }
    },
    close: () => pool.close(),
  };
}
