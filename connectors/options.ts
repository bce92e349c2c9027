// Options of a connector kind are described by the kind's own JSON Schema and checked with Ajv when registry
// documents are validated. Every issue names the option by its path in the document (e.g.
// `spec.options.auth.bearer`), so an integration engineer sees which line to fix.
import { Ajv2020, type ErrorObject, type ValidateFunction } from "ajv/dist/2020.js";
import type { OptionIssue, OptionsResult } from "./connector.ts";

// Types are coerced so that a `${NAME}` reference (always text) may fill a number or a flag, e.g. `port: "${AGENCY_PORT}"`.
const ajv = new Ajv2020({ allErrors: true, strict: true, allowUnionTypes: true, useDefaults: true, coerceTypes: true, verbose: true });
/** A schema may say in words what a failed pattern or format means: `"x-message": "must be an https:// URL"`. */
const MESSAGE_KEYWORD = "x-message";
ajv.addKeyword({ keyword: MESSAGE_KEYWORD, schemaType: "string" });

function at(path: string, pointer: string): string {
  let out = path;
  for (const raw of pointer.split("/").slice(1)) {
    const segment = raw.replace(/~1/g, "/").replace(/~0/g, "~");
    out += /^\d+$/.test(segment) ? `[${segment}]` : `.${segment}`;
  }
  return out;
}

function issueOf(error: ErrorObject, path: string): OptionIssue {
  const where = at(path, error.instancePath);
  const worded = (error.parentSchema as Record<string, unknown> | undefined)?.[MESSAGE_KEYWORD];
  if (typeof worded === "string" && (error.keyword === "pattern" || error.keyword === "format" || error.keyword === "type"))
    return { path: where, message: worded };
  switch (error.keyword) {
    case "additionalProperties":
      return { path: `${where}.${String(error.params.additionalProperty)}`, message: "unknown option" };
    case "required":
      return { path: `${where}.${String(error.params.missingProperty)}`, message: "is required" };
    case "enum":
      return { path: where, message: `must be one of ${(error.params.allowedValues as unknown[]).join(", ")}` };
    default:
      return { path: where, message: error.message ?? "is not valid" };
  }
}

export interface OptionsSchema<T> {
  /** The JSON Schema as written, for documentation and `estelam connector` tools. */
  readonly schema: Readonly<Record<string, unknown>>;
  /**
   * Validates raw options (a copy: defaults are filled in without touching the document), then lets
   * `resolve` turn them into the typed object, reporting what a schema cannot say (e.g. a URL that parses).
   */
  validate(raw: unknown, path: string): OptionsResult<T>;
}

/** Compiles a kind's options schema once. `resolve` receives the schema-valid copy with defaults applied. */
export function optionsSchema<T>(
  schema: Record<string, unknown>,
  resolve: (valid: Record<string, unknown>, path: string, issues: OptionIssue[]) => T,
): OptionsSchema<T> {
  const check: ValidateFunction = ajv.compile(schema);
  return {
    schema,
    validate(raw, path) {
      const copy: unknown = raw === undefined ? {} : structuredClone(raw);
      if (!check(copy)) {
        const seen = new Set<string>();
        const issues: OptionIssue[] = [];
        for (const error of check.errors ?? []) {
          const issue = issueOf(error, path);
          const key = `${issue.path}\u0000${issue.message}`;
          if (seen.has(key) || error.keyword === "if") continue;
          seen.add(key);
          issues.push(issue);
        }
        return { ok: false, issues };
      }
      const issues: OptionIssue[] = [];
      const options = resolve(copy as Record<string, unknown>, path, issues);
      return issues.length > 0 ? { ok: false, issues } : { ok: true, options };
    },
  };
}
