// Kafka away does not stop service: the journal keeps the evidence, answers go on, the backlog is reported,
// and everything is delivered when the broker returns — even for a gateway killed during the outage. A journal
// that cannot take more (its bound reached) refuses new inquiries at once, before any agency is asked, turns
// not ready (/readyz and gRPC health), and recovers by itself. The outage is real: this suite runs its own
// single-node broker on other ports, stops it for 30 s while a gateway answers at load, and later freezes it
// (SIGSTOP) for 15 s: a broker that keeps its connections and never answers.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { mkdir, mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { fromBinary } from "@bufbuild/protobuf";
import kafkajs from "kafkajs";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { checkHealth, watchHealth } from "../../cli/client.ts";
import { Code } from "../../core/errors.ts";
import { DEMO_API_KEY } from "../../gateway/demo-examples.ts";
import { AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";
import { InquiryService } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { createAuditKey } from "../../observability/audit/event.ts";
import { listSegments } from "../../observability/audit/journal-format.ts";
import { CHECKPOINT_FILE } from "../../observability/audit/kafka-shipper.ts";
import { verifyRecords } from "../../observability/audit/verify.ts";
import { createInquiryClient, type InquiryClient } from "../helpers/client.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort, type GatewayProcess, shippingBacklog, startGatewayProcess } from "../helpers/gateway-process.ts";
import { uniqueTopicName } from "../helpers/kafka.ts";

const run = promisify(execFile);
const SCRIPT = resolve(import.meta.dirname, "../../scripts/kafka.sh");
// A broker of its own on free ports, so stopping it leaves the suite's shared broker (and any other run on
// this machine) alone.
const OWN = {
  KAFKA_PORT: String(await freePort()),
  KAFKA_CONTROLLER_PORT: String(await freePort()),
  KAFKA_STATE_DIR: ".cache/kafka-outage-test",
};
const OWN_BROKER = `127.0.0.1:${OWN.KAFKA_PORT}`;
const KEY = "integration-test-audit-key-0123456789";
const OUTAGE_MS = 30_000;
const FREEZE_MS = 15_000;

async function broker(command: "start" | "stop" | "reset"): Promise<void> {
  await run("bash", [SCRIPT, command], { env: { ...process.env, ...OWN }, timeout: 180_000 });
}

/** Every record of `topic` on the suite's own broker, with where it is stored. */
async function readTopic(topic: string): Promise<Array<{ where: string; payload: Buffer }>> {
  const kafka = new kafkajs.Kafka({ brokers: [OWN_BROKER], logLevel: kafkajs.logLevel.NOTHING });
  const admin = kafka.admin();
  await admin.connect();
  const offsets = await admin.fetchTopicOffsets(topic);
  await admin.disconnect();
  const total = offsets.reduce((sum, p) => sum + Number(p.high) - Number(p.low), 0);
  const consumer = kafka.consumer({ groupId: `outage-reader-${Date.now()}`, maxWaitTimeInMs: 200 });
  const records: Array<{ where: string; payload: Buffer }> = [];
  await consumer.connect();
  try {
    await consumer.subscribe({ topic, fromBeginning: true });
    await new Promise<void>((done, fail) => {
      const timer = setTimeout(() => fail(new Error(`read ${records.length} of ${total} records`)), 60_000);
      void consumer.run({
        eachMessage: async ({ partition, message }) => {
          if (message.value !== null) records.push({ where: `${topic}/${partition}@${message.offset}`, payload: message.value });
          if (records.length >= total) {
            clearTimeout(timer);
            done();
          }
        },
      });
    });
  } finally {
    await consumer.disconnect();
  }
  return records;
}

const identity = {
  inquiryType: "nocr.identity-match.v1",
  params: { national_code: "0012345679", birth_date: "1348/01/31" },
  purpose: "kyc.account-opening",
  endUser: "teller-7",
};

interface Outcome {
  readonly at: number;
  readonly ok: boolean;
  readonly id: string | undefined;
  readonly reason: string | undefined;
}

/** Asks at about `perSecond` inquiries a second from `workers` loops until stopped; keeps every outcome. */
function load(client: () => InquiryClient, perSecond: number, workers = 4): { outcomes: Outcome[]; stop(): Promise<void> } {
  const outcomes: Outcome[] = [];
  let stopped = false;
  const pause = (1000 * workers) / perSecond;
  const loop = async (): Promise<void> => {
    while (!stopped) {
      const started = Date.now();
      const result = await client().inquire(identity, { deadlineMs: 3000 });
      outcomes.push({
        at: started,
        ok: result.ok,
        id: result.ok ? result.response.inquiryId : undefined,
        reason: result.ok ? undefined : result.status.reason,
      });
      await new Promise((r) => setTimeout(r, Math.max(0, pause - (Date.now() - started))));
    }
  };
  const loops = Array.from({ length: workers }, loop);
  return {
    outcomes,
    async stop() {
      stopped = true;
      await Promise.all(loops);
    },
  };
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/**
 * Waits until the gateway has shipped everything, then checks the topic: the chain of `instance` is whole from
 * record 1, and every inquiry answered in `outcomes` is on it. Returns the verify report.
 */
async function expectAllDelivered(gateway: GatewayProcess, topic: string, instance: string, outcomes: readonly Outcome[]) {
  await expect.poll(() => shippingBacklog(gateway.httpUrl), { timeout: 90_000, interval: 500 }).toBe(0);
  const stored = await readTopic(topic);
  const key = createAuditKey(KEY);
  const report = verifyRecords(stored, new Map([[key.id, key.secret]]));
  expect(report.breaks).toEqual([]);
  expect(report.instances.get(instance)?.first).toBe(1n);
  const ids = new Set(stored.map((r) => fromBinary(AuditEventSchema, r.payload).inquiryId));
  expect(outcomes.filter((o) => o.ok && o.id !== undefined && !ids.has(o.id)).map((o) => o.id)).toEqual([]);
  return report;
}

describe("audit through a Kafka outage", () => {
  const processes: GatewayProcess[] = [];
  let small: TestGateway | undefined;
  beforeAll(async () => {
    await broker("reset");
    await broker("start");
  }, 240_000);
  afterAll(async () => {
    for (const p of processes) p.child.kill("SIGKILL");
    await small?.close();
    await broker("stop");
  }, 120_000);

  it("answers throughout a 30 s broker stop at load, survives a kill -9 during it, delivers every record after; a full journal refuses at once and recovers", async () => {
    const topic = uniqueTopicName("outage");
    const env = {
      KAFKA_BROKERS: OWN_BROKER,
      ESTELAM_AUDIT_TOPIC: topic,
      ESTELAM_AUDIT_KEY: KEY,
      ESTELAM_INSTANCE: "outage-gateway",
      // Small segments, so shipped ones are released during the test.
      ESTELAM_AUDIT_SEGMENT_BYTES: "65536",
    };
    let gateway = await startGatewayProcess(env);
    processes.push(gateway);
    let client = createInquiryClient(gateway.grpcAddress, DEMO_API_KEY);
    // A second gateway whose journal holds only a few records: the outage fills it.
    small = await startTestGateway({
      env: { KAFKA_BROKERS: OWN_BROKER, ESTELAM_AUDIT_JOURNAL_MAX_BYTES: "16384", ESTELAM_AUDIT_SEGMENT_BYTES: "2048" },
    });
    const watched: string[] = [];
    const watch = watchHealth(small.gateway.grpcAddress, InquiryService.typeName, (status) => watched.push(status));
    await expect.poll(() => watched).toEqual(["SERVING"]);

    const traffic = load(() => client, 60);
    await sleep(3000);
    await broker("stop");
    const outageStart = Date.now();

    // Kafka away: the gateway stays ready and says how much waits in the journal.
    await sleep(3000);
    expect((await fetch(`${gateway.httpUrl}/readyz`)).status).toBe(200);
    expect(await shippingBacklog(gateway.httpUrl)).toBeGreaterThan(50);
    const readyz = (await (await fetch(`${gateway.httpUrl}/readyz`)).json()) as { details: Record<string, string> };
    expect(readyz.details.audit).toMatch(/records not yet acknowledged by kafka \(unreachable: they wait in the journal\)/);

    // The small journal fills; from then on a new inquiry is refused at once, before any agency is asked.
    let refusal: Awaited<ReturnType<TestGateway["client"]["inquire"]>> | undefined;
    for (let i = 0; i < 200 && refusal === undefined; i++) {
      const result = await small.client.inquire(identity);
      if (!result.ok) refusal = result;
    }
    expect(refusal?.ok).toBe(false);
    if (refusal !== undefined && !refusal.ok)
      expect(refusal.status).toMatchObject({ code: Code.UNAVAILABLE, reason: "AUDIT_UNAVAILABLE", origin: "gateway" });
    const asked = small.agencies.stats().nocr.received;
    const started = performance.now();
    const refused = await small.client.inquire(identity);
    expect(performance.now() - started).toBeLessThan(250);
    expect(!refused.ok && refused.status.reason).toBe("AUDIT_UNAVAILABLE");
    expect(small.agencies.stats().nocr.received).toBe(asked);
    const smallReady = await fetch(`${small.gateway.httpUrl}/readyz`);
    expect(smallReady.status).toBe(503);
    const smallBody = (await smallReady.json()) as { checks: Record<string, string>; details: Record<string, string> };
    expect(smallBody.checks.audit).toBe("not_ready");
    expect(smallBody.details.audit).toMatch(/at or above its bound of 16384/);
    for (const service of ["", InquiryService.typeName])
      expect(await checkHealth(small.gateway.grpcAddress, { service })).toEqual({ ok: true, status: "NOT_SERVING" });
    expect(watched).toEqual(["SERVING", "NOT_SERVING"]);

    // Half way through the outage the gateway is killed, and started again on the same journal.
    await sleep(Math.max(0, outageStart + OUTAGE_MS / 2 - Date.now()));
    const killedAt = Date.now();
    gateway.child.kill("SIGKILL");
    await new Promise((done) => gateway.child.once("exit", done));
    gateway = await startGatewayProcess(env, { dataDir: gateway.dataDir, ports: gateway.ports });
    processes.push(gateway);
    const restartedAt = Date.now();
    client.close();
    client = createInquiryClient(gateway.grpcAddress, DEMO_API_KEY);

    await sleep(Math.max(0, outageStart + OUTAGE_MS - Date.now()));
    await broker("start");
    const outageEnd = Date.now();
    await sleep(3000);
    await traffic.stop();
    client.close();

    // Answers went on through the outage: outside the restart, no inquiry failed, and every second had answers.
    const during = traffic.outcomes.filter((o) => o.at >= outageStart && o.at < outageEnd);
    const aroundRestart = (o: Outcome): boolean => o.at >= killedAt - 3000 && o.at < restartedAt + 1000;
    expect(during.filter((o) => !o.ok && !aroundRestart(o))).toEqual([]);
    for (let second = outageStart; second + 1000 <= outageEnd; second += 1000) {
      if (second + 1000 > killedAt - 3000 && second < restartedAt + 1000) continue;
      expect(
        during.filter((o) => o.ok && o.at >= second && o.at < second + 1000).length,
        `answers in second ${(second - outageStart) / 1000} of the outage`,
      ).toBeGreaterThan(0);
    }
    expect(during.filter((o) => o.ok).length).toBeGreaterThan(OUTAGE_MS / 100);

    // After the broker returns, everything is delivered: the chain on the topic is whole from record 1 to
    // the last one the journal holds, and every answered inquiry is on it.
    const report = await expectAllDelivered(gateway, topic, "outage-gateway", traffic.outcomes);
    // Shipped segments were released: the journal holds only what is recent.
    expect((await listSegments(gateway.journalDir)).length).toBeLessThanOrEqual(2);
    console.info(
      `outage test: ${during.filter((o) => o.ok).length} answered during the 30 s outage, ${report.records} records shipped, ${report.duplicates} twice`,
    );

    // The full journal ships, is released, and the small gateway serves again by itself.
    await expect.poll(async () => (await fetch(`${small?.gateway.httpUrl}/readyz`)).status, { timeout: 60_000, interval: 500 }).toBe(200);
    expect(await checkHealth(small.gateway.grpcAddress, { service: InquiryService.typeName })).toEqual({ ok: true, status: "SERVING" });
    await expect.poll(() => watched).toEqual(["SERVING", "NOT_SERVING", "SERVING"]);
    watch.cancel();
    expect((await small.client.inquire(identity)).ok).toBe(true);
  }, 300_000);
});

describe("audit through a frozen broker", () => {
  // The broker's process is stopped (SIGSTOP), not killed: its connections stay open and requests get no
  // answer, as with a broker stuck in a long GC pause or a hung disk.
  const processes: GatewayProcess[] = [];
  let frozenPid: number | undefined;
  beforeAll(async () => {
    await broker("start");
  }, 240_000);
  afterAll(async () => {
    if (frozenPid !== undefined) process.kill(frozenPid, "SIGCONT");
    for (const p of processes) p.child.kill("SIGKILL");
    await broker("stop");
  }, 120_000);

  it("answers throughout a 15 s freeze at load and delivers every record once the broker thaws", async () => {
    const topic = uniqueTopicName("frozen");
    const gateway = await startGatewayProcess({
      KAFKA_BROKERS: OWN_BROKER,
      ESTELAM_AUDIT_TOPIC: topic,
      ESTELAM_AUDIT_KEY: KEY,
      ESTELAM_INSTANCE: "frozen-gateway",
    });
    processes.push(gateway);
    const client = createInquiryClient(gateway.grpcAddress, DEMO_API_KEY);
    expect((await client.inquire(identity)).ok).toBe(true);
    await expect.poll(() => shippingBacklog(gateway.httpUrl), { timeout: 30_000, interval: 200 }).toBe(0);

    const traffic = load(() => client, 60);
    await sleep(2000);
    const pid = Number(readFileSync(resolve(import.meta.dirname, "../..", OWN.KAFKA_STATE_DIR, "kafka.pid"), "utf8").trim());
    process.kill(pid, "SIGSTOP");
    frozenPid = pid;
    const freezeStart = Date.now();
    await sleep(4000);
    // Frozen: the gateway stays ready, and the backlog grows in the journal.
    expect((await fetch(`${gateway.httpUrl}/readyz`)).status).toBe(200);
    expect(await shippingBacklog(gateway.httpUrl)).toBeGreaterThan(100);
    await sleep(Math.max(0, freezeStart + FREEZE_MS - Date.now()));
    process.kill(pid, "SIGCONT");
    frozenPid = undefined;
    const freezeEnd = Date.now();
    await sleep(2000);
    await traffic.stop();

    // No inquiry failed, and every second of the freeze had answers.
    expect(traffic.outcomes.filter((o) => !o.ok)).toEqual([]);
    for (let second = freezeStart; second + 1000 <= freezeEnd; second += 1000)
      expect(
        traffic.outcomes.filter((o) => o.at >= second && o.at < second + 1000).length,
        `answers in second ${(second - freezeStart) / 1000} of the freeze`,
      ).toBeGreaterThan(0);

    // Thawed, the broker gets everything: the chain on the topic is whole and holds every answered inquiry.
    const report = await expectAllDelivered(gateway, topic, "frozen-gateway", traffic.outcomes);
    client.close();
    console.info(`frozen-broker test: ${traffic.outcomes.length} answered, ${report.records} records shipped, ${report.duplicates} twice`);
  }, 240_000);
});

describe("audit at start-up", () => {
  it("starts without Kafka and answers from the journal; the records wait for the broker", async () => {
    const t = await startTestGateway({ env: { KAFKA_BROKERS: "127.0.0.1:1" } });
    try {
      const answered = await t.client.inquire(identity);
      expect(answered.ok).toBe(true);
      expect(t.gateway.shipper?.backlog()).toBeGreaterThanOrEqual(2);
      expect((await fetch(`${t.gateway.httpUrl}/readyz`)).status).toBe(200);
    } finally {
      await t.close();
    }
  });

  it("does not start when the shipper cannot read its checkpoint, says why, and starts once it can", async () => {
    const journalDir = await mkdtemp(join(tmpdir(), "unreadable-checkpoint-"));
    try {
      await mkdir(join(journalDir, CHECKPOINT_FILE));
      await expect(startTestGateway({ env: { ESTELAM_AUDIT_JOURNAL_DIR: journalDir } })).rejects.toThrow(
        /the audit shipper cannot start from .*unreadable-checkpoint-.*: EISDIR/,
      );
      await rm(join(journalDir, CHECKPOINT_FILE), { recursive: true });
      const t = await startTestGateway({ env: { ESTELAM_AUDIT_JOURNAL_DIR: journalDir } });
      try {
        expect((await t.client.inquire(identity)).ok).toBe(true);
      } finally {
        await t.close();
      }
    } finally {
      await rm(journalDir, { recursive: true, force: true });
    }
    // Two gateways start one after the other, each with its embedded database.
  }, 90_000);

  it("does not start when the journal cannot be opened, and says why", async () => {
    const file = resolve(import.meta.dirname, "../../package.json");
    await expect(startTestGateway({ audit: "journal", env: { ESTELAM_AUDIT_JOURNAL_DIR: `${file}/audit` } })).rejects.toThrow(
      /the audit trail \(journal\) cannot start: the audit journal in .*package\.json\/audit cannot be opened/,
    );
  });
});
