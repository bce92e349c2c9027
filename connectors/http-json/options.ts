// Options of the `http-json` connector kind, validated when registry documents are checked.
import type { OptionIssue, OptionsResult } from "../connector.ts";

export interface HttpJsonEndpointOptions {
  /** Origin (and optional path prefix) of the agency's service, e.g. `https://api.nocr.example/v1`. */
  readonly baseUrl: URL;
  /** Keep-alive connections in the pool at most. */
  readonly connections: number;
  /** Requests pipelined on one connection (1 = none). */
  readonly pipelining: number;
  readonly connectTimeoutMs: number;
  readonly keepAliveTimeoutMs: number;
  /** Largest agency answer accepted; a larger one is AGENCY_BAD_RESPONSE. */
  readonly maxResponseBytes: number;
  /** Extra request headers (e.g. an agency-issued API key). */
  readonly headers: Readonly<Record<string, string>>;
}

export interface HttpJsonOperation {
  /** Path under the base URL, e.g. `/nocr/identity-match`. */
  readonly path: string;
  readonly method: "POST" | "PUT";
  /** HTTP statuses that mean "no record" (a business answer). */
  readonly notFoundStatuses: ReadonlySet<number>;
  /** HTTP statuses that mean "declined for a business reason". */
  readonly rejectedStatuses: ReadonlySet<number>;
}

type Raw = Record<string, unknown>;

function objectOf(raw: unknown, path: string, keys: readonly string[], issues: OptionIssue[]): Raw {
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    issues.push({ path, message: "must be an object" });
    return {};
  }
  for (const key of Object.keys(raw))
    if (!keys.includes(key)) issues.push({ path: `${path}.${key}`, message: `unknown option (allowed: ${keys.join(", ")})` });
  return raw as Raw;
}

function integer(o: Raw, key: string, path: string, fallback: number, min: number, max: number, issues: OptionIssue[]): number {
  const v = o[key];
  if (v === undefined) return fallback;
  if (typeof v !== "number" || !Number.isInteger(v) || v < min || v > max) {
    issues.push({ path: `${path}.${key}`, message: `must be an integer from ${min} to ${max}` });
    return fallback;
  }
  return v;
}

function statuses(o: Raw, key: string, path: string, fallback: number[], issues: OptionIssue[]): ReadonlySet<number> {
  const v = o[key];
  if (v === undefined) return new Set(fallback);
  if (!Array.isArray(v) || !v.every((s) => Number.isInteger(s) && s >= 400 && s <= 499)) {
    issues.push({ path: `${path}.${key}`, message: "must be a list of HTTP 4xx statuses" });
    return new Set(fallback);
  }
  return new Set(v as number[]);
}

export function validateEndpoint(raw: unknown, path: string): OptionsResult<HttpJsonEndpointOptions> {
  const issues: OptionIssue[] = [];
  const o = objectOf(
    raw,
    path,
    ["baseUrl", "connections", "pipelining", "connectTimeoutMs", "keepAliveTimeoutMs", "maxResponseBytes", "headers"],
    issues,
  );
  let baseUrl: URL | undefined;
  if (typeof o.baseUrl !== "string") issues.push({ path: `${path}.baseUrl`, message: "is required (an http:// or https:// URL)" });
  else {
    try {
      baseUrl = new URL(o.baseUrl);
      if (baseUrl.protocol !== "http:" && baseUrl.protocol !== "https:")
        issues.push({ path: `${path}.baseUrl`, message: "must be an http:// or https:// URL" });
      if (baseUrl.search !== "" || baseUrl.hash !== "")
        issues.push({ path: `${path}.baseUrl`, message: "must not have a query or fragment" });
    } catch {
      issues.push({ path: `${path}.baseUrl`, message: `'${o.baseUrl}' is not a URL` });
    }
  }
  const headers: Record<string, string> = {};
  if (o.headers !== undefined) {
    const h = objectOf(o.headers, `${path}.headers`, Object.keys(o.headers ?? {}), issues);
    for (const [name, value] of Object.entries(h)) {
      if (typeof value !== "string" || !/^[A-Za-z0-9-]+$/.test(name))
        issues.push({ path: `${path}.headers.${name}`, message: "must be a header name with a string value" });
      else headers[name.toLowerCase()] = value;
    }
  }
  const options: HttpJsonEndpointOptions = {
    baseUrl: baseUrl ?? new URL("http://invalid"),
    connections: integer(o, "connections", path, 64, 1, 4096, issues),
    pipelining: integer(o, "pipelining", path, 1, 1, 128, issues),
    connectTimeoutMs: integer(o, "connectTimeoutMs", path, 2_000, 1, 60_000, issues),
    keepAliveTimeoutMs: integer(o, "keepAliveTimeoutMs", path, 30_000, 100, 600_000, issues),
    maxResponseBytes: integer(o, "maxResponseBytes", path, 1 << 20, 1, 64 << 20, issues),
    headers,
  };
  return issues.length > 0 ? { ok: false, issues } : { ok: true, options };
}

export function validateOperation(raw: unknown, path: string): OptionsResult<HttpJsonOperation> {
  const issues: OptionIssue[] = [];
  const o = objectOf(raw, path, ["path", "method", "notFoundStatuses", "rejectedStatuses"], issues);
  if (typeof o.path !== "string" || !o.path.startsWith("/"))
    issues.push({ path: `${path}.path`, message: "is required (a path starting with '/')" });
  if (o.method !== undefined && o.method !== "POST" && o.method !== "PUT")
    issues.push({ path: `${path}.method`, message: "must be POST or PUT" });
  const operation: HttpJsonOperation = {
    path: typeof o.path === "string" ? o.path : "/",
    method: o.method === "PUT" ? "PUT" : "POST",
    notFoundStatuses: statuses(o, "notFoundStatuses", path, [404], issues),
    rejectedStatuses: statuses(o, "rejectedStatuses", path, [409, 422], issues),
  };
  return issues.length > 0 ? { ok: false, issues } : { ok: true, options: operation };
}
