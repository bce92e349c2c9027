// What the hand-written SOAP agency needs: reading an envelope (fast-xml-parser, no DTDs: SOAP forbids
// them), checking a WS-Security UsernameToken, and writing answers and faults. The checks on the token
// are shared with the agency built on the `soap` package, which parses envelopes its own way.
import { createHash, timingSafeEqual } from "node:crypto";
import { XMLParser } from "fast-xml-parser";

export const SOAP11_NS = "http://schemas.xmlsoap.org/soap/envelope/";
export const SOAP12_NS = "http://www.w3.org/2003/05/soap-envelope";
export const WSSE_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
export const WSU_NS = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const TOKEN_PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0";
export const PASSWORD_TEXT = `${TOKEN_PROFILE}#PasswordText`;
export const PASSWORD_DIGEST = `${TOKEN_PROFILE}#PasswordDigest`;

/** How far a digest token's Created may be from the server's clock. */
const FRESHNESS_MS = 5 * 60_000;

export function escapeXml(text: string): string {
  return text.replace(/[<>&"']/g, (c) => ({ "<": "&lt;", ">": "&gt;", "&": "&amp;", '"': "&quot;", "'": "&apos;" })[c] ?? c);
}

export type XmlNode = Record<string, unknown>;

export interface ParsedEnvelope {
  /** Namespace URI of the Envelope element: tells SOAP 1.1 from 1.2. */
  readonly envelopeNs: string;
  readonly header: XmlNode | undefined;
  readonly body: XmlNode | undefined;
}

const parser = new XMLParser({
  ignoreAttributes: false,
  attributeNamePrefix: "@",
  removeNSPrefix: false,
  processEntities: false,
  parseTagValue: false,
  parseAttributeValue: false,
  trimValues: true,
});

function localName(name: string): string {
  const colon = name.indexOf(":");
  return colon < 0 ? name : name.slice(colon + 1);
}

/** The first child element whose local name is `name` (namespace prefixes vary from client to client). */
export function child(node: unknown, name: string): unknown {
  if (typeof node !== "object" || node === null) return undefined;
  for (const [key, value] of Object.entries(node))
    if (!key.startsWith("@") && localName(key) === name) return Array.isArray(value) ? value[0] : value;
  return undefined;
}

/** The text of an element (which may carry attributes). */
export function text(node: unknown): string | undefined {
  if (typeof node === "string") return node;
  if (typeof node === "object" && node !== null && "#text" in node) {
    const value = (node as XmlNode)["#text"];
    return typeof value === "string" ? value : undefined;
  }
  return node === "" ? "" : undefined;
}

/** An attribute by local name. */
export function attribute(node: unknown, name: string): string | undefined {
  if (typeof node !== "object" || node === null) return undefined;
  for (const [key, value] of Object.entries(node))
    if (key.startsWith("@") && localName(key.slice(1)) === name && typeof value === "string") return value;
  return undefined;
}

/** Reads a SOAP envelope; undefined if it is not well-formed XML with an Envelope at its root or carries a DTD. */
export function parseEnvelope(xml: string): ParsedEnvelope | undefined {
  if (/<!DOCTYPE/i.test(xml)) return undefined;
  let doc: XmlNode;
  try {
    doc = parser.parse(xml, true) as XmlNode;
  } catch {
    return undefined;
  }
  const rootKey = Object.keys(doc).find((key) => !key.startsWith("?") && localName(key) === "Envelope");
  if (rootKey === undefined) return undefined;
  const envelope = doc[rootKey] as XmlNode;
  const prefix = rootKey.includes(":") ? rootKey.slice(0, rootKey.indexOf(":")) : "";
  const declared = envelope[prefix === "" ? "@xmlns" : `@xmlns:${prefix}`];
  const envelopeNs = typeof declared === "string" ? declared : "";
  const header = child(envelope, "Header");
  const body = child(envelope, "Body");
  return {
    envelopeNs,
    header: typeof header === "object" && header !== null ? (header as XmlNode) : undefined,
    body: typeof body === "object" && body !== null ? (body as XmlNode) : undefined,
  };
}

/** A UsernameToken as the client sent it, whatever parser read it. */
export interface UsernameToken {
  readonly username: string | undefined;
  readonly password: string | undefined;
  readonly passwordType: string | undefined;
  readonly nonce: string | undefined;
  readonly created: string | undefined;
}

export type TokenCheck = "ok" | "missing" | "failed";

function same(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}

/**
 * Checks a UsernameToken against the expected user and password: PasswordText compares the password;
 * PasswordDigest compares Base64(SHA-1(nonce + created + password)) and requires Created within five minutes.
 */
export function checkUsernameToken(
  token: UsernameToken | undefined,
  expected: { readonly username: string; readonly password: string },
  now = Date.now(),
): TokenCheck {
  if (token === undefined || token.username === undefined || token.password === undefined) return "missing";
  if (token.username !== expected.username) return "failed";
  const type = token.passwordType ?? PASSWORD_TEXT;
  if (type === PASSWORD_TEXT) return same(Buffer.from(token.password), Buffer.from(expected.password)) ? "ok" : "failed";
  if (type !== PASSWORD_DIGEST || token.nonce === undefined || token.created === undefined) return "failed";
  const created = Date.parse(token.created);
  if (!Number.isFinite(created) || Math.abs(now - created) > FRESHNESS_MS) return "failed";
  const digest = createHash("sha1")
    .update(Buffer.concat([Buffer.from(token.nonce, "base64"), Buffer.from(token.created), Buffer.from(expected.password)]))
    .digest();
  return same(Buffer.from(token.password, "base64"), digest) ? "ok" : "failed";
}

/** The UsernameToken in a SOAP Header read by fast-xml-parser. */
export function usernameTokenOf(header: XmlNode | undefined): UsernameToken | undefined {
  const token = child(child(header, "Security"), "UsernameToken");
  if (token === undefined) return undefined;
  const password = child(token, "Password");
  return {
    username: text(child(token, "Username")),
    password: text(password),
    passwordType: attribute(password, "Type"),
    nonce: text(child(token, "Nonce")),
    created: text(child(token, "Created")),
  };
}
