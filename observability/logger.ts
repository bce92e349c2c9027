// The one root logger. Inquiry lines carry ids, agencies, outcomes and timings only; redaction is a second
// line of defence for anything that might carry credentials or personal data.
import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger };

export interface LoggerOptions {
  readonly level?: string;
  /** Where lines go; stdout by default. Tests pass a stream to read the lines back. */
  readonly destination?: DestinationStream;
  readonly instance?: string;
  /**
   * Longest time a line written to stdout is held (ms): lines go out in blocks of LOG_BLOCK_BYTES or after
   * this long, whichever is first, and on exit. 0 or undefined: each line is written as it comes.
   */
  readonly flushMs?: number;
}

/** Lines to stdout are written in blocks of this many bytes (when `flushMs` is set). */
const LOG_BLOCK_BYTES = 4096;

export const REDACT_PATHS = [
  "authorization",
  "*.authorization",
  "headers.authorization",
  "*.headers.authorization",
  "params",
  "*.params",
  "result",
  "*.result",
  "national_code",
  "*.national_code",
  "iban",
  "*.iban",
  "mobile",
  "*.mobile",
];

const CENSOR = "[redacted]";

/**
 * A child of `logger` whose redaction looks at the top level only, for flat lines (ids, registry names,
 * outcomes, numbers) such as the one per inquiry. The `*.` paths make every key of a line pass through a
 * wildcard redactor, which costs more than the rest of writing the line, and a flat line has nothing there.
 */
export function flatLineLogger(logger: Logger): Logger {
  return logger.child({}, { redact: { paths: REDACT_PATHS.filter((path) => !path.startsWith("*.")), censor: CENSOR } });
}

export function createLogger(options: LoggerOptions = {}): Logger {
  return pino(
    {
      level: options.level ?? "info",
      base: options.instance === undefined ? { service: "estelam" } : { service: "estelam", instance: options.instance },
      redact: { paths: REDACT_PATHS, censor: CENSOR },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
    },
    options.destination ??
      (options.flushMs !== undefined && options.flushMs > 0
        ? // pino's own destination (sonic-boom) keeps the lines and writes a block at a time; it writes what it
          // holds on exit. One write per line cost the answering thread a hand-over to libuv's threads each.
          pino.destination({ dest: 1, sync: false, minLength: LOG_BLOCK_BYTES, periodicFlush: options.flushMs })
        : undefined),
  );
}
