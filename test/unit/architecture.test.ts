// docs/architecture.md shows the layers as the code has them: every folder imports only the folders its
// row in the table allows. (The rules themselves fail `npm run lint:layers`; this keeps the picture true.)
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { cruise } from "dependency-cruiser";
import { describe, expect, it } from "vitest";

const root = resolve(import.meta.dirname, "../..");
const PRODUCT = ["core", "registry", "connectors", "observability", "gateway", "cli", "simulators"];

/** Folder → the folders its row of the table says it may import. */
function documented(): Map<string, Set<string>> {
  const doc = readFileSync(resolve(root, "docs/architecture.md"), "utf8");
  const rows = new Map<string, Set<string>>();
  for (const line of doc.split("\n")) {
    const cells = line.split("|").map((c) => c.trim());
    const folder = /^`([a-z]+)\/`$/.exec(cells[1] ?? "")?.[1];
    if (folder === undefined || !PRODUCT.includes(folder)) continue;
    const allowed = cells[3] ?? "";
    const set = new Set([...allowed.matchAll(/`([a-z]+)\/`/g)].map((m) => m[1] as string));
    if (allowed.startsWith("every room but")) for (const f of PRODUCT) if (!set.has(f)) set.add(f);
    if (allowed.startsWith("every room but")) for (const f of allowed.matchAll(/`([a-z]+)\/`/g)) set.delete(f[1] as string);
    set.add(folder).add("gen");
    rows.set(folder, set);
  }
  return rows;
}

describe("docs/architecture.md", () => {
  it("has a row for every product folder, and each folder imports only what its row allows", async () => {
    const allowed = documented();
    expect([...allowed.keys()].sort()).toEqual([...PRODUCT].sort());
    const result = await cruise(PRODUCT, {
      doNotFollow: { path: "node_modules" },
      tsPreCompilationDeps: true,
      exclude: { path: "^(node_modules|test)/" },
    });
    const output = typeof result.output === "string" ? JSON.parse(result.output) : result.output;
    const seen: string[] = [];
    for (const module of output.modules as Array<{ source: string; dependencies: Array<{ resolved: string }> }>) {
      const from = module.source.split("/")[0] as string;
      if (!PRODUCT.includes(from)) continue;
      for (const dependency of module.dependencies) {
        const to = dependency.resolved.split("/")[0] as string;
        // Only the project's own folders matter here; libraries and Node's modules are the rules' business.
        if (!PRODUCT.includes(to) && to !== "gen") continue;
        if (!allowed.get(from)?.has(to)) seen.push(`${module.source} → ${dependency.resolved}`);
      }
    }
    expect(seen).toEqual([]);
  });
});
