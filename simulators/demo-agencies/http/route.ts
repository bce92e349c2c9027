// What an agency behind the HTTP face is made of: routes (path, methods, handler) and a style, the way
// the agency words its own troubles (faults, wrong methods, oversized bodies) in its own format.
import type { IncomingHttpHeaders, IncomingMessage, ServerResponse } from "node:http";
import type { AgencyName } from "../agencies.ts";

export interface AgencyRequest {
  readonly method: string;
  /** `http://host:port` or `https://…` as the client reached this face (from its Host header). */
  readonly origin: string;
  readonly url: URL;
  /** Path parameters, from the named groups of the route's pattern. */
  readonly params: Readonly<Record<string, string>>;
  readonly headers: IncomingHttpHeaders;
  readonly body: Buffer;
}

export interface Reply {
  readonly status: number;
  readonly body: string;
  readonly contentType: string;
  readonly headers?: Readonly<Record<string, string>>;
}

/** The format of an agency's answers, which hostile answers imitate (a SOAP agency's bomb is XML). */
export type BodyFormat = "json" | "soap11" | "soap12";

export interface AgencyStyle {
  readonly format: BodyFormat;
  /** The answer to an injected error (mode `error`, `errorRate`, an outage). */
  unavailable(status: number): Reply;
  methodNotAllowed(allowed: readonly string[]): Reply;
  tooLarge(limitBytes: number): Reply;
}

interface RouteBase {
  readonly agency: AgencyName;
  readonly methods: readonly string[];
  /** An exact path, or a pattern whose named groups become `params`. */
  readonly path: string | RegExp;
  /** How a pattern reads to people, e.g. `/sayad/api/v1/cheques/{sayadId}`. */
  readonly template?: string;
  readonly style: AgencyStyle;
  /** Requests served at once, outside faults and stats: fetching a WSDL, like a static file. */
  readonly passThrough?: (req: IncomingMessage, url: URL) => boolean;
}

export interface HandledRoute extends RouteBase {
  handle(request: AgencyRequest): Reply;
}

/** A route whose answers come from another HTTP implementation (the `soap` package's server). */
export interface DelegatedRoute extends RouteBase {
  delegate(req: IncomingMessage, res: ServerResponse, body: Buffer | undefined): void;
}

export type HttpRoute = HandledRoute | DelegatedRoute;

export const JSON_TYPE = "application/json; charset=utf-8";

export function json(status: number, body: unknown, headers?: Readonly<Record<string, string>>): Reply {
  return { status, body: JSON.stringify(body), contentType: JSON_TYPE, ...(headers === undefined ? {} : { headers }) };
}

/** A JSON agency's style: each agency passes its own error body. */
export function jsonStyle(
  errorBody: (status: number, code: string, message: string) => unknown,
  extra: { readonly tooLargeHeaders?: boolean } = {},
): AgencyStyle {
  return {
    format: "json",
    unavailable: (status) => json(status, errorBody(status, "unavailable", "the agency's service is temporarily unavailable")),
    methodNotAllowed: (allowed) =>
      json(405, errorBody(405, "method_not_allowed", `use ${allowed.join(" or ")}`), { allow: allowed.join(", ") }),
    tooLarge: (limit) =>
      json(
        413,
        errorBody(413, "bad_request", `the body must be at most ${limit} bytes`),
        extra.tooLargeHeaders === false ? undefined : { connection: "close" },
      ),
  };
}

/** Reads a header that may be repeated, as one string. */
export function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name.toLowerCase()];
  return Array.isArray(value) ? value.join(", ") : value;
}
