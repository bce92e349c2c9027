// Runs the kafka shipper on a thread of its own (node:worker_threads), so that reading the journal back,
// encoding produce requests and the Kafka client's own work do not take the thread that answers inquiries.
// The journal stays with the answering thread: the shipper's thread reads the journal's files itself, and
// learns how far they are durable from shared memory (shared-position.ts; a commit wakes the thread only when
// it has asked to be woken), and has segments held and released by messages. A thread that dies is
// started again after a pause and resumes from its checkpoint, as after a restart; the backlog and the
// shipper's health are reported meanwhile, so nothing is lost and the outage is seen.
import { Worker } from "node:worker_threads";
import { startPosition } from "./journal-cursor.ts";
import type { KafkaShipperLogger, KafkaShipperOptions } from "./kafka-shipper.ts";
import { KAFKA_SHIPPER_READER, readCheckpoint } from "./kafka-shipper.ts";
import { createSharedPosition, type SharedPosition } from "./shared-position.ts";
import type { AuditShipper, AuditShipperEvents, ShippedJournal } from "./shipper.ts";

/** The kafka shipper's settings that cross to its thread: plain data. */
export type KafkaShipperSettings = Omit<KafkaShipperOptions, "journal" | "logger" | "events">;

/** What the shipper's thread starts with. */
export interface ShipperThreadData {
  readonly dir: string;
  /** The journal's durable end, kept up to date by the answering thread (shared-position.ts). */
  readonly committed: SharedArrayBuffer;
  readonly settings: KafkaShipperSettings;
  /** Whether to forward the Kafka client's warnings and errors. */
  readonly logs: boolean;
}

/** Messages to the shipper's thread. */
export type ToShipperThread =
  /** The journal has committed since the thread asked to be woken. */
  | { readonly type: "wake" }
  /** The journal's answer to release `id`: done, or why not. */
  | { readonly type: "released"; readonly id: number; readonly error?: string }
  | { readonly type: "close"; readonly timeoutMs: number };

/** Messages from the shipper's thread. */
export type FromShipperThread =
  | { readonly type: "hold"; readonly reader: string; readonly segment: string }
  | { readonly type: "release"; readonly id: number; readonly reader: string; readonly segment: string }
  | { readonly type: "shipped"; readonly count: number; readonly seconds: number; readonly through: bigint }
  | { readonly type: "error"; readonly message: string }
  | { readonly type: "log"; readonly level: "warn" | "error"; readonly obj: object; readonly msg: string }
  | { readonly type: "closed" };

export interface ThreadedKafkaShipperOptions {
  readonly journal: ShippedJournal;
  readonly settings: KafkaShipperSettings;
  readonly logger?: KafkaShipperLogger;
  readonly events?: AuditShipperEvents;
  /** Pause before a thread that stopped is started again. Default 1000 ms. */
  readonly restartDelayMs?: number;
}

const WORKER_URL = new URL("./shipper-thread-worker.ts", import.meta.url);
/** Beyond the shipper's own close time: disconnecting from Kafka (bounded at 2 s) and the thread's exit. */
const CLOSE_SLACK_MS = 3000;
/**
 * The thread's young generation, in MiB. Everything the shipper allocates (a batch read back, its produce
 * request) is garbage once Kafka has acknowledged it; left to itself, V8 doubles the young generation under
 * steady load and never gives the pages back (34 to 47 MiB of heap, and as much RSS, twenty minutes into a
 * soak at 300 inquiries/s).
 */
const THREAD_YOUNG_GENERATION_MIB = 16;

export function createThreadedKafkaShipper(options: ThreadedKafkaShipperOptions): AuditShipper {
  const { journal, events, logger } = options;
  const restartDelayMs = options.restartDelayMs ?? 1000;
  let worker: Worker | undefined;
  let through = 0n;
  let healthy = true;
  let closing = false;
  let onClosed: (() => void) | undefined;
  let restart: NodeJS.Timeout | undefined;
  let unsubscribe: (() => void) | undefined;
  let committed: SharedPosition | undefined;

  function failed(error: Error): void {
    healthy = false;
    events?.onShipError?.(error);
  }

  function handle(message: FromShipperThread): void {
    switch (message.type) {
      case "hold":
        journal.hold(message.reader, message.segment);
        return;
      case "release": {
        // Answered, so that a failed release is the shipper's failure there, as on the answering thread.
        const { id } = message;
        const reply = (answer: ToShipperThread): void => worker?.postMessage(answer);
        journal.release(message.segment, message.reader).then(
          () => reply({ type: "released", id }),
          (error: unknown) => reply({ type: "released", id, error: error instanceof Error ? error.message : String(error) }),
        );
        return;
      }
      case "shipped":
        through = message.through;
        events?.onShipped?.(message.count, message.seconds, message.through);
        // Delivering again after a failure (the thread's, or a new thread's after one stopped) is recovery.
        if (!healthy) {
          healthy = true;
          events?.onRecovered?.();
        }
        return;
      case "error":
        failed(new Error(message.message));
        return;
      case "log":
        logger?.[message.level](message.obj, message.msg);
        return;
      case "closed":
        onClosed?.();
        return;
    }
  }

  function spawn(committed: SharedPosition): void {
    restart = undefined;
    const data: ShipperThreadData = {
      dir: journal.dir,
      committed: committed.buffer,
      settings: options.settings,
      logs: logger !== undefined,
    };
    const thread = new Worker(WORKER_URL, {
      workerData: data,
      name: "estelam-audit-shipper",
      resourceLimits: { maxYoungGenerationSizeMb: THREAD_YOUNG_GENERATION_MIB },
    });
    // The thread runs while the gateway does; it never keeps a stopping process alive on its own.
    thread.unref();
    thread.on("message", handle);
    // An uncaught error ends the thread: it is reported once, with the exit.
    let cause: Error | undefined;
    thread.on("error", (error) => {
      cause = error;
    });
    thread.on("exit", (code) => {
      if (worker !== thread) return;
      worker = undefined;
      onClosed?.();
      if (closing) return;
      const why = cause === undefined ? `exit code ${code}` : cause.message;
      failed(new Error(`the audit shipper's thread stopped (${why}); it starts again in ${restartDelayMs} ms`));
      restart = setTimeout(spawn, restartDelayMs, committed);
      restart.unref();
    });
    worker = thread;
  }

  return {
    kind: "kafka",

    async start(): Promise<void> {
      if (worker !== undefined || closing) return;
      // Held here at once, before the thread has started, so no other reader's release deletes what is unshipped.
      const start = await startPosition(journal.dir, await readCheckpoint(journal.dir, (problem) => logger?.warn({}, problem)));
      journal.hold(KAFKA_SHIPPER_READER, start.segment);
      through = start.sequence;
      const shared = createSharedPosition(journal.committed());
      committed = shared;
      unsubscribe = journal.onCommit(() => {
        shared.write(journal.committed());
        if (shared.takeWakeRequest()) worker?.postMessage({ type: "wake" } satisfies ToShipperThread);
      });
      spawn(shared);
    },

    backlog: () => Number(journal.committed().sequence - through),

    connected: () => healthy,

    threadHeap: () => worker?.getHeapStatistics().catch(() => undefined) ?? Promise.resolve(undefined),

    async close(timeoutMs = 2000): Promise<void> {
      closing = true;
      clearTimeout(restart);
      unsubscribe?.();
      const thread = worker;
      if (thread === undefined) return;
      const closed = new Promise<void>((resolve) => {
        onClosed = resolve;
        setTimeout(resolve, timeoutMs + CLOSE_SLACK_MS).unref();
      });
      committed?.write(journal.committed());
      thread.postMessage({ type: "wake" } satisfies ToShipperThread);
      thread.postMessage({ type: "close", timeoutMs } satisfies ToShipperThread);
      await closed;
      worker = undefined;
      await thread.terminate();
    },
  };
}
