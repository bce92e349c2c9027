// Reading identifiers out of requests, as every agency must: normalised by the shared identifier rules,
// with a reason that names the field and never repeats its value (it is personal data).
import type { IdentifierResult } from "../../../core/identifiers.ts";

export type FieldResult = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly problem: string };

/** A required string field read by `parse`; `problem` names the field. */
export function requiredField(raw: unknown, name: string, parse: (input: string) => IdentifierResult | FieldResult): FieldResult {
  if (raw === undefined || raw === null || raw === "") return { ok: false, problem: `${name} is required` };
  if (typeof raw !== "string") return { ok: false, problem: `${name} must be a string` };
  const parsed = parse(raw);
  return parsed.ok ? { ok: true, value: parsed.value } : { ok: false, problem: `${name} ${parsed.problem}` };
}

export function parseJsonObject(raw: Buffer): Record<string, unknown> | undefined {
  try {
    const value: unknown = JSON.parse(raw.toString("utf8"));
    return typeof value === "object" && value !== null && !Array.isArray(value) ? (value as Record<string, unknown>) : undefined;
  } catch {
    return undefined;
  }
}
