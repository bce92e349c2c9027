// Inquiry ids (UUIDv7: time-ordered, so audit records and indexes sort by time) and tracking codes
// (کد پیگیری: short, unambiguous to read aloud or type, with a check symbol that catches typos).
// Random bytes come from a pooled buffer: one crypto call per few hundred inquiries, not per inquiry.
import { randomFillSync } from "node:crypto";

const POOL_SIZE = 8192;
const pool = Buffer.allocUnsafe(POOL_SIZE);
let offset = POOL_SIZE;

function randomBytes(n: number): Buffer {
  if (offset + n > POOL_SIZE) {
    randomFillSync(pool);
    offset = 0;
  }
  const out = pool.subarray(offset, offset + n);
  offset += n;
  return out;
}

const HEX: string[] = Array.from({ length: 256 }, (_, i) => i.toString(16).padStart(2, "0"));

/** A UUIDv7 (RFC 9562): 48-bit Unix milliseconds, version 7, 74 random bits. */
export function newInquiryId(now = Date.now()): string {
  const r = randomBytes(10);
  const t = now.toString(16).padStart(12, "0");
  const b0 = 0x70 | ((r[0] as number) & 0x0f);
  const b2 = 0x80 | ((r[2] as number) & 0x3f);
  return `${t.slice(0, 8)}-${t.slice(8, 12)}-${HEX[b0]}${HEX[r[1] as number]}-${HEX[b2]}${HEX[r[3] as number]}-${HEX[r[4] as number]}${HEX[r[5] as number]}${HEX[r[6] as number]}${HEX[r[7] as number]}${HEX[r[8] as number]}${HEX[r[9] as number]}`;
}

/** Crockford's base 32: no I, L, O or U, so codes survive being read aloud and retyped. */
const ALPHABET = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";
const DATA_SYMBOLS = 11;

function checkSymbol(values: readonly number[]): string {
  // Weighted sum modulo the prime 31: every single-symbol substitution (but 0↔Z) and adjacent swap changes it.
  let sum = 0;
  for (let i = 0; i < values.length; i++) sum += (i + 1) * (values[i] as number);
  return ALPHABET[sum % 31] as string;
}

/** A tracking code such as `7K3M-9QX2-4HB5`: 55 random bits and a check symbol. */
export function newTrackingCode(): string {
  const r = randomBytes(DATA_SYMBOLS);
  const values = Array.from(r, (b) => b & 31);
  const symbols = values.map((v) => ALPHABET[v]).join("") + checkSymbol(values);
  return `${symbols.slice(0, 4)}-${symbols.slice(4, 8)}-${symbols.slice(8, 12)}`;
}

/** Normalises what a person typed (case, dashes, spaces, O→0, I/L→1) and checks the check symbol. */
export function parseTrackingCode(input: string): string | undefined {
  const cleaned = input.toUpperCase().replace(/[\s-]/g, "").replace(/O/g, "0").replace(/[IL]/g, "1");
  if (cleaned.length !== DATA_SYMBOLS + 1) return undefined;
  const values: number[] = [];
  for (const ch of cleaned.slice(0, DATA_SYMBOLS)) {
    const v = ALPHABET.indexOf(ch);
    if (v < 0) return undefined;
    values.push(v);
  }
  if (checkSymbol(values) !== cleaned[DATA_SYMBOLS]) return undefined;
  return `${cleaned.slice(0, 4)}-${cleaned.slice(4, 8)}-${cleaned.slice(8, 12)}`;
}
