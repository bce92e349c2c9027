// The shipper's thread (started by shipper-thread.ts): the kafka shipper, with the journal seen through
// messages and shared memory. The durable end is read from memory the answering thread keeps up to date; a
// read also asks for a wake-up at the next commit, for a shipper that finds nothing new and waits. Holds,
// releases, deliveries, failures and the Kafka client's log lines go back by message.
import { parentPort, workerData } from "node:worker_threads";
import { createKafkaShipper } from "./kafka-shipper.ts";
import { openSharedPosition } from "./shared-position.ts";
import type { ShippedJournal } from "./shipper.ts";
import type { FromShipperThread, ShipperThreadData, ToShipperThread } from "./shipper-thread.ts";

const port = parentPort;
if (port === null) throw new Error("shipper-thread-worker.ts runs as a worker thread of the gateway");
const data = workerData as ShipperThreadData;
const send = (message: FromShipperThread): void => port.postMessage(message);
/** Log objects cross as plain JSON: whatever the Kafka client put in them can be cloned that way. */
const plain = (obj: object): object => JSON.parse(JSON.stringify(obj)) as object;

const committed = openSharedPosition(data.committed);
const listeners = new Set<() => void>();
/** Releases asked of the journal and not yet answered, by id. */
const releases = new Map<number, { resolve(): void; reject(error: Error): void }>();
let releaseIds = 0;
const journal: ShippedJournal = {
  dir: data.dir,
  committed() {
    // Asked before reading, so a commit between the two is not missed: it wakes the thread.
    committed.requestWake();
    return committed.read();
  },
  onCommit(listener) {
    listeners.add(listener);
    return () => listeners.delete(listener);
  },
  hold(reader, segment) {
    send({ type: "hold", reader, segment });
  },
  release(segment, reader) {
    const id = ++releaseIds;
    return new Promise<void>((resolve, reject) => {
      releases.set(id, { resolve, reject });
      send({ type: "release", id, reader, segment });
    });
  },
};

const shipper = createKafkaShipper({
  ...data.settings,
  journal,
  ...(data.logs
    ? {
        logger: {
          warn: (obj, msg) => send({ type: "log", level: "warn", obj: plain(obj), msg }),
          error: (obj, msg) => send({ type: "log", level: "error", obj: plain(obj), msg }),
        },
      }
    : {}),
  events: {
    onShipped: (count, seconds, through) => send({ type: "shipped", count, seconds, through }),
    onShipError: (error) => send({ type: "error", message: error.message }),
  },
});

port.on("message", (message: ToShipperThread) => {
  if (message.type === "wake") {
    for (const listener of listeners) listener();
  } else if (message.type === "released") {
    const waiting = releases.get(message.id);
    releases.delete(message.id);
    if (message.error === undefined) waiting?.resolve();
    else waiting?.reject(new Error(message.error));
  } else {
    void shipper.close(message.timeoutMs).finally(() => send({ type: "closed" }));
  }
});

await shipper.start();
