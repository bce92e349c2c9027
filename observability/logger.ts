// The one root logger. Inquiry lines carry ids, agencies, outcomes and timings only; redaction is a second
// line of defence for anything that might carry credentials or personal data.
import { type DestinationStream, type Logger, pino } from "pino";

export type { Logger };

export interface LoggerOptions {
  readonly level?: string;
  /** Where lines go; stdout by default. Tests pass a stream to read the lines back. */
  readonly destination?: DestinationStream;
  readonly instance?: string;
}

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
    options.destination,
  );
}
