// `npm run stack` as an operator runs it: a Kafka broker of its own, the machine's PostgreSQL, the demo
// agencies, two gateways and Debian's prometheus, on free ports. Every demo inquiry online; an outage
// injected into a demo agency turns its inquiry offline on the scoreboard of both gateways and fires the
// alert in Prometheus; the alert resolves when the agency answers again; Ctrl-C stops everything.
import { type ChildProcess, spawn, spawnSync } from "node:child_process";
import { mkdtempSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInquiryClient } from "../../cli/client.ts";
import { createOperatorClient } from "../../cli/operator-client.ts";
import { InquiryStatus, type Scoreboard } from "../../gen/estelam/operator/v1/operator_pb.js";
import { KEYS } from "../helpers/gateway.ts";
import { freePort } from "../helpers/gateway-process.ts";
import { dropSchema, TEST_DATABASE_URL, uniqueSchema } from "../helpers/postgres.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const schema = uniqueSchema("stack");
const dir = mkdtempSync(join(tmpdir(), "estelam-stack-"));
const POST = "post.address-by-postcode.v1";

/** A free port whose next port is free too (Kafka's controller, the agencies' gRPC face). */
async function freePair(): Promise<number> {
  for (;;) {
    const p = await freePort();
    const next = await new Promise<boolean>((done) => {
      const server = createServer().listen(p + 1, "127.0.0.1", () => server.close(() => done(true)));
      server.once("error", () => done(false));
    });
    if (next) return p;
  }
}

let stack: ChildProcess;
let output = "";
let exited: Promise<number | null>;
const ports = { kafka: 0, agencies: 0, g1grpc: 0, g1http: 0, g2grpc: 0, g2http: 0, prometheus: 0 };
const kafkaEnv = () => ({ ...process.env, KAFKA_PORT: String(ports.kafka), KAFKA_STATE_DIR: join(dir, "kafka") });

async function until<T>(what: string, get: () => Promise<T>, accept: (value: T) => boolean, timeoutMs: number): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  while (Date.now() < deadline) {
    last = await get().catch(() => undefined);
    if (last !== undefined && accept(last)) return last;
    await new Promise((r) => setTimeout(r, 500));
  }
  throw new Error(
    `${what}: not within ${timeoutMs / 1000} s (last: ${JSON.stringify(last, (_, v: unknown) => (typeof v === "bigint" ? v.toString() : v))?.slice(0, 500)})\n${output}`,
  );
}

async function prometheus(query: string): Promise<Array<{ metric: Record<string, string>; value: [number, string] }>> {
  const response = await fetch(`http://127.0.0.1:${ports.prometheus}/api/v1/query?query=${encodeURIComponent(query)}`);
  const body = (await response.json()) as { data: { result: Array<{ metric: Record<string, string>; value: [number, string] }> } };
  return body.data.result;
}

async function scoreboard(grpcPort: number): Promise<Scoreboard> {
  const client = createOperatorClient(`127.0.0.1:${grpcPort}`, KEYS.admin);
  try {
    const result = await client.getScoreboard({});
    if (!result.ok || result.response.scoreboard === undefined) throw new Error("no scoreboard");
    return result.response.scoreboard;
  } finally {
    client.close();
  }
}

const statusOf = (board: Scoreboard, id: string) => board.inquiryTypes.find((t) => t.id === id)?.status;

beforeAll(async () => {
  Object.assign(ports, {
    kafka: await freePair(),
    agencies: await freePair(),
    g1grpc: await freePort(),
    g1http: await freePort(),
    g2grpc: await freePort(),
    g2http: await freePort(),
    prometheus: await freePort(),
  });
  stack = spawn(process.execPath, [join(ROOT, "scripts/stack.ts")], {
    cwd: ROOT,
    env: {
      PATH: process.env.PATH,
      STACK_DIR: dir,
      STACK_DATABASE_URL: TEST_DATABASE_URL,
      STACK_DATABASE_SCHEMA: schema,
      STACK_KAFKA_PORT: String(ports.kafka),
      STACK_AGENCIES_PORT: String(ports.agencies),
      STACK_GATEWAY_1_GRPC: String(ports.g1grpc),
      STACK_GATEWAY_1_HTTP: String(ports.g1http),
      STACK_GATEWAY_2_GRPC: String(ports.g2grpc),
      STACK_GATEWAY_2_HTTP: String(ports.g2http),
      STACK_PROMETHEUS_PORT: String(ports.prometheus),
      STACK_SCOREBOARD_FLUSH_MS: "500",
    },
    stdio: ["ignore", "pipe", "pipe"],
  });
  stack.stdout?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  stack.stderr?.on("data", (chunk: Buffer) => (output += chunk.toString()));
  exited = new Promise((done) => stack.once("exit", (code) => done(code)));
  await until(
    "the stack is ready",
    async () => output,
    (text) => text.includes("stack: ready") || stack.exitCode !== null,
    240_000,
  );
  if (!output.includes("stack: ready")) throw new Error(`the stack did not start:\n${output}`);
}, 300_000);

afterAll(async () => {
  if (stack !== undefined && stack.exitCode === null) {
    stack.kill("SIGINT");
    await exited;
  }
  spawnSync("bash", [join(ROOT, "scripts/kafka.sh"), "stop"], { cwd: ROOT, env: kafkaEnv(), stdio: "ignore" });
  await dropSchema(schema);
}, 60_000);

describe("npm run stack", () => {
  it("serves the status page on both gateways and has Prometheus scrape both", async () => {
    expect(output).toContain(`status page  http://127.0.0.1:${ports.g1http}/status`);
    for (const http of [ports.g1http, ports.g2http]) {
      const page = await fetch(`http://127.0.0.1:${http}/status`);
      expect(page.status).toBe(200);
      expect(await page.text()).toContain('<html lang="fa" dir="rtl">');
    }
    const up = await until(
      "Prometheus scrapes both gateways",
      () => prometheus('up{job="estelam-gateway"} == 1'),
      (r) => r.length === 2,
      60_000,
    );
    expect(up.map((r) => r.metric.instance).sort()).toEqual([`127.0.0.1:${ports.g1http}`, `127.0.0.1:${ports.g2http}`].sort());
  }, 90_000);

  it("shows every demo inquiry online, then an injected outage offline on both gateways and firing in Prometheus, then recovering", async () => {
    const board = await until(
      "both instances on the scoreboard",
      () => scoreboard(ports.g2grpc),
      (b) => b.instances.length === 2,
      30_000,
    );
    for (const t of board.inquiryTypes)
      if (t.status !== InquiryStatus.NOT_CONNECTED) expect(t.status, `${t.id}: ${t.reasons.join("; ")}`).toBe(InquiryStatus.ONLINE);

    const fault = await fetch(`http://127.0.0.1:${ports.agencies}/_control/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ agency: "post", mode: "down" }),
    });
    expect(fault.status).toBe(200);
    const client = createInquiryClient(`127.0.0.1:${ports.g1grpc}`, { apiKey: KEYS.demoBank });
    const ask = async (times: number): Promise<void> => {
      for (let i = 0; i < times; i++)
        await client.inquire({
          inquiryType: POST,
          params: { postal_code: "1193653471" },
          purpose: "kyc.address-verification",
          endUser: "ops",
        });
    };
    try {
      await ask(12);
      // Asked through gateway-1, seen offline through gateway-2.
      await until(
        "offline on gateway-2's scoreboard",
        () => scoreboard(ports.g2grpc),
        (b) => statusOf(b, POST) === InquiryStatus.OFFLINE,
        30_000,
      );
      const firing = await until(
        "EstelamInquiryOffline firing",
        () => prometheus('ALERTS{alertname="EstelamInquiryOffline",alertstate="firing"}'),
        (r) => r.length > 0,
        90_000,
      );
      expect(firing[0]?.metric).toMatchObject({ inquiry_type: POST, agency: "post", severity: "page" });

      await fetch(`http://127.0.0.1:${ports.agencies}/_control/faults`, { method: "DELETE" });
      // The breaker half-opens after its reset time; answers close it.
      await until(
        "answering again",
        async () => {
          await ask(1);
          return scoreboard(ports.g1grpc);
        },
        (b) => statusOf(b, POST) !== InquiryStatus.OFFLINE,
        60_000,
      );
      await until(
        "the alert resolves",
        () => prometheus('ALERTS{alertname="EstelamInquiryOffline",alertstate="firing"}'),
        (r) => r.length === 0,
        60_000,
      );
    } finally {
      client.close();
    }
  }, 240_000);

  it("stops everything it started on Ctrl-C", async () => {
    stack.kill("SIGINT");
    expect(await exited).toBe(0);
    expect(output).toContain("stack: stopped");
    for (const http of [ports.g1http, ports.g2http, ports.prometheus, ports.agencies])
      expect(
        await fetch(`http://127.0.0.1:${http}/`).then(
          () => "answering",
          () => "closed",
        ),
      ).toBe("closed");
    expect(spawnSync("bash", [join(ROOT, "scripts/kafka.sh"), "status"], { cwd: ROOT, env: kafkaEnv() }).status).not.toBe(0);
  }, 60_000);
});

describe("npm run stack without PostgreSQL", () => {
  it("stops at once, naming the server and the setting", () => {
    const run = spawnSync(process.execPath, [join(ROOT, "scripts/stack.ts")], {
      cwd: ROOT,
      env: {
        PATH: process.env.PATH,
        STACK_DIR: mkdtempSync(join(tmpdir(), "estelam-stack-nodb-")),
        STACK_DATABASE_URL: "postgres://postgres@127.0.0.1:1/none",
      },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(run.status).toBe(1);
    expect(run.stderr).toContain("PostgreSQL at postgres://postgres@127.0.0.1:1/none cannot be reached");
    expect(run.stderr).toContain("STACK_DATABASE_URL");
  });
});
