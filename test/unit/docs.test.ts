// The README's error catalogue and configuration tables list exactly what the code defines.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { Code, REASONS } from "../../core/errors.ts";
import { SETTINGS } from "../../gateway/config.ts";

const readme = readFileSync(resolve(import.meta.dirname, "../../README.md"), "utf8");
const CODE_NAMES = Object.fromEntries(Object.entries(Code).map(([name, value]) => [value, name]));

/** Rows of the markdown table that follows a heading, as arrays of cell texts without backticks. */
function tableAfter(heading: string): string[][] {
  const start = readme.indexOf(`## ${heading}`);
  expect(start, `README has a "${heading}" section`).toBeGreaterThanOrEqual(0);
  const lines = readme.slice(start).split("\n");
  const first = lines.findIndex((l) => l.startsWith("|"));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim().replace(/`/g, "")),
    );
  }
  return rows;
}

describe("README", () => {
  it("lists exactly the error catalogue, with each reason's gRPC status and origin", () => {
    const rows = tableAfter("Error catalogue");
    expect(rows.map((r) => r[0])).toEqual(Object.keys(REASONS));
    for (const [reason, status, origin] of rows) {
      const spec = REASONS[reason as keyof typeof REASONS];
      expect(status, reason).toBe(CODE_NAMES[spec.code]);
      expect(origin, reason).toBe(spec.origin);
    }
  });

  it("lists exactly the settings, with their defaults", () => {
    const rows = tableAfter("Configuration");
    expect(rows.map((r) => r[0])).toEqual(SETTINGS.map((s) => s.name));
    for (const [name, fallback] of rows) {
      const setting = SETTINGS.find((s) => s.name === name);
      expect(fallback, name).toBe(setting?.default === "" ? "(unset)" : setting?.default);
    }
  });
});
