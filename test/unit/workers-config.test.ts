// How many worker processes the gateway runs (ESTELAM_WORKERS, --workers), what each is told, and how the
// primary adds their metrics up.
import { availableParallelism } from "node:os";
import { Counter, Gauge, Registry } from "prom-client";
import { describe, expect, it } from "vitest";
import { aggregateMetrics, workerEnv, workerExecArgv } from "../../gateway/cluster.ts";
import { resolveConfig } from "../../gateway/config.ts";

const POSTGRES = { ESTELAM_DATABASE_URL: "postgres://postgres@127.0.0.1:5432/test" };

describe("the number of workers", () => {
  it("is one with the embedded database and one per core with PostgreSQL, by default", () => {
    expect(resolveConfig({}, ["--demo"]).workers).toBe(1);
    expect(resolveConfig(POSTGRES, ["--demo"]).workers).toBe(availableParallelism());
    expect(resolveConfig(POSTGRES, ["--demo"]).workersFrom).toBe("auto");
  });

  it("is chosen by ESTELAM_WORKERS or --workers, the flag first", () => {
    expect(resolveConfig({ ...POSTGRES, ESTELAM_WORKERS: "3" }, ["--demo"]).workers).toBe(3);
    expect(resolveConfig({ ...POSTGRES, ESTELAM_WORKERS: "3" }, ["--demo", "--workers", "5"]).workers).toBe(5);
    expect(resolveConfig(POSTGRES, ["--demo", "--workers=2"]).workers).toBe(2);
    expect(resolveConfig({ ESTELAM_WORKERS: "1" }, ["--demo"]).workers).toBe(1);
  });

  it("refuses nonsense, and several workers on the embedded database, saying what to do", () => {
    expect(() => resolveConfig({ ...POSTGRES, ESTELAM_WORKERS: "many" }, ["--demo"])).toThrow(
      /ESTELAM_WORKERS=many must be auto or a whole number from 1 to 256/,
    );
    expect(() => resolveConfig(POSTGRES, ["--demo", "--workers", "0"])).toThrow(/--workers=0 must be auto/);
    expect(() => resolveConfig({}, ["--demo", "--workers", "4"])).toThrow(/4 workers need a PostgreSQL database \(ESTELAM_DATABASE_URL\)/);
  });

  it("gives each worker its own instance name, journal folder and operations port", () => {
    const config = resolveConfig({ ...POSTGRES, ESTELAM_INSTANCE: "gw-a", ESTELAM_AUDIT_JOURNAL_DIR: "/srv/journal" }, ["--demo"]);
    expect(workerEnv(config, 2)).toEqual({
      ESTELAM_WORKERS: "1",
      ESTELAM_INSTANCE: "gw-a-w2",
      ESTELAM_AUDIT_JOURNAL_DIR: "/srv/journal/worker-2",
      ESTELAM_HTTP_ADDRESS: "127.0.0.1:0",
    });
  });
});

describe("the workers' metrics on the primary's /metrics", () => {
  async function worker(inquiries: number, revision: number, instances: number) {
    const registry = new Registry();
    new Counter({ name: "estelam_inquiries_total", help: "h", registers: [registry] }).inc(inquiries);
    new Gauge({ name: "estelam_registry_revision", help: "h", registers: [registry] }).set(revision);
    new Gauge({ name: "estelam_scoreboard_instances", help: "h", registers: [registry] }).set(instances);
    return registry.getMetricsAsJSON();
  }

  it("adds counters up, and neither doubles what every worker reports alike nor hides a laggard", async () => {
    const text = await aggregateMetrics([await worker(5, 3, 2), await worker(7, 2, 2)]);
    expect(text).toMatch(/^estelam_inquiries_total 12$/m);
    // The oldest revision any worker serves: a worker still on an old one shows.
    expect(text).toMatch(/^estelam_registry_revision 2$/m);
    expect(text).toMatch(/^estelam_scoreboard_instances 2$/m);
  });
});

describe("the workers' Node.js flags", () => {
  it("keep the primary's flags and give V8 at most a worker's share of the cores as helper threads, at least one", () => {
    expect(workerExecArgv(["--max-old-space-size=2048"], undefined, 2, 2)).toEqual(["--max-old-space-size=2048", "--v8-pool-size=1"]);
    expect(workerExecArgv([], undefined, 8, 8)).toEqual(["--v8-pool-size=1"]);
    expect(workerExecArgv([], undefined, 2, 8)).toEqual(["--v8-pool-size=4"]);
    expect(workerExecArgv([], "", 3, 8)).toEqual(["--v8-pool-size=2"]);
    expect(workerExecArgv([], undefined, 4, 2)).toEqual(["--v8-pool-size=1"]);
  });

  it("leave the pool size an operator chose, in the primary's flags or in NODE_OPTIONS", () => {
    expect(workerExecArgv(["--v8-pool-size=3"], undefined, 2, 2)).toEqual(["--v8-pool-size=3"]);
    expect(workerExecArgv(["--enable-source-maps"], "--max-old-space-size=512 --v8-pool-size=2", 4, 4)).toEqual(["--enable-source-maps"]);
  });
});
