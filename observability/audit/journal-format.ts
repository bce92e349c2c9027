// The on-disk format of the audit journal and the hash chain of its records, shared by the journal that
// writes them, the shipper that sends them to Kafka and `estelam audit verify` that checks them.
//
// A journal is a folder of segment files named after the sequence of their first record
// (`00000000000000000001.seg`), each a run of records framed as
//   u32 big-endian payload length | u32 big-endian CRC-32 of the payload | payload (an encoded AuditEvent)
// The checksum catches a torn or damaged record; the chain (below) catches a deliberate change. The segment
// being written is zero-filled ahead of its last record (see journal.ts), so a zero length where a record
// would start, with nothing but zeros after it, is the end of the written part, not a record.
import { createHmac, type KeyObject } from "node:crypto";
import { readdir } from "node:fs/promises";
import { crc32 } from "node:zlib";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { type AuditEvent, AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";

export const RECORD_HEADER_BYTES = 8;
/** A record larger than this is damage, not data (an AuditEvent is a few hundred bytes). */
export const MAX_RECORD_BYTES = 16 * 1024 * 1024;
const SEGMENT_PATTERN = /^(\d{20})\.seg$/;

export function segmentName(firstSequence: bigint): string {
  return `${firstSequence.toString().padStart(20, "0")}.seg`;
}

/** The segment files of a journal folder, oldest first, with the sequence of their first record. */
export async function listSegments(dir: string): Promise<Array<{ readonly name: string; readonly first: bigint }>> {
  const names = await readdir(dir);
  return names
    .flatMap((name) => {
      const match = SEGMENT_PATTERN.exec(name);
      return match === null ? [] : [{ name, first: BigInt(match[1] as string) }];
    })
    .sort((a, b) => (a.first < b.first ? -1 : a.first > b.first ? 1 : 0));
}

export interface ParsedRecord {
  /** Byte offset of the record in its segment. */
  readonly offset: number;
  readonly payload: Buffer;
}

export interface ParseResult {
  readonly records: ParsedRecord[];
  /** Bytes of whole, intact records from the start of `buffer`; what follows is zeros or `problem`. */
  readonly validBytes: number;
  /** Why parsing stopped before the end of `buffer`: a torn or damaged record at `validBytes`. */
  readonly problem: string | undefined;
}

const ZEROS = Buffer.alloc(64 * 1024);

/** Whether `buffer` holds only zero bytes. */
export function allZero(buffer: Uint8Array): boolean {
  for (let at = 0; at < buffer.length; at += ZEROS.length) {
    const chunk = buffer.subarray(at, Math.min(buffer.length, at + ZEROS.length));
    if (Buffer.compare(chunk, ZEROS.subarray(0, chunk.length)) !== 0) return false;
  }
  return true;
}

/** Parses records from `buffer` (whose first byte is at `baseOffset` in its segment) up to the first bad one. */
export function parseRecords(buffer: Buffer, baseOffset = 0): ParseResult {
  const records: ParsedRecord[] = [];
  let at = 0;
  while (at < buffer.length) {
    if (buffer.length - at < RECORD_HEADER_BYTES)
      return { records, validBytes: at, problem: allZero(buffer.subarray(at)) ? undefined : "a record header is cut short" };
    const length = buffer.readUInt32BE(at);
    const checksum = buffer.readUInt32BE(at + 4);
    if (length === 0) {
      // The zero-filled space ahead of the last record; zeros with data after them are damage.
      if (allZero(buffer.subarray(at))) return { records, validBytes: at, problem: undefined };
      return { records, validBytes: at, problem: "a record claims 0 bytes" };
    }
    if (length > MAX_RECORD_BYTES) return { records, validBytes: at, problem: `a record claims ${length} bytes` };
    if (buffer.length - at - RECORD_HEADER_BYTES < length) return { records, validBytes: at, problem: "a record is cut short" };
    const payload = buffer.subarray(at + RECORD_HEADER_BYTES, at + RECORD_HEADER_BYTES + length);
    if (crc32(payload) !== checksum) return { records, validBytes: at, problem: "a record's checksum does not match its content" };
    records.push({ offset: baseOffset + at, payload });
    at += RECORD_HEADER_BYTES + length;
  }
  return { records, validBytes: at, problem: undefined };
}

/** The chain digest of a record: HMAC-SHA-256 under the audit key of its encoding without chain_digest. */
function chainDigest(key: KeyObject, unsealed: Uint8Array): Buffer {
  return createHmac("sha256", key).update("chain\u0000").update(unsealed).digest();
}

/**
 * Seals `event` as record `sequence` after a record whose chain digest is `previous` (sets `sequence`,
 * `previous_digest` and `chain_digest`) and frames it: the journal record, header and encoding, in one buffer.
 */
export function sealRecord(event: AuditEvent, sequence: bigint, previous: Uint8Array, key: KeyObject): Buffer {
  event.sequence = sequence;
  event.previousDigest = previous;
  event.chainDigest = new Uint8Array();
  const unsealed = toBinary(AuditEventSchema, event);
  const digest = chainDigest(key, unsealed);
  event.chainDigest = new Uint8Array(digest);
  // chain_digest is the last field, so the sealed encoding is the unsealed one with it appended.
  const length = unsealed.length + CHAIN_FIELD.length + digest.length;
  const record = Buffer.allocUnsafe(RECORD_HEADER_BYTES + length);
  record.writeUInt32BE(length, 0);
  record.set(unsealed, RECORD_HEADER_BYTES);
  record.set(CHAIN_FIELD, RECORD_HEADER_BYTES + unsealed.length);
  record.set(digest, RECORD_HEADER_BYTES + unsealed.length + CHAIN_FIELD.length);
  record.writeUInt32BE(crc32(record.subarray(RECORD_HEADER_BYTES)), 4);
  return record;
}

/** Tag of field 50 (length-delimited) and the length of an HMAC-SHA-256: the head of the encoded chain_digest. */
const CHAIN_FIELD = new Uint8Array([0x92, 0x03, 32]);

/**
 * The inquiry id of an encoded record without decoding all of it: fields 1 (schema_version, a varint) and
 * 2 (inquiry_id) come first.
 */
export function inquiryIdOf(payload: Uint8Array): string {
  let at = 0;
  const varint = (): number => {
    let value = 0;
    for (let shift = 0; at < payload.length && shift < 35; shift += 7) {
      const byte = payload[at++] as number;
      value += (byte & 0x7f) * 2 ** shift;
      if (byte < 0x80) return value;
    }
    return value;
  };
  while (at < payload.length) {
    const tag = varint();
    const field = Math.floor(tag / 8);
    const wire = tag & 7;
    if (wire === 0) varint();
    else if (wire === 2) {
      const length = varint();
      if (field === 2) return Buffer.from(payload.buffer, payload.byteOffset + at, length).toString("utf8");
      at += length;
    } else return fromBinary(AuditEventSchema, payload).inquiryId;
    if (field > 2) break;
  }
  return fromBinary(AuditEventSchema, payload).inquiryId;
}

export type ChainCheck =
  | { readonly ok: true; readonly event: AuditEvent }
  | { readonly ok: false; readonly event: AuditEvent | undefined; readonly problem: string };

/** Decodes a stored record and checks its own chain digest under `keys` (key id → key). */
export function checkSealed(payload: Uint8Array, keys: ReadonlyMap<string, KeyObject>): ChainCheck {
  let event: AuditEvent;
  try {
    event = fromBinary(AuditEventSchema, payload);
  } catch (error) {
    return { ok: false, event: undefined, problem: `not a decodable AuditEvent (${(error as Error).message})` };
  }
  const key = keys.get(event.keyId);
  if (key === undefined) return { ok: false, event, problem: `sealed under key ${event.keyId || "(none)"}, which was not given` };
  const unsealed = create(AuditEventSchema, { ...event, chainDigest: new Uint8Array() });
  const expected = chainDigest(key, toBinary(AuditEventSchema, unsealed));
  if (!expected.equals(Buffer.from(event.chainDigest)))
    return { ok: false, event, problem: "its content does not match its chain digest (the record was altered)" };
  // The stored bytes must be exactly what was sealed: bytes added after the seal are tampering too.
  if (!Buffer.from(toBinary(AuditEventSchema, event)).equals(Buffer.from(payload)))
    return { ok: false, event, problem: "it holds bytes outside the sealed record" };
  return { ok: true, event };
}
