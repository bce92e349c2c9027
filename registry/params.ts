// Parameter schemas of inquiry types: a small, closed schema language compiled once (when a catalogue is
// loaded) into a validator that checks, normalises and extracts subject identifiers in one pass over the
// caller's params. Problems name the field but never echo its value (values are personal data).
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import type { FieldViolation } from "../core/errors.ts";
import { IDENTIFIER_KINDS, type IdentifierKind } from "../core/identifiers.ts";

export const SCALAR_TYPES = ["string", "integer", "boolean"] as const;
export type ScalarType = (typeof SCALAR_TYPES)[number];
export type ParamType = ScalarType | IdentifierKind;

/** Identifier kinds that point at a person or their property: stored only as keyed digests in audit. */
const SUBJECT_KINDS: ReadonlySet<string> = new Set(["national-code", "legal-entity-id", "mobile", "iban", "postal-code"]);

export interface ParamSpec {
  readonly name: string;
  readonly type: ParamType;
  readonly required: boolean;
  /** A subject identifier: digested in audit, never logged. */
  readonly subject: boolean;
  readonly description: string;
  /** For `string`: maximum length in characters. */
  readonly maxLength: number;
  /** For `string`: an anchored pattern the value must match. */
  readonly pattern: RegExp | undefined;
  /** For `integer`: inclusive bounds. */
  readonly minimum: number;
  readonly maximum: number;
}

/** A subject identifier found in validated params, normalised (e.g. a national code left-padded). */
export interface Subject {
  readonly param: string;
  readonly kind: string;
  readonly value: string;
}

export type ParamsResult =
  | { readonly ok: true; readonly params: JsonObject; readonly subjects: readonly Subject[] }
  | { readonly ok: false; readonly violations: readonly FieldViolation[] };

export interface ParamsValidator {
  readonly specs: readonly ParamSpec[];
  validate(params: JsonObject | undefined): ParamsResult;
}

function describe(value: JsonValue): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

function checkOne(spec: ParamSpec, value: JsonValue): { ok: true; value: JsonValue } | { ok: false; problem: string } {
  switch (spec.type) {
    case "string": {
      if (typeof value !== "string") return { ok: false, problem: `must be a string, got ${describe(value)}` };
      const text = value.trim();
      if (text.length > spec.maxLength) return { ok: false, problem: `must be at most ${spec.maxLength} characters` };
      if (spec.pattern !== undefined && !spec.pattern.test(text))
        return { ok: false, problem: `does not match the pattern ${spec.pattern.source}` };
      return { ok: true, value: text };
    }
    case "integer": {
      const n = typeof value === "string" && /^-?\d+$/.test(value.trim()) ? Number(value.trim()) : value;
      if (typeof n !== "number" || !Number.isInteger(n)) return { ok: false, problem: `must be an integer, got ${describe(value)}` };
      if (n < spec.minimum || n > spec.maximum) return { ok: false, problem: `must be between ${spec.minimum} and ${spec.maximum}` };
      return { ok: true, value: n };
    }
    case "boolean":
      return typeof value === "boolean" ? { ok: true, value } : { ok: false, problem: `must be true or false, got ${describe(value)}` };
    default: {
      // Identifiers arrive as strings; a national code sent as a JSON number loses leading zeros, so numbers
      // are accepted and left-padded by the identifier's own rule.
      const text = typeof value === "string" ? value : typeof value === "number" && Number.isInteger(value) ? String(value) : undefined;
      if (text === undefined) return { ok: false, problem: `must be a string, got ${describe(value)}` };
      const checked = IDENTIFIER_KINDS[spec.type](text);
      return checked.ok ? { ok: true, value: checked.value } : { ok: false, problem: checked.problem };
    }
  }
}

/** Compiles validated specs into a validator. */
export function createParamsValidator(specs: readonly ParamSpec[]): ParamsValidator {
  const byName = new Map(specs.map((s) => [s.name, s]));
  return {
    specs,
    validate(params) {
      const input = params ?? {};
      const violations: FieldViolation[] = [];
      const out: JsonObject = {};
      const subjects: Subject[] = [];
      for (const key of Object.keys(input)) {
        if (!byName.has(key)) violations.push({ field: `params.${key}`, description: "unknown parameter for this inquiry type" });
      }
      for (const spec of specs) {
        const value = input[spec.name];
        if (value === undefined || value === null || value === "") {
          if (spec.required) violations.push({ field: `params.${spec.name}`, description: "is required" });
          continue;
        }
        const checked = checkOne(spec, value);
        if (!checked.ok) {
          violations.push({ field: `params.${spec.name}`, description: checked.problem });
          continue;
        }
        out[spec.name] = checked.value;
        if (spec.subject && typeof checked.value === "string") subjects.push({ param: spec.name, kind: spec.type, value: checked.value });
      }
      return violations.length > 0 ? { ok: false, violations } : { ok: true, params: out, subjects };
    },
  };
}

const PARAM_KEYS = new Set(["type", "required", "subject", "description", "maxLength", "pattern", "minimum", "maximum"]);
const NAME = /^[a-z][a-z0-9_]{0,63}$/;

type Issue = { path: string; message: string };

/** Parses the `params` object of a catalogue inquiry type into specs, reporting every problem. */
export function parseParamSpecs(raw: unknown, path: string, issues: Issue[]): ParamSpec[] {
  if (raw === undefined) return [];
  if (typeof raw !== "object" || raw === null || Array.isArray(raw)) {
    issues.push({ path, message: "must be an object of parameter name → spec" });
    return [];
  }
  const specs: ParamSpec[] = [];
  const known = [...SCALAR_TYPES, ...Object.keys(IDENTIFIER_KINDS)];
  for (const [name, value] of Object.entries(raw)) {
    const at = `${path}.${name}`;
    if (!NAME.test(name)) issues.push({ path: at, message: "parameter names are lower_snake_case, at most 64 characters" });
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      issues.push({ path: at, message: "must be an object with at least a `type`" });
      continue;
    }
    const spec = value as Record<string, unknown>;
    for (const key of Object.keys(spec)) if (!PARAM_KEYS.has(key)) issues.push({ path: `${at}.${key}`, message: "unknown key" });
    const type = spec.type;
    if (typeof type !== "string" || !known.includes(type)) {
      issues.push({ path: `${at}.type`, message: `must be one of ${known.join(", ")}` });
      continue;
    }
    let pattern: RegExp | undefined;
    if (spec.pattern !== undefined) {
      if (typeof spec.pattern !== "string" || type !== "string")
        issues.push({ path: `${at}.pattern`, message: "only a `string` parameter takes a pattern (a string)" });
      else {
        try {
          pattern = new RegExp(`^(?:${spec.pattern})$`, "u");
        } catch (error) {
          issues.push({ path: `${at}.pattern`, message: `is not a valid regular expression: ${(error as Error).message}` });
        }
      }
    }
    const num = (key: string, fallback: number): number => {
      const v = spec[key];
      if (v === undefined) return fallback;
      if (typeof v !== "number" || !Number.isFinite(v)) issues.push({ path: `${at}.${key}`, message: "must be a number" });
      return typeof v === "number" ? v : fallback;
    };
    const bool = (key: string, fallback: boolean): boolean => {
      const v = spec[key];
      if (v === undefined) return fallback;
      if (typeof v !== "boolean") issues.push({ path: `${at}.${key}`, message: "must be true or false" });
      return v === true;
    };
    if (spec.description !== undefined && typeof spec.description !== "string")
      issues.push({ path: `${at}.description`, message: "must be a string" });
    specs.push({
      name,
      type: type as ParamType,
      required: bool("required", false),
      subject: bool("subject", SUBJECT_KINDS.has(type)),
      description: typeof spec.description === "string" ? spec.description : "",
      maxLength: num("maxLength", 256),
      pattern,
      minimum: num("minimum", Number.MIN_SAFE_INTEGER),
      maximum: num("maximum", Number.MAX_SAFE_INTEGER),
    });
  }
  return specs;
}
