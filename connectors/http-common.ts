// What the HTTP-based kinds (http-json, soap) share: a keep-alive pool per endpoint with the endpoint's TLS
// settings (a CA of its own, a client certificate for mutual TLS), and one exchange of a request and its
// guarded answer.
//
// Requests beyond what the pool's connections can carry at once (connections × pipelining) wait in the pool's
// own queue, not undici's: a request cancelled while it waits in undici's queue is aborted when a connection
// takes it, which closes that healthy connection; one cancelled in this queue just leaves it.
import { readFileSync } from "node:fs";
import type { IncomingHttpHeaders } from "node:http";
import { type Dispatcher, Pool } from "undici";
import type { OptionIssue } from "./connector.ts";

export interface HttpTls {
  /** PEM of the CA(s) the agency's certificate must chain to (instead of the system's). */
  readonly ca: string | undefined;
  /** Client certificate and key (PEM) for mutual TLS. */
  readonly cert: string | undefined;
  readonly key: string | undefined;
  readonly serverName: string | undefined;
}

export interface PoolSettings {
  readonly connections: number;
  readonly pipelining: number;
  readonly connectTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  readonly tls: HttpTls;
}

export const POOL_SCHEMA = {
  connections: { type: "integer", minimum: 1, maximum: 4096, default: 64 },
  pipelining: { type: "integer", minimum: 1, maximum: 128, default: 1 },
  connectTimeoutMs: { type: "integer", minimum: 1, maximum: 60_000, default: 2_000 },
  keepAliveTimeoutMs: { type: "integer", minimum: 100, maximum: 600_000, default: 30_000 },
  tls: {
    type: "object",
    additionalProperties: false,
    properties: {
      caFile: { type: "string", minLength: 1 },
      certFile: { type: "string", minLength: 1 },
      keyFile: { type: "string", minLength: 1 },
      serverName: { type: "string", minLength: 1 },
    },
    dependentRequired: { certFile: ["keyFile"], keyFile: ["certFile"] },
  },
} as const;

/** Reads a PEM file named in the options; a problem names the option. */
export function readPem(file: unknown, path: string, issues: OptionIssue[]): string | undefined {
  if (typeof file !== "string") return undefined;
  try {
    return readFileSync(file, "utf8");
  } catch (error) {
    issues.push({ path, message: `cannot read '${file}' (${(error as NodeJS.ErrnoException).code ?? (error as Error).message})` });
    return undefined;
  }
}

/** The pool settings of schema-valid options; `url` is the endpoint's address (TLS needs https). */
export function poolSettingsOf(o: Record<string, unknown>, url: URL, path: string, issues: OptionIssue[]): PoolSettings {
  const t = (o.tls ?? {}) as Record<string, string | undefined>;
  if (o.tls !== undefined && url.protocol !== "https:") issues.push({ path: `${path}.tls`, message: "needs an https:// address" });
  return {
    connections: o.connections as number,
    pipelining: o.pipelining as number,
    connectTimeoutMs: o.connectTimeoutMs as number,
    keepAliveTimeoutMs: o.keepAliveTimeoutMs as number,
    tls: {
      ca: readPem(t.caFile, `${path}.tls.caFile`, issues),
      cert: readPem(t.certFile, `${path}.tls.certFile`, issues),
      key: readPem(t.keyFile, `${path}.tls.keyFile`, issues),
      serverName: t.serverName,
    },
  };
}

/** Parses a URL option; a problem names the option. */
export function urlOption(raw: unknown, path: string, issues: OptionIssue[]): URL {
  try {
    const url = new URL(String(raw));
    if (url.protocol !== "http:" && url.protocol !== "https:") issues.push({ path, message: "must be an http:// or https:// URL" });
    if (url.hash !== "") issues.push({ path, message: "must not have a fragment" });
    return url;
  } catch {
    issues.push({ path, message: `'${String(raw)}' is not a URL` });
    return new URL("http://invalid");
  }
}

/** An endpoint's connections, and the queue of requests waiting for a place on them. */
export interface AgencyPool {
  /** undici's pool, for requests outside the queue (a warm-up, a WSDL fetch). */
  readonly dispatcher: Pool;
  /**
   * Takes a place on the wire: undefined when one is free now, else a promise that resolves once one is
   * given, or rejects with the signal's reason if it fires first (the request then holds no place).
   */
  enter(signal: AbortSignal): Promise<void> | undefined;
  /** Gives a place back (once per place taken), to the longest waiting request. */
  leave(): void;
  close(): Promise<void>;
}

export function createPool(origin: string, settings: PoolSettings): AgencyPool {
  const dispatcher = undiciPool(origin, settings);
  const places = settings.connections * settings.pipelining;
  let taken = 0;
  // Insertion-ordered, and a waiter that gives up is removed in constant time.
  const waiting = new Set<() => void>();
  return {
    dispatcher,
    enter(signal) {
      if (taken < places && waiting.size === 0) {
        taken += 1;
        return undefined;
      }
      return new Promise<void>((resolve, reject) => {
        const given = (): void => {
          signal.removeEventListener("abort", gaveUp);
          resolve();
        };
        const gaveUp = (): void => {
          waiting.delete(given);
          reject(abortReason(signal));
        };
        waiting.add(given);
        signal.addEventListener("abort", gaveUp, { once: true });
      });
    },
    leave() {
      const next = waiting.values().next();
      if (next.done === true) taken -= 1;
      else {
        // The place passes straight to the next request.
        waiting.delete(next.value);
        next.value();
      }
    },
    close: () => dispatcher.close(),
  };
}

function undiciPool(origin: string, settings: PoolSettings): Pool {
  const { tls } = settings;
  return new Pool(origin, {
    connections: settings.connections,
    pipelining: settings.pipelining,
    connect: {
      timeout: settings.connectTimeoutMs,
      ...(tls.ca === undefined ? {} : { ca: tls.ca }),
      ...(tls.cert === undefined ? {} : { cert: tls.cert, key: tls.key }),
      ...(tls.serverName === undefined ? {} : { servername: tls.serverName }),
    },
    keepAliveTimeout: settings.keepAliveTimeoutMs,
    // Deadlines come from the per-call abort signal, not from undici's own (much longer) timers; a
    // redirect is an answer like any other (never followed).
    headersTimeout: 0,
    bodyTimeout: 0,
  });
}

/** How to take an answer's body, decided once its status and headers are in. */
export type BodyPlan =
  /** Read it through `guard`, which sees every chunk and throws to stop reading. */
  | { readonly guard: { feed(chunk: Uint8Array): void } }
  /** Do not read it: the connection is closed and the exchange fails with this error. */
  | { readonly refuse: Error };

export interface ExchangeRequest {
  readonly path: string;
  readonly method: Dispatcher.HttpMethod;
  readonly headers?: Record<string, string>;
  readonly body?: string | undefined;
  /** Ends the exchange at once (the connection is closed); the exchange fails with the signal's reason. */
  readonly signal: AbortSignal;
}

export interface ExchangeAnswer {
  readonly statusCode: number;
  readonly headers: IncomingHttpHeaders;
  /** The body's bytes, concatenated. */
  readonly body: Buffer;
}

/**
 * One request and its whole answer, through undici's dispatcher handler: the body's chunks go to the plan's
 * guard and into one buffer as they arrive, with no stream per answer. Stopping early (the plan refuses the
 * answer, the guard throws, the signal aborts) closes the connection, so nothing more of that answer is read.
 */
export async function exchange(
  pool: AgencyPool,
  request: ExchangeRequest,
  plan: (statusCode: number, headers: IncomingHttpHeaders) => BodyPlan,
): Promise<ExchangeAnswer> {
  if (request.signal.aborted) throw abortReason(request.signal);
  // A request that gives up while it waits never holds a place; one that gets a place gives it back.
  const waiting = pool.enter(request.signal);
  if (waiting !== undefined) await waiting;
  try {
    return await send(pool.dispatcher, request, plan);
  } finally {
    pool.leave();
  }
}

function send(
  pool: Dispatcher,
  request: ExchangeRequest,
  plan: (statusCode: number, headers: IncomingHttpHeaders) => BodyPlan,
): Promise<ExchangeAnswer> {
  const { signal } = request;
  if (signal.aborted) return Promise.reject(abortReason(signal));
  return new Promise<ExchangeAnswer>((resolve, reject) => {
    let controller: Dispatcher.DispatchController | undefined;
    let stopped: Error | undefined;
    let statusCode = 0;
    let headers: IncomingHttpHeaders = {};
    let guard: { feed(chunk: Uint8Array): void } | undefined;
    const chunks: Buffer[] = [];
    let size = 0;
    const settle = (error?: Error): void => {
      if (stopped !== undefined) return;
      signal.removeEventListener("abort", onAbort);
      if (error === undefined) {
        stopped = DONE;
        resolve({ statusCode, headers, body: Buffer.concat(chunks, size) });
      } else {
        stopped = error;
        reject(error);
      }
    };
    // Settled first, so the handler's own error callback, which aborting may call at once, changes nothing.
    const stop = (error: Error): void => {
      settle(error);
      controller?.abort(error);
    };
    const onAbort = (): void => stop(abortReason(signal));
    signal.addEventListener("abort", onAbort, { once: true });
    pool.dispatch(
      { path: request.path, method: request.method, headers: request.headers, body: request.body },
      {
        onRequestStart(started) {
          controller = started;
          // Stopped while waiting for a connection: it is not sent.
          if (stopped !== undefined) started.abort(stopped);
        },
        onResponseStart(_, status, responseHeaders) {
          // An informational answer (102, 103) comes before the real one.
          if (status < 200) return;
          statusCode = status;
          headers = responseHeaders;
          let decided: BodyPlan;
          try {
            decided = plan(status, responseHeaders);
          } catch (error) {
            stop(asError(error));
            return;
          }
          if ("refuse" in decided) stop(decided.refuse);
          else guard = decided.guard;
        },
        onResponseData(_, chunk) {
          if (stopped !== undefined) return;
          try {
            guard?.feed(chunk);
          } catch (error) {
            stop(asError(error));
            return;
          }
          chunks.push(chunk);
          size += chunk.length;
        },
        onResponseEnd: () => settle(),
        onResponseError: (_, error) => settle(error),
      },
    );
  });
}

/** Marks an exchange that has resolved. */
const DONE = new Error("the exchange is complete");

function asError(thrown: unknown): Error {
  return thrown instanceof Error ? thrown : new Error(String(thrown));
}

function abortReason(signal: AbortSignal): Error {
  return signal.reason instanceof Error ? signal.reason : new Error("the request was aborted");
}
