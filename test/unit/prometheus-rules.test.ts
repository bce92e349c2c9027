// The operators' Prometheus rules and Grafana dashboard, checked by the tools that will read them:
// `promtool check rules` and `promtool test rules` (unit tests of every alert), every PromQL expression of
// the dashboard checked by promtool too, and the rules' list of faults kept equal to the error catalogue.
import { spawnSync } from "node:child_process";
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { parse, stringify } from "yaml";
import { REASONS } from "../../core/errors.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const RULES = join(ROOT, "deploy/prometheus/rules/estelam.rules.yml");
const RULE_TESTS = join(ROOT, "deploy/prometheus/tests/estelam.rules.test.yml");
const DASHBOARD = join(ROOT, "deploy/grafana/dashboards/estelam.json");

function promtool(...args: string[]): { code: number; output: string } {
  const run = spawnSync("promtool", args, { encoding: "utf8" });
  if (run.error !== undefined)
    throw new Error(`promtool is needed (Debian package prometheus; bash scripts/ensure-test-packages.sh): ${run.error.message}`);
  return { code: run.status ?? -1, output: `${run.stdout}${run.stderr}` };
}

interface Panel {
  readonly id: number;
  readonly title: string;
  readonly type: string;
  readonly gridPos: { readonly x: number; readonly y: number; readonly w: number; readonly h: number };
  readonly datasource?: { readonly uid: string };
  readonly targets?: ReadonlyArray<{ readonly expr: string }>;
}

const dashboard = JSON.parse(readFileSync(DASHBOARD, "utf8")) as { panels: Panel[]; uid: string };
const expressions = dashboard.panels.flatMap((p) => (p.targets ?? []).map((t) => ({ panel: p.title, expr: t.expr })));

/** Grafana's variables replaced by what Grafana would put there, so that promtool reads plain PromQL. */
function plain(expr: string): string {
  return expr.replaceAll("$__rate_interval", "1m").replaceAll("$__interval", "15s").replaceAll("$inquiry_type", ".*");
}

describe("Prometheus rules", () => {
  it("pass promtool check rules", () => {
    const run = promtool("check", "rules", RULES);
    expect(run.output).toContain("SUCCESS");
    expect(run.code).toBe(0);
  });

  it("pass their unit tests (promtool test rules), one per alert at least", () => {
    const run = promtool("test", "rules", RULE_TESTS);
    expect(run.output).toContain("SUCCESS");
    expect(run.code).toBe(0);
    const alerts = (parse(readFileSync(RULES, "utf8")) as { groups: Array<{ rules: Array<{ alert?: string }> }> }).groups
      .flatMap((g) => g.rules)
      .flatMap((r) => (r.alert === undefined ? [] : [r.alert]));
    const tested = new Set(
      (
        parse(readFileSync(RULE_TESTS, "utf8")) as {
          tests: Array<{ alert_rule_test?: Array<{ alertname: string; exp_alerts: unknown[] }> }>;
        }
      ).tests
        .flatMap((t) => t.alert_rule_test ?? [])
        .filter((t) => t.exp_alerts.length > 0)
        .map((t) => t.alertname),
    );
    expect(alerts.length).toBeGreaterThanOrEqual(10);
    for (const alert of alerts) expect(tested, `${alert} has a test where it fires`).toContain(alert);
  });

  it("count as faults exactly the catalogue's agency and gateway reasons (NO_ROUTE aside)", () => {
    const faults = Object.entries(REASONS)
      .filter(([reason, spec]) => spec.origin !== "client" && reason !== "NO_ROUTE")
      .map(([reason]) => reason.toLowerCase())
      .sort();
    const text = readFileSync(RULES, "utf8");
    const used = new Set([...text.matchAll(/outcome=~"([^"]+)"/g)].map((m) => m[1] as string));
    expect(used.size).toBe(2);
    const [onlyFaults, judged] = [...used].sort((a, b) => a.length - b.length);
    expect(onlyFaults?.split("|").sort()).toEqual(faults);
    expect(judged?.split("|").sort()).toEqual([...faults, "answered", "not_found", "rejected"].sort());
  });
});

describe("the Grafana dashboard", () => {
  it("covers traffic, latency per inquiry type and agency, breakers, audit backlog and registry revision", () => {
    const all = expressions.map((e) => e.expr).join("\n");
    for (const metric of [
      "estelam_inquiries_total",
      "estelam_inquiry_duration_seconds_bucket",
      "estelam_breaker_state",
      "estelam_audit_backlog_events",
      "estelam_registry_revision",
      "estelam_agency_share_online_ratio",
      "estelam_inquiry_type_status",
    ])
      expect(all).toContain(metric);
    expect(all).toMatch(/sum by \(responder, le\)/);
    expect(all).toMatch(/sum by \(inquiry_type, le\)/);
  });

  it("has every PromQL expression accepted by promtool", () => {
    expect(expressions.length).toBeGreaterThan(20);
    const dir = mkdtempSync(join(tmpdir(), "estelam-dashboard-"));
    const file = join(dir, "dashboard-expressions.yml");
    const rules = expressions.map((e, i) => ({ record: `dashboard:panel_${i}`, expr: plain(e.expr) }));
    writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules }] }));
    const run = promtool("check", "rules", file);
    expect(run.output, run.output).toContain(`SUCCESS: ${expressions.length} rules found`);
    // A broken expression is caught: the check is not a formality.
    writeFileSync(file, stringify({ groups: [{ name: "dashboard", rules: [{ record: "broken", expr: "sum by (x (up)" }] }] }));
    expect(promtool("check", "rules", file).code).not.toBe(0);
  });

  it("lays its panels out on Grafana's 24-column grid without overlap, each with its own id", () => {
    expect(new Set(dashboard.panels.map((p) => p.id)).size).toBe(dashboard.panels.length);
    const cells = new Map<string, string>();
    for (const { title, gridPos: g } of dashboard.panels) {
      expect(g.x + g.w, title).toBeLessThanOrEqual(24);
      for (let x = g.x; x < g.x + g.w; x++)
        for (let y = g.y; y < g.y + g.h; y++) {
          const cell = `${x},${y}`;
          expect(cells.get(cell), `${title} overlaps ${cells.get(cell)}`).toBeUndefined();
          cells.set(cell, title);
        }
    }
  });

  it("reads the data source the provisioning declares", () => {
    const provisioned = parse(readFileSync(join(ROOT, "deploy/grafana/provisioning/datasources/prometheus.yml"), "utf8")) as {
      datasources: Array<{ uid: string }>;
    };
    const uid = provisioned.datasources[0]?.uid;
    expect(uid).toBe("prometheus");
    for (const panel of dashboard.panels.filter((p) => p.type !== "row")) expect(panel.datasource?.uid, panel.title).toBe(uid);
  });
});
