// Limits on what an agency may send back, enforced before an answer is parsed or goes anywhere: its size,
// how deeply it nests and how many keys and elements it holds. Both checks are iterative (no recursion to
// overflow the stack) and linear in the answer's size, so a hostile answer costs a bounded, small amount
// of work and never stalls the event loop for other agencies' callers.

export interface AnswerLimits {
  /** Bytes of the answer's body at most. */
  readonly maxBytes: number;
  /** Nesting of objects and arrays at most (the top-level object is depth 1). */
  readonly maxDepth: number;
  /** Object keys plus array elements, counted over the whole answer, at most. */
  readonly maxKeys: number;
}

export const DEFAULT_ANSWER_LIMITS: AnswerLimits = { maxBytes: 1 << 20, maxDepth: 32, maxKeys: 10_000 };

/** The JSON Schema properties of the limits, for a kind's options schema. */
export const ANSWER_LIMITS_SCHEMA = {
  maxResponseBytes: { type: "integer", minimum: 1, maximum: 64 << 20, default: DEFAULT_ANSWER_LIMITS.maxBytes },
  maxDepth: { type: "integer", minimum: 1, maximum: 1000, default: DEFAULT_ANSWER_LIMITS.maxDepth },
  maxKeys: { type: "integer", minimum: 1, maximum: 1_000_000, default: DEFAULT_ANSWER_LIMITS.maxKeys },
} as const;

export function limitsOf(valid: Record<string, unknown>): AnswerLimits {
  return {
    maxBytes: valid.maxResponseBytes as number,
    maxDepth: valid.maxDepth as number,
    maxKeys: valid.maxKeys as number,
  };
}

/** Thrown by the guards; the connector turns it into AGENCY_BAD_RESPONSE naming the agency. */
export class AnswerLimitError extends Error {
  override readonly name = "AnswerLimitError";
}

const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;
const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COMMA = 0x2c;
const COLON = 0x3a;

/**
 * Watches a JSON body chunk by chunk as it arrives, without parsing it: counts bytes, nesting and
 * keys/elements (colons and commas outside strings), and throws AnswerLimitError as soon as one limit is
 * passed, so a body nested 100,000 deep is refused at its 33rd bracket, never handed to JSON.parse.
 */
export function createJsonGuard(limits: AnswerLimits): { feed(chunk: Uint8Array): void; readonly bytes: number } {
  let bytes = 0;
  let depth = 0;
  let keys = 0;
  let inString = false;
  let escaped = false;
  return {
    get bytes() {
      return bytes;
    },
    feed(chunk) {
      bytes += chunk.length;
      if (bytes > limits.maxBytes) throw new AnswerLimitError(`answered more than ${limits.maxBytes} bytes`);
      for (let i = 0; i < chunk.length; i++) {
        const c = chunk[i] as number;
        if (inString) {
          if (escaped) escaped = false;
          else if (c === BACKSLASH) escaped = true;
          else if (c === QUOTE) inString = false;
          continue;
        }
        if (c === QUOTE) inString = true;
        else if (c === OPEN_BRACE || c === OPEN_BRACKET) {
          depth += 1;
          if (depth > limits.maxDepth) throw new AnswerLimitError(`answered JSON nested more than ${limits.maxDepth} levels deep`);
        } else if (c === CLOSE_BRACE || c === CLOSE_BRACKET) depth -= 1;
        else if (c === COLON || c === COMMA) {
          keys += 1;
          if (keys > limits.maxKeys) throw new AnswerLimitError(`answered more than ${limits.maxKeys} keys and elements`);
        }
      }
    },
  };
}

/**
 * Checks an answer already in memory (from any connector, including third-party ones) against the depth
 * and key limits, and that it is plain JSON, iteratively. Returns what is wrong, or undefined.
 */
export function shapeProblem(value: unknown, limits: Pick<AnswerLimits, "maxDepth" | "maxKeys">): string | undefined {
  const stack: Array<{ value: unknown; depth: number }> = [{ value, depth: 1 }];
  let keys = 0;
  while (stack.length > 0) {
    const top = stack.pop() as { value: unknown; depth: number };
    const v = top.value;
    if (typeof v === "number" && !Number.isFinite(v)) return "holds a number JSON cannot carry";
    if (typeof v === "bigint" || typeof v === "function" || typeof v === "symbol" || v === undefined)
      return `holds a ${v === undefined ? "missing" : typeof v} value, which is not JSON`;
    if (typeof v !== "object" || v === null) continue;
    if (!Array.isArray(v) && Object.getPrototypeOf(v) !== Object.prototype && Object.getPrototypeOf(v) !== null)
      return "holds an object that is not plain JSON";
    if (top.depth > limits.maxDepth) return `is nested more than ${limits.maxDepth} levels deep`;
    const children = Array.isArray(v) ? v : Object.values(v);
    keys += children.length;
    if (keys > limits.maxKeys) return `has more than ${limits.maxKeys} keys and elements`;
    for (const child of children) stack.push({ value: child, depth: top.depth + 1 });
  }
  return undefined;
}
