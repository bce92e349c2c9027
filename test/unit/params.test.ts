import { describe, expect, it } from "vitest";
import { createParamsValidator, parseParamSpecs } from "../../registry/params.ts";

function validator(raw: unknown) {
  const issues: Array<{ path: string; message: string }> = [];
  const specs = parseParamSpecs(raw, "params", issues);
  expect(issues).toEqual([]);
  return createParamsValidator(specs);
}

describe("inquiry type params", () => {
  const identity = validator({
    national_code: { type: "national-code", required: true },
    birth_date: { type: "jalali-date", required: true },
    note: { type: "string", maxLength: 10 },
    count: { type: "integer", minimum: 1, maximum: 5 },
  });

  it("normalises identifiers (Persian digits, padding) and extracts subjects", () => {
    const result = identity.validate({ national_code: "۰۰۱۲۳۴۵۶۷۹", birth_date: "۱۳۷۰-۱-۵" });
    expect(result).toEqual({
      ok: true,
      params: { national_code: "0012345679", birth_date: "1370/01/05" },
      subjects: [{ param: "national_code", kind: "national-code", value: "0012345679" }],
    });
  });

  it("names every bad field and never echoes the value", () => {
    const result = identity.validate({ national_code: "0012345678", note: "far too long a note", count: 9, extra: true });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    const fields = result.violations.map((v) => v.field);
    expect(fields).toEqual(["params.extra", "params.national_code", "params.birth_date", "params.note", "params.count"]);
    expect(JSON.stringify(result.violations)).not.toContain("0012345678");
    expect(result.violations.find((v) => v.field === "params.birth_date")?.description).toBe("is required");
  });

  it("rejects wrong JSON types with the type it got", () => {
    const result = identity.validate({ national_code: { nested: 1 }, birth_date: ["1370/01/01"] });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.violations).toEqual([
      { field: "params.national_code", description: "must be a string, got an object" },
      { field: "params.birth_date", description: "must be a string, got a list" },
    ]);
  });

  it("reports bad specs with their path", () => {
    const issues: Array<{ path: string; message: string }> = [];
    parseParamSpecs(
      { "Bad Name": { type: "string" }, x: { type: "string", pattern: "(" }, y: { type: "integer", pattern: "a" }, z: { type: "weird" } },
      "params",
      issues,
    );
    expect(issues.map((i) => i.path)).toEqual(["params.Bad Name", "params.x.pattern", "params.y.pattern", "params.z.type"]);
  });
});
