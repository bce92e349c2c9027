// Several gateway instances sharing one PostgreSQL schema give one scoreboard: each writes its own
// per-minute counts and breaker states, and every instance serves the sum. What was counted survives a
// restart (the trend and today's volume are in the database, not in a process).
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createOperatorClient } from "../../cli/operator-client.ts";
import { BreakerState, InquiryStatus, type Scoreboard } from "../../gen/estelam/operator/v1/operator_pb.js";
import { findDocument, KEYS, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { dropSchema, uniqueSchema } from "../helpers/postgres.ts";

const schema = uniqueSchema("board");
const POST = "post.address-by-postcode.v1";
const gateways: TestGateway[] = [];

const start = async (instance: string): Promise<TestGateway> => {
  const gw = await startTestGateway({
    database: "postgres",
    schema,
    env: { ESTELAM_INSTANCE: instance, ESTELAM_SCOREBOARD_FLUSH_MS: "60000" },
    editDocuments: (documents) => {
      findDocument(documents, "Endpoint", "post/main").spec.breaker = { volumeThreshold: 5 };
    },
  });
  gateways.push(gw);
  return gw;
};

async function ask(gw: TestGateway, times: number): Promise<void> {
  for (let i = 0; i < times; i++)
    await gw.client.inquire({
      inquiryType: POST,
      params: { postal_code: "1193653471" },
      purpose: "kyc.address-verification",
      endUser: "ops/test",
    });
}

async function board(gw: TestGateway): Promise<Scoreboard> {
  const client = createOperatorClient(gw.gateway.grpcAddress, KEYS.admin);
  try {
    const result = await client.getScoreboard({});
    if (!result.ok || result.response.scoreboard === undefined) throw new Error("GetScoreboard failed");
    return result.response.scoreboard;
  } finally {
    client.close();
  }
}

const post = (b: Scoreboard) => b.inquiryTypes.find((t) => t.id === POST);

let a: TestGateway;
let b: TestGateway;

beforeAll(async () => {
  a = await start("gateway-a");
  b = await start("gateway-b");
}, 60_000);

afterAll(async () => {
  for (const gw of gateways) await gw.close().catch(() => undefined);
  await dropSchema(schema);
});

describe("the scoreboard of several instances", () => {
  it("adds up every instance's inquiries, whichever instance is asked", async () => {
    await ask(a, 4);
    await ask(b, 7);
    await a.gateway.scoreboard.flush();
    await b.gateway.scoreboard.flush();
    for (const gw of [a, b]) {
      const view = await board(gw);
      expect(view.instances).toEqual(["gateway-a", "gateway-b"]);
      expect(post(view)).toMatchObject({ answered: 11n, volumeToday: 11n, status: InquiryStatus.ONLINE });
    }
  });

  it("shows an inquiry offline on every instance when its breaker is open on one", async () => {
    await a.agencies.faults.set({ agency: "post", mode: "error" });
    await ask(a, 6);
    await a.gateway.scoreboard.flush();
    const seenByB = await board(b);
    expect(post(seenByB)).toMatchObject({ status: InquiryStatus.OFFLINE, breaker: BreakerState.OPEN });
    const client = createOperatorClient(b.gateway.grpcAddress, KEYS.admin);
    try {
      const breakers = await client.listBreakers({});
      const postBreaker = breakers.ok ? breakers.response.breakers.find((x) => x.endpoint === "post/main") : undefined;
      expect(postBreaker?.state).toBe(BreakerState.OPEN);
      expect(postBreaker?.instances.map((i) => [i.instance, i.state])).toEqual(
        expect.arrayContaining([
          ["gateway-a", BreakerState.OPEN],
          ["gateway-b", BreakerState.CLOSED],
        ]),
      );
    } finally {
      client.close();
    }
    a.agencies.faults.reset();
  });

  it("keeps today's volume and the trend across a restart", async () => {
    await b.close();
    const c = await start("gateway-c");
    const view = await board(c);
    expect(post(view)?.volumeToday).toBe(17n);
    expect(view.agencies.find((x) => x.id === "post")?.daily).toHaveLength(1);
  });
});
