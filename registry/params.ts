// Parameter schemas of inquiry types: JSON Schema 2020-12, compiled once per revision by Ajv into a validator
// that checks the caller's params, normalises identifiers in place and finds subject identifiers, in one
// pass. Estelam's formats (`national-code`, `legal-entity-id`, `postal-code`, `iban`, `mobile`,
// `jalali-date`) are checked by the identifier rules of core/identifiers.ts, which accept Persian and
// Arabic-Indic digits; a value that passes is replaced by its canonical form (a national code left-padded
// to ten digits, an IBAN upper-cased, a date as YYYY/MM/DD). Problems name the field but never echo its
// value: values are personal data.
import type { JsonObject } from "@bufbuild/protobuf";
import { Ajv2020, type AnySchemaObject, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import addFormatsModule from "ajv-formats";
import type { FieldViolation } from "../core/errors.ts";
import { IDENTIFIER_KINDS, type IdentifierKind, isIdentifierKind } from "../core/identifiers.ts";

// ajv-formats is CommonJS; under Node's ESM loader its default export is the function itself.
const addFormats = addFormatsModule as unknown as typeof addFormatsModule.default;

/** Identifier kinds that point at a person or their property: stored only as keyed digests in audit. */
const SUBJECT_KINDS: ReadonlySet<string> = new Set(["national-code", "legal-entity-id", "mobile", "iban", "postal-code"]);

/** The keyword a schema author writes to say that an identifier parameter is not about a subject. */
export const SUBJECT_KEYWORD = "x-subject";
/** Added by the compiler next to every Estelam format; never written by authors. */
const NORMALISE_KEYWORD = "x-estelam-normalise";

/** A subject identifier found in validated params, normalised (e.g. a national code left-padded). */
export interface Subject {
  /** The parameter's path, e.g. `national_code` or `parties[0].national_code`. */
  readonly param: string;
  readonly kind: string;
  readonly value: string;
}

export type ParamsResult =
  | { readonly ok: true; readonly params: JsonObject; readonly subjects: readonly Subject[] }
  /** Every violation found; the error sent to the caller lists at most MAX_VIOLATIONS (core/errors.ts) and counts the rest. */
  | { readonly ok: false; readonly violations: readonly FieldViolation[] };

export interface ParamsValidator {
  /**
   * Validates the caller's params. On success the same object is returned, with identifiers replaced by
   * their canonical form and scalar types coerced where the schema asks (e.g. "42" for an integer).
   */
  validate(params: JsonObject | undefined): ParamsResult;
}

/** Collects what the normalising keyword finds during one validation (Ajv's `passContext`). */
interface ValidationState {
  readonly subjects: Subject[];
}

/** `/parties/0/national_code` → `parties[0].national_code`. */
function pointerToPath(pointer: string): string {
  let path = "";
  for (const raw of pointer.split("/").slice(1)) {
    const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    path += /^\d+$/.test(segment) ? `[${segment}]` : path === "" ? segment : `.${segment}`;
  }
  return path;
}

function valueAt(data: unknown, pointer: string): unknown {
  let value = data;
  for (const raw of pointer.split("/").slice(1)) {
    if (typeof value !== "object" || value === null) return undefined;
    value = (value as Record<string, unknown>)[raw.replace(/~1/g, "/").replace(/~0/g, "~")];
  }
  return value;
}

function describe(value: unknown): string {
  if (value === null) return "null";
  if (Array.isArray(value)) return "a list";
  return typeof value === "object" ? "an object" : `a ${typeof value}`;
}

const TYPE_NAMES: Readonly<Record<string, string>> = {
  string: "a string",
  integer: "an integer",
  number: "a number",
  boolean: "true or false",
  object: "an object",
  array: "a list",
  null: "null",
};

/** One Ajv error as a field violation that names the field and the rule, never the value. */
function toViolation(error: ErrorObject, data: unknown): FieldViolation {
  const at = pointerToPath(error.instancePath);
  const field = (name: string): string => (at === "" ? `params.${name}` : `params.${at}.${name}`);
  const here = at === "" ? "params" : `params.${at}`;
  switch (error.keyword) {
    case "required":
      return { field: field(String(error.params.missingProperty)), description: "is required" };
    case "additionalProperties":
      return {
        field: field(String(error.params.additionalProperty)),
        description: at === "" ? "unknown parameter for this inquiry type" : "is not allowed here",
      };
    case "unevaluatedProperties":
      return { field: field(String(error.params.unevaluatedProperty)), description: "is not allowed here" };
    case "type": {
      const expected = String(error.params.type)
        .split(",")
        .map((t) => TYPE_NAMES[t] ?? t)
        .join(" or ");
      return { field: here, description: `must be ${expected}, got ${describe(valueAt(data, error.instancePath))}` };
    }
    case "format": {
      const format = String(error.params.format);
      const value = valueAt(data, error.instancePath);
      if (isIdentifierKind(format) && typeof value === "string") {
        const checked = IDENTIFIER_KINDS[format](value);
        if (!checked.ok) return { field: here, description: checked.problem };
      }
      return { field: here, description: `must be a valid ${format}` };
    }
    default:
      // Ajv's messages quote the schema (limits, patterns, allowed values), never the data.
      return { field: here, description: error.message ?? `fails ${error.keyword}` };
  }
}

/** Marks every Estelam format in a (copied) schema with the normalising keyword. Values under `const`,
 *  `enum`, `default` and `examples` are data, not schemas, and are left alone. */
function markIdentifierFormats(schema: unknown): void {
  if (Array.isArray(schema)) {
    for (const item of schema) markIdentifierFormats(item);
    return;
  }
  if (typeof schema !== "object" || schema === null) return;
  const node = schema as Record<string, unknown>;
  if (typeof node.format === "string" && isIdentifierKind(node.format)) node[NORMALISE_KEYWORD] = node.format;
  for (const [key, value] of Object.entries(node)) {
    if (key === "const" || key === "enum" || key === "default" || key === "examples") continue;
    markIdentifierFormats(value);
  }
}

export interface SchemaIssue {
  readonly path: string;
  readonly message: string;
}

/** Checks an agency's result against the inquiry type's schema: what is wrong with it, or undefined. */
export type ResultValidator = (result: JsonObject) => string | undefined;

export interface SchemaCompiler {
  /** Compiles an inquiry type's params schema. Returns undefined and reports issues when it does not compile. */
  params(schema: unknown, path: string, issues: SchemaIssue[]): ParamsValidator | undefined;
  /** Compiles an inquiry type's result schema, against which every agency answer is checked before it goes anywhere. */
  result(schema: unknown, path: string, issues: SchemaIssue[]): ResultValidator | undefined;
}

/** A compiler for one revision: validators it makes live as long as the revision's snapshot. */
export function createSchemaCompiler(): SchemaCompiler {
  const ajv = new Ajv2020({ allErrors: true, strict: true, coerceTypes: true, passContext: true, validateFormats: true });
  addFormats(ajv);
  for (const kind of Object.keys(IDENTIFIER_KINDS) as IdentifierKind[]) {
    const parse = IDENTIFIER_KINDS[kind];
    ajv.addFormat(kind, { type: "string", validate: (value: string) => parse(value).ok });
  }
  ajv.addKeyword({ keyword: SUBJECT_KEYWORD, schemaType: "boolean" });
  ajv.addKeyword({
    keyword: NORMALISE_KEYWORD,
    schemaType: "string",
    type: "string",
    modifying: true,
    errors: false,
    validate(this: ValidationState | undefined, kind: string, data: string, parentSchema?: AnySchemaObject, cxt?: unknown): boolean {
      if (!isIdentifierKind(kind)) return true;
      const checked = IDENTIFIER_KINDS[kind](data);
      // A bad value is reported by `format`; this keyword only rewrites good ones.
      if (!checked.ok) return true;
      const place = cxt as { instancePath: string; parentData?: Record<string | number, unknown>; parentDataProperty?: string | number };
      if (place.parentData !== undefined && place.parentDataProperty !== undefined)
        place.parentData[place.parentDataProperty] = checked.value;
      if (this !== undefined && SUBJECT_KINDS.has(kind) && parentSchema?.[SUBJECT_KEYWORD] !== false) {
        this.subjects.push({ param: pointerToPath(place.instancePath), kind, value: checked.value });
      }
      return true;
    },
  });

  const resultAjv = new Ajv2020({ allErrors: false, strict: true, coerceTypes: false, validateFormats: true });
  addFormats(resultAjv);
  for (const kind of Object.keys(IDENTIFIER_KINDS) as IdentifierKind[]) {
    const parse = IDENTIFIER_KINDS[kind];
    resultAjv.addFormat(kind, { type: "string", validate: (value: string) => parse(value).ok });
  }
  resultAjv.addKeyword({ keyword: SUBJECT_KEYWORD, schemaType: "boolean" });

  const compile = (schema: unknown, path: string, issues: SchemaIssue[]): ValidateFunction | undefined => {
    if (typeof schema !== "object" || schema === null || Array.isArray(schema)) {
      issues.push({ path, message: "must be a JSON Schema (an object)" });
      return undefined;
    }
    const copy = structuredClone(schema) as Record<string, unknown>;
    if (NORMALISE_KEYWORD in copy || JSON.stringify(copy).includes(`"${NORMALISE_KEYWORD}"`)) {
      issues.push({ path, message: `'${NORMALISE_KEYWORD}' is reserved for the gateway` });
      return undefined;
    }
    if (!ajv.validateSchema(copy)) {
      // The meta-schema reports one mistake several ways; the first at each place says it best.
      const seen = new Set<string>();
      for (const e of ajv.errors ?? []) {
        const at = pointerToPath(e.instancePath);
        const where = at === "" ? path : `${path}.${at}`;
        if (seen.has(where) || seen.size >= 10) continue;
        seen.add(where);
        const allowed = Array.isArray(e.params.allowedValues) ? ` (${e.params.allowedValues.join(", ")})` : "";
        issues.push({ path: where, message: `${e.message ?? "is not valid"}${allowed}` });
      }
      return undefined;
    }
    markIdentifierFormats(copy);
    try {
      return ajv.compile(copy);
    } catch (error) {
      const message = (error as Error).message;
      // Ajv words an unknown format as "ignored", but in strict mode it stops the schema: say where and why.
      const format = /^unknown format "(.*)" ignored in schema at path "#(.*)"$/.exec(message);
      if (format !== null) {
        const at = pointerToPath(format[2] ?? "");
        issues.push({
          path: `${path}${at === "" ? "" : `.${at}`}.format`,
          message: `unknown format "${format[1]}" (Estelam's: ${Object.keys(IDENTIFIER_KINDS).join(", ")}; or a standard one such as date, email, uri)`,
        });
      } else issues.push({ path, message: `does not compile: ${message}` });
      return undefined;
    }
  };

  return {
    params(schema, path, issues) {
      if (typeof schema === "object" && schema !== null && !Array.isArray(schema)) {
        const top = schema as Record<string, unknown>;
        if (top.type !== "object") {
          issues.push({ path: `${path}.type`, message: "must be 'object': params are a JSON object" });
          return undefined;
        }
        // No undeclared data reaches an agency unless the schema says so.
        if (!("additionalProperties" in top) && !("unevaluatedProperties" in top)) {
          schema = { ...top, additionalProperties: false };
        }
      }
      const validate = compile(schema, path, issues);
      if (validate === undefined) return undefined;
      return {
        validate(params) {
          const data: JsonObject = params ?? {};
          const state: ValidationState = { subjects: [] };
          if (validate.call(state, data)) return { ok: true, params: data, subjects: state.subjects };
          const violations: FieldViolation[] = [];
          const seen = new Set<string>();
          for (const error of validate.errors ?? []) {
            const violation = toViolation(error, data);
            const key = `${violation.field}\u0000${violation.description}`;
            if (seen.has(key)) continue;
            seen.add(key);
            violations.push(violation);
          }
          return { ok: false, violations };
        },
      };
    },
    result(schema, path, issues) {
      const validate = compile(schema, path, issues);
      if (validate === undefined) return undefined;
      // The same schema, compiled again without coercion or normalising: an answer is checked, never changed.
      const check = resultAjv.compile(structuredClone(schema) as Record<string, unknown>);
      return (result) => {
        if (check(result)) return undefined;
        const first = check.errors?.[0];
        const at = first === undefined ? "" : pointerToPath(first.instancePath);
        return `does not match the inquiry type's result schema: ${at === "" ? "the result" : at} ${first?.message ?? "is not valid"}`;
      };
    },
  };
}
