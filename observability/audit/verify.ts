// Checks the audit trail's tamper evidence: every record's own chain digest, and that each gateway
// instance's records follow one another without a gap, a change or a duplicate that differs. Works on the
// journal's segment files (in order, with their checksums) and on records read back from Kafka (in any
// order: they are sorted per instance by sequence; identical copies, which a crash can leave, are counted
// and skipped). Reports the first break by where the record is stored.
import type { KeyObject } from "node:crypto";
import { open } from "node:fs/promises";
import { join } from "node:path";
import type { AuditEvent } from "../../gen/estelam/audit/v1/audit_pb.js";
import { checkSealed, listSegments, parseRecords } from "./journal-format.ts";

export interface ChainBreak {
  /** Where the record is: `<segment file>@<byte offset>` or `<topic>/<partition>@<offset>`. */
  readonly where: string;
  readonly instance: string;
  /** The record's sequence, when it could be read. */
  readonly sequence: bigint | undefined;
  readonly problem: string;
}

export interface VerifyReport {
  /** Records checked (duplicates not included). */
  readonly records: number;
  readonly duplicates: number;
  /** Per instance: the first and last sequence seen. */
  readonly instances: ReadonlyMap<string, { readonly first: bigint; readonly last: bigint }>;
  /** Every break found, in order; the first is the one to look at. */
  readonly breaks: readonly ChainBreak[];
}

export interface StoredRecord {
  readonly where: string;
  readonly payload: Uint8Array;
}

interface Head {
  first: bigint;
  last: bigint;
  digest: Uint8Array;
}

function same(a: Uint8Array, b: Uint8Array): boolean {
  return Buffer.from(a).equals(Buffer.from(b));
}

/** Checks records that are in chain order per instance (as a journal is). */
function checkInOrder(
  records: Iterable<{ readonly where: string; readonly event: AuditEvent }>,
  heads: Map<string, Head>,
  breaks: ChainBreak[],
): number {
  let count = 0;
  for (const { where, event } of records) {
    count += 1;
    const instance = event.gatewayInstance;
    const head = heads.get(instance);
    if (head === undefined) {
      heads.set(instance, { first: event.sequence, last: event.sequence, digest: event.chainDigest });
      continue;
    }
    if (event.sequence !== head.last + 1n) {
      const problem =
        event.sequence <= head.last
          ? `sequence ${event.sequence} comes after ${head.last} (a record was moved or repeated)`
          : `records ${head.last + 1n}${event.sequence - 1n > head.last + 1n ? `–${event.sequence - 1n}` : ""} are missing before it`;
      breaks.push({ where, instance, sequence: event.sequence, problem });
    } else if (!same(event.previousDigest, head.digest)) {
      breaks.push({
        where,
        instance,
        sequence: event.sequence,
        problem: `it does not follow record ${head.last} (its previous_digest differs: a record was replaced)`,
      });
    }
    head.last = event.sequence;
    head.digest = event.chainDigest;
  }
  return count;
}

/** Verifies the segment files of a journal folder. */
export async function verifyJournal(dir: string, keys: ReadonlyMap<string, KeyObject>): Promise<VerifyReport> {
  const breaks: ChainBreak[] = [];
  const heads = new Map<string, Head>();
  let records = 0;
  for (const segment of await listSegments(dir)) {
    const file = await open(join(dir, segment.name), "r");
    let content: Buffer;
    try {
      content = await file.readFile();
    } finally {
      await file.close();
    }
    const parsed = parseRecords(content);
    const checked: Array<{ where: string; event: AuditEvent }> = [];
    for (const record of parsed.records) {
      const where = `${segment.name}@${record.offset}`;
      const check = checkSealed(record.payload, keys);
      if (!check.ok) {
        breaks.push({ where, instance: check.event?.gatewayInstance ?? "", sequence: check.event?.sequence, problem: check.problem });
        records += checkInOrder(checked.splice(0), heads, breaks);
        // The altered record still takes its place, so the records after it are judged against it.
        if (check.event !== undefined) {
          const head = heads.get(check.event.gatewayInstance);
          if (head !== undefined) {
            head.last = check.event.sequence;
            head.digest = check.event.chainDigest;
          }
        }
        records += 1;
        continue;
      }
      checked.push({ where, event: check.event });
    }
    records += checkInOrder(checked, heads, breaks);
    if (parsed.problem !== undefined)
      breaks.push({ where: `${segment.name}@${parsed.validBytes}`, instance: "", sequence: undefined, problem: parsed.problem });
  }
  return { records, duplicates: 0, instances: summary(heads), breaks };
}

/** Verifies records read from a topic (any order across partitions). */
export function verifyRecords(stored: readonly StoredRecord[], keys: ReadonlyMap<string, KeyObject>): VerifyReport {
  const breaks: ChainBreak[] = [];
  const byInstance = new Map<string, Array<{ where: string; event: AuditEvent }>>();
  let altered = 0;
  for (const record of stored) {
    const check = checkSealed(record.payload, keys);
    if (!check.ok) {
      altered += 1;
      breaks.push({
        where: record.where,
        instance: check.event?.gatewayInstance ?? "",
        sequence: check.event?.sequence,
        problem: check.problem,
      });
      continue;
    }
    const list = byInstance.get(check.event.gatewayInstance) ?? [];
    list.push({ where: record.where, event: check.event });
    byInstance.set(check.event.gatewayInstance, list);
  }
  const heads = new Map<string, Head>();
  let records = 0;
  let duplicates = 0;
  for (const list of byInstance.values()) {
    list.sort((a, b) => (a.event.sequence < b.event.sequence ? -1 : a.event.sequence > b.event.sequence ? 1 : 0));
    const unique: typeof list = [];
    for (const item of list) {
      const previous = unique.at(-1);
      if (previous !== undefined && previous.event.sequence === item.event.sequence) {
        if (same(previous.event.chainDigest, item.event.chainDigest)) duplicates += 1;
        else
          breaks.push({
            where: item.where,
            instance: item.event.gatewayInstance,
            sequence: item.event.sequence,
            problem: `two different records carry sequence ${item.event.sequence} (the other is at ${previous.where})`,
          });
        continue;
      }
      unique.push(item);
    }
    records += checkInOrder(unique, heads, breaks);
  }
  return { records: records + altered, duplicates, instances: summary(heads), breaks };
}

function summary(heads: ReadonlyMap<string, Head>): Map<string, { first: bigint; last: bigint }> {
  return new Map([...heads].map(([instance, head]) => [instance, { first: head.first, last: head.last }]));
}
