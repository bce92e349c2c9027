// The audit alerts shipped for Prometheus (deploy/prometheus/rules/audit.rules.yml) are valid, fire on the
// situations they name (promtool's rule unit tests), and use only metrics a running gateway exports.
import { execFile } from "node:child_process";
import { readFile } from "node:fs/promises";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { describe, expect, it } from "vitest";
import { startTestGateway } from "../helpers/gateway.ts";

const run = promisify(execFile);
const DIR = resolve(import.meta.dirname, "../../deploy/prometheus");

describe("audit alerts", () => {
  it("pass promtool check rules and their unit tests", async () => {
    const check = await run("promtool", ["check", "rules", "rules/audit.rules.yml"], { cwd: DIR });
    expect(check.stdout).toContain("SUCCESS: 4 rules found");
    const test = await run("promtool", ["test", "rules", "tests/audit.rules.test.yml"], { cwd: DIR });
    expect(test.stdout).toContain("SUCCESS");
  });

  it("use only metrics the gateway exports", async () => {
    const rules = await readFile(resolve(DIR, "rules/audit.rules.yml"), "utf8");
    const used = new Set(rules.match(/estelam_[a-z_]+/g));
    const t = await startTestGateway();
    try {
      const text = await (await fetch(`${t.gateway.httpUrl}/metrics`)).text();
      for (const name of used) expect(text, name).toContain(`# TYPE ${name} `);
    } finally {
      await t.close();
    }
  });
});
