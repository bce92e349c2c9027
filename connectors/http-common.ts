// What the HTTP-based kinds (http-json, soap) share: a keep-alive pool per endpoint with the endpoint's TLS
// settings (a CA of its own, a client certificate for mutual TLS), and closing an answer early.
import { readFileSync } from "node:fs";
import { Pool } from "undici";
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

export function createPool(origin: string, settings: PoolSettings): Pool {
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

export interface Body extends AsyncIterable<Buffer> {
  destroy(error?: Error): unknown;
  on(event: "error", listener: (error: Error) => void): unknown;
}

/** Stops reading an answer and closes its connection; the stream's own abort error is expected, not news. */
export function discard(body: Body): void {
  body.on("error", () => undefined);
  body.destroy();
}

/** Reads a body through a guard that sees every chunk (and throws to stop); the bytes, concatenated. */
export async function readGuarded(body: Body, guard: { feed(chunk: Uint8Array): void }): Promise<Buffer> {
  const chunks: Buffer[] = [];
  let size = 0;
  try {
    for await (const chunk of body) {
      guard.feed(chunk);
      chunks.push(chunk);
      size += chunk.length;
    }
  } catch (error) {
    discard(body);
    throw error;
  }
  return Buffer.concat(chunks, size);
}
