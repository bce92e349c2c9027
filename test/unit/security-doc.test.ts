// docs/security.md's threat model: every row names at least one test, and every test it names exists (the
// file, and a test or suite of that title in it), so the document cannot point at a test that is gone.
import { existsSync, readFileSync } from "node:fs";
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { CLIENT_SETTINGS, SETTINGS } from "../../gateway/config.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const doc = readFileSync(resolve(ROOT, "docs/security.md"), "utf8");

function threatRows(): string[][] {
  const lines = doc.slice(doc.indexOf("## Threat model")).split("\n");
  const first = lines.findIndex((l) => l.startsWith("|"));
  const rows: string[][] = [];
  for (const line of lines.slice(first + 2)) {
    if (!line.startsWith("|")) break;
    rows.push(
      line
        .split("|")
        .slice(1, -1)
        .map((c) => c.trim()),
    );
  }
  return rows;
}

describe("docs/security.md", () => {
  const rows = threatRows();

  it("has a threat model whose every row names a test", () => {
    expect(rows.length).toBeGreaterThanOrEqual(20);
    for (const row of rows) expect(row[3], row[1]).toMatch(/`test\/[^`]+\.test\.ts` › "/);
  });

  it("names only tests that exist", () => {
    for (const row of rows) {
      for (const match of (row[3] ?? "").matchAll(/`(test\/[^`]+\.test\.ts)` › "([^"]+)"/g)) {
        const [, file, title] = match as unknown as [string, string, string];
        expect(existsSync(resolve(ROOT, file)), file).toBe(true);
        expect(readFileSync(resolve(ROOT, file), "utf8"), `${file} › ${title}`).toContain(title);
      }
    }
  });

  it("names only settings that exist", () => {
    const names = new Set<string>([...SETTINGS.map((s) => s.name), ...CLIENT_SETTINGS]);
    for (const setting of doc.matchAll(/`(ESTELAM_[A-Z_]+)/g)) expect(names.has(setting[1] as string), setting[1]).toBe(true);
  });
});
