// kafkajs 2.2.4 (its final release) re-arms a timer on every broker connection even when no request is
// waiting and no throttle applies: the delay is negative, Node turns it into 1 ms, and each connection then
// wakes the event loop a thousand times a second for nothing (about 4 % of a core per idle gateway here;
// on Node ≥ 24 it also prints a TimeoutNegativeWarning). Reported upstream as tulios/kafkajs#1704 and #1751.
//
// This module corrects that one method, once, for exactly that kafkajs version: when nothing is pending
// and the connection is not throttled, there is nothing to check later — a new request is either sent at
// once or queued by `push`, which schedules its own check, and every response triggers a check too.
import { createRequire } from "node:module";

interface RequestQueueLike {
  pending: unknown[];
  throttledUntil: number;
}

interface RequestQueueClass {
  prototype: RequestQueueLike & { scheduleCheckPendingRequests(this: RequestQueueLike): void };
}

const PATCHED = Symbol.for("estelam.kafkajs-idle-timer");
const require = createRequire(import.meta.url);

/** Applies the correction if the installed kafkajs is the affected version; returns whether it did. */
export function fixKafkajsIdleTimer(): boolean {
  const { version } = require("kafkajs/package.json") as { version: string };
  if (version !== "2.2.4") return false;
  const RequestQueue = require("kafkajs/src/network/requestQueue/index.js") as RequestQueueClass;
  const proto = RequestQueue.prototype as RequestQueueClass["prototype"] & { [PATCHED]?: true };
  if (proto[PATCHED] === true) return true;
  const schedule = proto.scheduleCheckPendingRequests;
  proto.scheduleCheckPendingRequests = function scheduleOnlyWhenNeeded(this: RequestQueueLike): void {
    if (this.pending.length === 0 && this.throttledUntil <= Date.now()) return;
    schedule.call(this);
  };
  proto[PATCHED] = true;
  return true;
}

fixKafkajsIdleTimer();
