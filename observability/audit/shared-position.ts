// The journal's durable end, shared between the answering thread (which moves it at every group commit) and
// the shipper's thread (which reads it when it looks for records), in shared memory instead of a message per
// commit. A message per commit cost the answering thread a structured clone and a wake-up of the other
// thread per disk sync, several hundred a second at a moderate load, while the shipper looks only a few
// times a second. The shipper's thread now asks to be woken when it has read the position, and the first
// commit after that wakes it once; the commits that follow while it sends or lingers cost a few atomic
// stores.
//
// One thread writes and any thread reads. A reader never sees half of a write: the writer makes the version
// odd while it stores the three numbers and even again after, and a reader that saw an odd version, or a
// different version after reading, reads again (a sequence lock).
import type { JournalPosition } from "./journal.ts";
import { segmentName } from "./journal-format.ts";

const VERSION = 0;
const SEGMENT = 1;
const OFFSET = 2;
const SEQUENCE = 3;
const WANTS_WAKE = 4;
const SLOTS = 5;

export interface SharedPosition {
  /** The memory to hand to the other thread (in `workerData`), for `openSharedPosition`. */
  readonly buffer: SharedArrayBuffer;
  /** Stores the position (one writing thread only). */
  write(position: JournalPosition): void;
  /** The last position written; the same object until another is written. */
  read(): JournalPosition;
  /** Asks to be woken by the next write: `takeWakeRequest` then says true once. */
  requestWake(): void;
  /** Whether a wake was asked for since the last call (and clears the request). */
  takeWakeRequest(): boolean;
}

/** The sequence of a segment's first record, from its file name (`00000000000000000001.seg`). */
function segmentNumber(name: string): bigint {
  return name === "" ? -1n : BigInt(name.slice(0, name.indexOf(".")));
}

function over(buffer: SharedArrayBuffer): SharedPosition {
  const slots = new BigInt64Array(buffer);
  let last: JournalPosition | undefined;
  let lastVersion = -1n;
  return {
    buffer,
    write(position) {
      Atomics.add(slots, VERSION, 1n);
      Atomics.store(slots, SEGMENT, segmentNumber(position.segment));
      Atomics.store(slots, OFFSET, BigInt(position.offset));
      Atomics.store(slots, SEQUENCE, position.sequence);
      Atomics.add(slots, VERSION, 1n);
    },
    read() {
      for (;;) {
        const version = Atomics.load(slots, VERSION);
        if (version === lastVersion && last !== undefined) return last;
        if ((version & 1n) === 1n) continue;
        const segment = Atomics.load(slots, SEGMENT);
        const offset = Atomics.load(slots, OFFSET);
        const sequence = Atomics.load(slots, SEQUENCE);
        if (Atomics.load(slots, VERSION) !== version) continue;
        last = { segment: segment < 0n ? "" : segmentName(segment), offset: Number(offset), sequence };
        lastVersion = version;
        return last;
      }
    },
    requestWake() {
      Atomics.store(slots, WANTS_WAKE, 1n);
    },
    takeWakeRequest: () => Atomics.exchange(slots, WANTS_WAKE, 0n) === 1n,
  };
}

/** New shared memory holding `position`. */
export function createSharedPosition(position: JournalPosition): SharedPosition {
  const shared = over(new SharedArrayBuffer(SLOTS * BigInt64Array.BYTES_PER_ELEMENT));
  shared.write(position);
  return shared;
}

/** The position in memory made by `createSharedPosition` on another thread. */
export function openSharedPosition(buffer: SharedArrayBuffer): SharedPosition {
  if (buffer.byteLength !== SLOTS * BigInt64Array.BYTES_PER_ELEMENT) throw new Error("not a shared journal position");
  return over(buffer);
}
