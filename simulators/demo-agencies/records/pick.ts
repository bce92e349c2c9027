// Deterministic choices drawn from a SHA-256 of an identifier: the same identifier gives the same record
// on every machine, with no database. `domain` keeps one agency's draws apart from another's.
import { createHash } from "node:crypto";

export type Pick = (count: number) => number;

/** A sequence of draws in [0, count) from the hash of `domain` and `identifier`. */
export function picker(domain: string, identifier: string): Pick {
  const digest = createHash("sha256").update(`${domain}\u0000${identifier}`).digest();
  let offset = 0;
  return (count) => {
    // 32 bytes give eight 4-byte draws before they start to overlap; plenty for one record.
    const value = digest.readUInt32BE(offset % 29);
    offset += 4;
    return value % count;
  };
}

export function oneOf<T>(pick: Pick, list: readonly T[]): T {
  const item = list[pick(list.length)];
  if (item === undefined) throw new Error("empty list");
  return item;
}

/** `count` digits drawn from the hash (a leading zero allowed). */
export function digits(pick: Pick, count: number): string {
  let out = "";
  while (out.length < count) out += String(pick(10_000)).padStart(4, "0");
  return out.slice(0, count);
}
