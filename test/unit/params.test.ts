// Params schemas are JSON Schema 2020-12 (Ajv) with Estelam's identifier formats: values are normalised in
// place, subject identifiers found, and problems name the field without its value.
import { describe, expect, it } from "vitest";
import { createSchemaCompiler, type ParamsValidator } from "../../registry/params.ts";

function validator(schema: unknown): ParamsValidator {
  const issues: Array<{ path: string; message: string }> = [];
  const compiled = createSchemaCompiler().params(schema, "spec.params", issues);
  expect(issues).toEqual([]);
  if (compiled === undefined) throw new Error("did not compile");
  return compiled;
}

describe("inquiry type params", () => {
  const identity = validator({
    type: "object",
    required: ["national_code", "birth_date"],
    properties: {
      national_code: { type: "string", format: "national-code" },
      birth_date: { type: "string", format: "jalali-date" },
      mobile: { type: "string", format: "mobile", "x-subject": false },
      note: { type: "string", maxLength: 10 },
      count: { type: "integer", minimum: 1, maximum: 5 },
    },
  });

  it("normalises identifiers (Persian digits, padding, numbers) and extracts subjects", () => {
    expect(identity.validate({ national_code: "۰۰۱۲۳۴۵۶۷۹", birth_date: "۱۳۷۰-۱-۵", mobile: "+989121234567", count: "3" })).toEqual({
      ok: true,
      params: { national_code: "0012345679", birth_date: "1370/01/05", mobile: "09121234567", count: 3 },
      subjects: [{ param: "national_code", kind: "national-code", value: "0012345679" }],
    });
    expect(identity.validate({ national_code: 12345679, birth_date: "1370/01/05" })).toMatchObject({
      ok: true,
      params: { national_code: "0012345679" },
    });
  });

  it("names every bad field and never echoes the value", () => {
    const result = identity.validate({ national_code: "0012345678", note: "far too long a note", count: 9, extra: true });
    expect(result.ok).toBe(false);
    if (result.ok) return;
    expect(result.violations.map((v) => v.field).sort()).toEqual(
      ["params.birth_date", "params.count", "params.extra", "params.national_code", "params.note"].sort(),
    );
    expect(JSON.stringify(result.violations)).not.toContain("0012345678");
    expect(JSON.stringify(result.violations)).not.toContain("far too long");
    expect(result.violations.find((v) => v.field === "params.birth_date")?.description).toBe("is required");
    expect(result.violations.find((v) => v.field === "params.national_code")?.description).toBe("checksum does not match");
    expect(result.violations.find((v) => v.field === "params.extra")?.description).toBe("unknown parameter for this inquiry type");
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

  it("finds subjects inside nested objects and lists", () => {
    const parties = validator({
      type: "object",
      properties: { parties: { type: "array", items: { type: "object", properties: { iban: { type: "string", format: "iban" } } } } },
    });
    const result = parties.validate({ parties: [{ iban: "ir10 0170 8898 6217 1595 7993 72" }] });
    expect(result).toMatchObject({
      ok: true,
      params: { parties: [{ iban: "IR100170889862171595799372" }] },
      subjects: [{ param: "parties[0].iban", kind: "iban", value: "IR100170889862171595799372" }],
    });
  });

  it("reports schemas that do not compile, with their path", () => {
    const compiler = createSchemaCompiler();
    const issues: Array<{ path: string; message: string }> = [];
    expect(compiler.params({ type: "string" }, "spec.params", issues)).toBeUndefined();
    expect(compiler.params({ type: "object", properties: { x: { type: "strin" } } }, "spec.params", issues)).toBeUndefined();
    expect(
      compiler.params({ type: "object", properties: { x: { type: "string", format: "postcode" } } }, "spec.params", issues),
    ).toBeUndefined();
    expect(
      compiler.params({ type: "object", properties: { x: { type: "string", colour: "red" } } }, "spec.params", issues),
    ).toBeUndefined();
    expect(issues.map((i) => `${i.path}: ${i.message}`)).toEqual([
      "spec.params.type: must be 'object': params are a JSON object",
      "spec.params.properties.x.type: must be equal to one of the allowed values (array, boolean, integer, null, number, object, string)",
      expect.stringMatching(/^spec\.params\.properties\.x\.format: unknown format "postcode" \(Estelam's: national-code, /),
      expect.stringMatching(/^spec\.params: does not compile: strict mode: unknown keyword: "colour"/),
    ]);
  });
});
