// Declarative templates and mappings shared by the built-in kinds: how an inquiry's params become an
// agency's request (`{name}` placeholders in paths, query strings, headers, bodies and XML elements), and
// how an agency's answer becomes the inquiry's result (a dot path to the result, fields renamed, business
// outcomes read from a code in the body). Templates come from registry documents, never from callers.
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";

const PLACEHOLDER = /\{([A-Za-z_][A-Za-z0-9_.]*)\}/g;
const WHOLE = /^\{([A-Za-z_][A-Za-z0-9_.]*)\}$/;

/** The value at a dot path (`data.result`, `records.0`); undefined when any step is missing. */
export function pick(value: unknown, path: string): unknown {
  if (path === "") return value;
  let current = value;
  for (const step of path.split(".")) {
    if (typeof current !== "object" || current === null) return undefined;
    if (!Object.hasOwn(current, step)) return undefined;
    current = (current as Record<string, unknown>)[step];
  }
  return current;
}

function scalar(value: unknown): string | undefined {
  if (typeof value === "string") return value;
  if (typeof value === "number" || typeof value === "boolean") return String(value);
  return undefined;
}

/** Fills `{name}` placeholders with params; undefined when one names a param that is absent. */
export function fillString(template: string, params: JsonObject, encode: (s: string) => string = (s) => s): string | undefined {
  let missing = false;
  const out = template.replace(PLACEHOLDER, (_all, name: string) => {
    const v = scalar(pick(params, name));
    if (v === undefined) {
      missing = true;
      return "";
    }
    return encode(v);
  });
  return missing ? undefined : out;
}

/**
 * Fills a JSON template: a string that is exactly `{name}` becomes the param's value with its type (and
 * its key is left out when the param is absent); other strings are filled as text; anything else is kept.
 */
export function fillValue(template: JsonValue, params: JsonObject): JsonValue | undefined {
  if (typeof template === "string") {
    const whole = WHOLE.exec(template);
    if (whole !== null) return pick(params, whole[1] as string) as JsonValue | undefined;
    return fillString(template, params);
  }
  if (Array.isArray(template)) return template.map((item) => fillValue(item, params)).filter((item) => item !== undefined) as JsonValue;
  if (typeof template === "object" && template !== null) {
    const out: JsonObject = {};
    for (const [key, item] of Object.entries(template)) {
      const filled = fillValue(item as JsonValue, params);
      if (filled !== undefined) out[key] = filled;
    }
    return out;
  }
  return template;
}

/** The names of the params a template refers to, for checks at registration. */
export function placeholders(template: unknown): string[] {
  const found: string[] = [];
  const visit = (t: unknown): void => {
    if (typeof t === "string") for (const m of t.matchAll(PLACEHOLDER)) found.push(m[1] as string);
    else if (Array.isArray(t)) t.forEach(visit);
    else if (typeof t === "object" && t !== null) Object.values(t).forEach(visit);
  };
  visit(template);
  return found;
}

/** A result built from the answer: `fields` maps result names to dot paths in `source`; absent ones are left out. */
export function mapFields(source: unknown, fields: Readonly<Record<string, string>>): JsonObject {
  const out: JsonObject = {};
  for (const [name, path] of Object.entries(fields)) {
    const v = pick(source, path);
    if (v !== undefined) out[name] = v as JsonValue;
  }
  return out;
}

/** Business outcomes an agency states with a code in its answer rather than with its protocol's status. */
export interface OutcomeMapping {
  /** Dot path of the code, e.g. `response` or `resultCode`. */
  readonly field: string;
  readonly found: readonly (string | number | boolean)[];
  readonly notFound: readonly (string | number | boolean)[];
  readonly rejected: readonly (string | number | boolean)[];
  /** Dot path of the agency's explanation. */
  readonly message: string | undefined;
}

export const OUTCOME_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["field", "found"],
  properties: {
    field: { type: "string", minLength: 1 },
    found: { type: "array", items: { type: ["string", "number", "boolean"] }, minItems: 1 },
    notFound: { type: "array", items: { type: ["string", "number", "boolean"] }, default: [] },
    rejected: { type: "array", items: { type: ["string", "number", "boolean"] }, default: [] },
    message: { type: "string" },
  },
} as const;

export function outcomeOf(raw: unknown): OutcomeMapping | undefined {
  if (raw === undefined) return undefined;
  const o = raw as { field: string; found: never[]; notFound: never[]; rejected: never[]; message?: string };
  return { field: o.field, found: o.found, notFound: o.notFound, rejected: o.rejected, message: o.message };
}

export type Outcome = "found" | "not_found" | "rejected" | "unknown";

export function readOutcome(mapping: OutcomeMapping, answer: unknown): { outcome: Outcome; code: unknown; message: string | undefined } {
  const code = pick(answer, mapping.field);
  const message = mapping.message === undefined ? undefined : scalar(pick(answer, mapping.message));
  const is = (list: readonly unknown[]): boolean => list.some((c) => c === code || String(c) === String(code));
  const outcome: Outcome = is(mapping.found) ? "found" : is(mapping.notFound) ? "not_found" : is(mapping.rejected) ? "rejected" : "unknown";
  return { outcome, code, message };
}

const MAX_MESSAGE_CHARS = 500;

/** The first non-empty string among `paths` in an agency's answer, bounded in length. */
export function messageFrom(answer: unknown, paths: readonly string[], fallback: string): string {
  for (const path of paths) {
    const v = pick(answer, path);
    if (typeof v === "string" && v.length > 0) return v.slice(0, MAX_MESSAGE_CHARS);
  }
  return fallback;
}

export function isJsonObject(value: unknown): value is JsonObject {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
