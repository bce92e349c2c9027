// Every metric the Prometheus rules and the Grafana dashboard read is one the gateway exports: a renamed
// metric would otherwise leave an alert that can never fire and a panel that stays empty.
import { readFileSync } from "node:fs";
import { resolve } from "node:path";
import { afterAll, beforeAll, expect, it } from "vitest";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const ROOT = resolve(import.meta.dirname, "../..");
let gw: TestGateway;

beforeAll(async () => {
  gw = await startTestGateway({ defaultMetrics: true });
  await gw.gateway.scoreboard.flush();
}, 60_000);
afterAll(async () => {
  await gw?.close();
});

it("reads only metrics the gateway exports", async () => {
  const text = await (await fetch(`${gw.gateway.httpUrl}/metrics`)).text();
  const exported = new Set<string>();
  for (const m of text.matchAll(/^# TYPE (\S+) (\S+)$/gm)) {
    const [name, type] = [m[1] as string, m[2] as string];
    exported.add(name);
    if (type === "histogram") for (const suffix of ["_bucket", "_sum", "_count"]) exported.add(`${name}${suffix}`);
  }
  const sources = [
    readFileSync(resolve(ROOT, "deploy/prometheus/rules/estelam.rules.yml"), "utf8"),
    readFileSync(resolve(ROOT, "deploy/prometheus/rules/audit.rules.yml"), "utf8"),
    readFileSync(resolve(ROOT, "deploy/grafana/dashboards/estelam.json"), "utf8"),
  ].join("\n");
  // Recording rules' own names (`inquiry_type:estelam_…:rate5m`) are not exported metrics: the lookbehind skips them.
  const used = new Set([...sources.matchAll(/(?<![:\w])((?:estelam|grpc_server)_[a-z0-9_]+)\b/g)].map((m) => m[1] as string));
  expect(used.size).toBeGreaterThan(15);
  const missing = [...used].filter((name) => !exported.has(name));
  expect(missing).toEqual([]);
});
