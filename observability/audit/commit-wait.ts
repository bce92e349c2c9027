// How the journal's readers (the Kafka shipper, the audit index) wait between looks. With nothing new to read
// they wait for the next commit (or a long timeout, a safety net only); a commit that came while they were
// looking ends that wait at once, so none is missed. Other waits (a back-off after a failure, a pause to let
// a batch fill) are not cut short by commits: under load a commit comes every few milliseconds, which would
// turn a back-off into a busy retry against a broker or database that is down. Stopping ends any wait.
import type { ShippedJournal } from "./shipper.ts";

export interface CommitWait {
  /** Called just before looking for records: a commit from then on ends the next `idle` at once. */
  looking(): void;
  /** Waits for a commit (at once if one came since `looking`), at most `ms`. */
  idle(ms: number): Promise<void>;
  /** Waits `ms`; commits do not end it, `interrupt` and `stop` do. */
  sleep(ms: number): Promise<void>;
  /** Ends the wait under way, if any. */
  interrupt(): void;
  /** Stops listening for commits and ends the wait under way; later waits end at once. */
  stop(): void;
}

export function createCommitWait(journal: Pick<ShippedJournal, "onCommit">): CommitWait {
  let committedSince = false;
  let stopped = false;
  let end: (() => void) | undefined;
  let endsOnCommit = false;
  const unsubscribe = journal.onCommit(() => {
    committedSince = true;
    if (endsOnCommit) end?.();
  });

  const wait = (ms: number, onCommit: boolean): Promise<void> =>
    stopped
      ? Promise.resolve()
      : new Promise((resolve) => {
          const timer = setTimeout(done, ms);
          function done(): void {
            clearTimeout(timer);
            end = undefined;
            endsOnCommit = false;
            resolve();
          }
          end = done;
          endsOnCommit = onCommit;
        });

  return {
    looking() {
      committedSince = false;
    },
    idle: (ms) => (committedSince ? Promise.resolve() : wait(ms, true)),
    sleep: (ms) => wait(ms, false),
    interrupt() {
      end?.();
    },
    stop() {
      stopped = true;
      unsubscribe();
      end?.();
    },
  };
}
