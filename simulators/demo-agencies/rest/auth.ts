// The credential checks of the REST agencies: a bearer token, an API-key header or HTTP basic.
import { timingSafeEqual } from "node:crypto";
import type { IncomingHttpHeaders } from "node:http";
import { header } from "../http/route.ts";

function same(given: string, expected: string): boolean {
  const a = Buffer.from(given);
  const b = Buffer.from(expected);
  return a.length === b.length && timingSafeEqual(a, b);
}

export function hasBearer(headers: IncomingHttpHeaders, token: string): boolean {
  const value = header(headers, "authorization");
  const match = value === undefined ? null : /^Bearer\s+(\S+)\s*$/i.exec(value);
  return match !== null && same(match[1] ?? "", token);
}

export function hasApiKey(headers: IncomingHttpHeaders, name: string, key: string): boolean {
  const value = header(headers, name);
  return value !== undefined && same(value, key);
}

export function hasBasic(headers: IncomingHttpHeaders, username: string, password: string): boolean {
  const value = header(headers, "authorization");
  const match = value === undefined ? null : /^Basic\s+([A-Za-z0-9+/=]+)\s*$/i.exec(value);
  if (match === null) return false;
  return same(Buffer.from(match[1] ?? "", "base64").toString("utf8"), `${username}:${password}`);
}
