// Several worker processes behind one gRPC port (ESTELAM_WORKERS): real processes, a real PostgreSQL and a
// real Kafka broker. The workers answer on the one port, each keeps its own audit journal and hash chain and
// ships it to the one audit topic, a registry change made
// through one worker reaches every worker, /metrics adds them up, a killed worker is replaced, and SIGTERM
// drains them all.
import { mkdtempSync, readFileSync, writeFileSync } from "node:fs";
import { availableParallelism, tmpdir } from "node:os";
import { join } from "node:path";
import { create, fromBinary, toBinary } from "@bufbuild/protobuf";
import { Client, credentials, Metadata } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { DEMO_ADMIN_KEY, DEMO_API_KEY } from "../../gateway/demo-examples.ts";
import { InquireRequestSchema, InquireResponseSchema } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { readJournal } from "../helpers/audit-events.ts";
import { estelam } from "../helpers/cli.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { countMessages, deleteTopics, kafkaBrokers, readAuditEvents, uniqueTopicName } from "../helpers/kafka.ts";
import { dropSchema, TEST_DATABASE_URL, uniqueSchema } from "../helpers/postgres.ts";

const ADDRESS = {
  inquiryType: "post.address-by-postcode.v1",
  params: { postal_code: "1193653471" },
  purpose: "kyc.address-verification",
  endUser: "u",
};
const IDENTITY = {
  inquiryType: "nocr.identity-match.v1",
  params: { national_code: "0012345679", birth_date: "1348/01/31" },
  purpose: "kyc.account-opening",
  endUser: "u",
};

interface WorkerReadiness {
  readonly worker: number;
  readonly pid: number;
  readonly status: string;
  readonly details?: { readonly registry?: string };
}

interface Readyz {
  readonly status: string;
  readonly workers: readonly WorkerReadiness[];
}

async function readyz(httpUrl: string): Promise<{ code: number; body: Readyz }> {
  const response = await fetch(`${httpUrl}/readyz`);
  return { code: response.status, body: (await response.json()) as Readyz };
}

async function metric(httpUrl: string, pattern: RegExp): Promise<number[]> {
  const text = await (await fetch(`${httpUrl}/metrics`)).text();
  return [...text.matchAll(new RegExp(pattern.source, "gm"))].map((m) => Number(m[1]));
}

async function until<T>(what: string, probe: () => Promise<T | undefined>, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe().catch(() => undefined);
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 200));
  }
}

/**
 * Inquiries over `connections` separate HTTP/2 connections (each channel with a subchannel of its own, as
 * separate callers have), so that the primary hands them to the workers in turn.
 */
async function askOverConnections(
  address: string,
  connections: number,
  each: number,
  inquiry: { inquiryType: string; params: Record<string, string>; purpose: string; endUser: string } = IDENTITY,
): Promise<string[]> {
  const outcomes: string[] = [];
  const request = Buffer.from(toBinary(InquireRequestSchema, create(InquireRequestSchema, inquiry)));
  await Promise.all(
    Array.from({ length: connections }, async () => {
      const client = new Client(address, credentials.createInsecure(), { "grpc.use_local_subchannel_pool": 1 });
      try {
        for (let i = 0; i < each; i++) {
          const metadata = new Metadata();
          metadata.set("authorization", `Bearer ${DEMO_API_KEY}`);
          outcomes.push(
            await new Promise<string>((resolve) =>
              client.makeUnaryRequest(
                "/estelam.inquiry.v1.InquiryService/Inquire",
                (bytes: Buffer) => bytes,
                (bytes: Buffer) => fromBinary(InquireResponseSchema, bytes),
                request,
                metadata,
                { deadline: Date.now() + 10_000 },
                (error) => resolve(error ? `error ${error.details}` : "answered"),
              ),
            ),
          );
        }
      } finally {
        client.close();
      }
    }),
  );
  return outcomes;
}

describe("the gateway with two workers on one port", () => {
  const schema = uniqueSchema("workers");
  const topic = uniqueTopicName("workers");
  let gateway: GatewayProcess;

  beforeAll(async () => {
    gateway = await startGatewayProcess({
      ESTELAM_WORKERS: "2",
      KAFKA_BROKERS: kafkaBrokers().join(","),
      ESTELAM_AUDIT_TOPIC: topic,
      ESTELAM_DATABASE_URL: TEST_DATABASE_URL,
      ESTELAM_DATABASE_SCHEMA: schema,
      ESTELAM_SCOREBOARD_FLUSH_MS: "500",
      ESTELAM_QUOTA_SYNC_MS: "200",
    });
  }, 90_000);

  afterAll(async () => {
    if (gateway !== undefined && gateway.child.exitCode === null) {
      gateway.child.kill("SIGKILL");
      await new Promise((r) => gateway.child.once("exit", r));
    }
    await dropSchema(schema);
    await deleteTopics([topic]).catch(() => {});
  });

  it("answers on one port from both workers, each keeping its own journal and hash chain", async () => {
    const { code, body } = await readyz(gateway.httpUrl);
    expect(code).toBe(200);
    expect(body.workers.map((w) => w.worker)).toEqual([1, 2]);
    expect(new Set(body.workers.map((w) => w.pid)).size).toBe(2);
    // Each worker runs with a V8 helper pool of its share of the cores (gateway/cluster.ts, workerExecArgv).
    const pool = `--v8-pool-size=${Math.max(1, Math.floor(availableParallelism() / 2))}`;
    for (const w of body.workers) expect(readFileSync(`/proc/${w.pid}/cmdline`, "utf8").split("\0")).toContain(pool);

    const outcomes = await askOverConnections(gateway.grpcAddress, 4, 5);
    expect(outcomes).toEqual(Array(20).fill("answered"));

    // Each worker sealed the records of the inquiries it answered in its own chain (instance <host>-w<n>).
    for (const worker of [1, 2]) {
      const verified = await estelam(["audit", "verify", "--demo", "--journal", join(gateway.journalDir, `worker-${worker}`)]);
      expect(verified.stderr).toBe("");
      expect(verified.code).toBe(0);
      expect(verified.stdout).toMatch(new RegExp(`-w${worker}\\b`));
      expect(verified.stdout).toMatch(/chain intact/);
    }
  });

  it("ships every worker's journal to the one audit topic: each chain whole, each record once", async () => {
    // Everything journaled so far (the 20 inquiries above, over both workers, and the registry's seeding)
    // reaches Kafka.
    const journaled = (await Promise.all([1, 2].map((w) => readJournal(join(gateway.journalDir, `worker-${w}`))))).flat();
    expect(journaled.length).toBeGreaterThanOrEqual(20);
    await expect.poll(() => countMessages(topic), { timeout: 30_000, interval: 250 }).toBeGreaterThanOrEqual(journaled.length);
    const shipped = await readAuditEvents(topic, await countMessages(topic));
    const byInstance = new Map<string, bigint[]>();
    for (const event of shipped) byInstance.set(event.gatewayInstance, [...(byInstance.get(event.gatewayInstance) ?? []), event.sequence]);
    expect([...byInstance.keys()].map((i) => i.replace(/^.*-w/, "w")).sort()).toEqual(["w1", "w2"]);
    for (const [instance, sequences] of byInstance) {
      const sorted = [...sequences].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
      // 1, 2, 3 … without a gap or a repeat: the worker's whole chain, once.
      expect(sorted, instance).toEqual(sorted.map((_, i) => BigInt(i + 1)));
    }
    expect(new Set(shipped.map((e) => e.inquiryId))).toEqual(new Set(journaled.map((e) => e.inquiryId)));
    // And the topic's chains verify.
    const verified = await estelam(["audit", "verify", "--demo", "--brokers", kafkaBrokers().join(","), "--topic", topic]);
    expect(verified.stderr).toBe("");
    expect(verified.code).toBe(0);
    expect(verified.stdout).toMatch(/chain intact/);
  });

  it("adds every worker's metrics up on the one HTTP port", async () => {
    const answered = await metric(gateway.httpUrl, /^estelam_inquiries_total\{[^}]*outcome="answered"[^}]*\} (\d+)$/);
    expect(answered.reduce((a, b) => a + b, 0)).toBe(20);
    expect(await metric(gateway.httpUrl, /^estelam_workers\{state="serving"\} (\d+)$/)).toEqual([2]);
    // The scoreboard, the same on every worker, is not doubled: both workers are instances it counts.
    // The status page and its data come from a worker, through the primary's port.
    const scoreboard = await fetch(`${gateway.httpUrl}/status/scoreboard.json`);
    expect(scoreboard.status).toBe(200);
    expect(scoreboard.headers.get("content-type")).toBe("application/json");
    expect(await scoreboard.json()).toHaveProperty("inquiryTypes");
    expect(await (await fetch(`${gateway.httpUrl}/healthz`)).json()).toEqual({ status: "alive", workers: 2 });
    await until("the scoreboard to count both workers", async () =>
      (await metric(gateway.httpUrl, /^estelam_scoreboard_instances (\d+)$/))[0] === 2 ? true : undefined,
    );
  });

  it("serves a registry revision applied through one worker on every worker", async () => {
    const dir = mkdtempSync(join(tmpdir(), "estelam-workers-"));
    const file = join(dir, "agency.yaml");
    writeFileSync(
      file,
      "apiVersion: estelam.ir/v1\nkind: Agency\nmetadata:\n  name: workers-test\nspec:\n  name: { fa: آزمون, en: Workers test }\n",
    );
    const applied = await estelam(["registry", "apply", "-f", file, "-m", "a test agency"], {
      ESTELAM_GRPC_ADDRESS: gateway.grpcAddress,
      ESTELAM_API_KEY: DEMO_ADMIN_KEY,
    });
    expect(applied.stderr).toBe("");
    expect(applied.stdout).toMatch(/^revision 2 applied \(was 1\)/m);
    const workers = await until("every worker to serve revision 2", async () => {
      const { body } = await readyz(gateway.httpUrl);
      return body.workers.length === 2 && body.workers.every((w) => w.details?.registry?.startsWith("revision 2 "))
        ? body.workers
        : undefined;
    });
    expect(workers).toHaveLength(2);
    expect(await metric(gateway.httpUrl, /^estelam_registry_revision (\d+)$/)).toEqual([2]);
  });

  it("holds a grant's daily quota across the workers", async () => {
    const dir = mkdtempSync(join(tmpdir(), "estelam-workers-"));
    const file = join(dir, "grant.yaml");
    writeFileSync(
      file,
      "apiVersion: estelam.ir/v1\nkind: Grant\nmetadata:\n  name: demo-bank/post.address-by-postcode.v1\nspec:\n  inquiryType: post.address-by-postcode.v1\n  purposes: [kyc.address-verification]\n  quota: { perDay: 6 }\n",
    );
    const applied = await estelam(["registry", "apply", "-f", file, "-m", "a daily quota"], {
      ESTELAM_GRPC_ADDRESS: gateway.grpcAddress,
      ESTELAM_API_KEY: DEMO_ADMIN_KEY,
    });
    expect(applied.stdout).toMatch(/^revision 3 applied/m);
    await until("every worker to serve revision 3", async () =>
      (await metric(gateway.httpUrl, /^estelam_registry_revision (\d+)$/))[0] === 3 ? true : undefined,
    );
    // Four connections, so both workers are asked; together they admit six and refuse the rest.
    const outcomes = await askOverConnections(gateway.grpcAddress, 4, 3, ADDRESS);
    expect(outcomes.filter((o) => o === "answered")).toHaveLength(6);
    expect(outcomes.filter((o) => o !== "answered")).toHaveLength(6);
    const refusals = await metric(gateway.httpUrl, /^estelam_quota_refusals_total\{[^}]*window="day"[^}]*\} (\d+)$/);
    expect(refusals.reduce((a, b) => a + b, 0)).toBe(6);
  }, 60_000);

  it("replaces a worker that is killed, and keeps answering", async () => {
    const before = (await readyz(gateway.httpUrl)).body.workers;
    const victim = before[1] as WorkerReadiness;
    process.kill(victim.pid, "SIGKILL");
    const after = await until("a replacement worker", async () => {
      const { code, body } = await readyz(gateway.httpUrl);
      return code === 200 && body.workers.length === 2 && !body.workers.some((w) => w.pid === victim.pid) ? body.workers : undefined;
    });
    expect(after.map((w) => w.worker)).toEqual([1, 2]);
    expect(await metric(gateway.httpUrl, /^estelam_worker_restarts_total (\d+)$/)).toEqual([1]);
    const outcomes = await askOverConnections(gateway.grpcAddress, 4, 2);
    expect(outcomes).toEqual(Array(8).fill("answered"));
    // The replacement continues worker 2's chain in worker 2's journal; verifying the journal folder checks every worker's.
    const verified = await estelam(["audit", "verify", "--demo", "--journal", gateway.journalDir]);
    expect(verified.stderr).toBe("");
    expect(verified.code).toBe(0);
    expect(verified.stdout.match(/chain intact/g)).toHaveLength(2);
    expect(verified.stdout).toMatch(/worker-1: \d+ records; instances: \S+-w1 /);
    expect(verified.stdout).toMatch(/worker-2: \d+ records; instances: \S+-w2 /);
  }, 60_000);

  it("drains every worker on SIGTERM and exits 0", async () => {
    const pids = (await readyz(gateway.httpUrl)).body.workers.map((w) => w.pid);
    const exited = new Promise<number | null>((r) => gateway.child.once("exit", (code) => r(code)));
    gateway.child.kill("SIGTERM");
    expect(await exited).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
  }, 30_000);
});

describe("the number of workers", () => {
  it("refuses more than one worker with the embedded database, naming the setting to change", async () => {
    await expect(startGatewayProcess({ ESTELAM_WORKERS: "2" })).rejects.toThrow(
      /2 workers need a PostgreSQL database \(ESTELAM_DATABASE_URL\)/,
    );
  });
});
