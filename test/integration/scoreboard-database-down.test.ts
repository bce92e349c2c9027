// The scoreboard when PostgreSQL goes away: inquiries are answered as before (counting never waits for the
// database), the operators still get the last scoreboard, and what was counted meanwhile is written, not
// lost, once the database answers again.
import { afterAll, beforeAll, expect, it } from "vitest";
import { createOperatorClient } from "../../cli/operator-client.ts";
import type { Scoreboard } from "../../gen/estelam/operator/v1/operator_pb.js";
import { KEYS, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { TEST_DATABASE_URL } from "../helpers/postgres.ts";
import { startDatabaseProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";

const POST = "post.address-by-postcode.v1";
let proxy: TcpProxy;
let gw: TestGateway;

beforeAll(async () => {
  const proxied = await startDatabaseProxy(TEST_DATABASE_URL);
  proxy = proxied.proxy;
  gw = await startTestGateway({
    database: "postgres",
    databaseUrl: proxied.url,
    env: { ESTELAM_SCOREBOARD_FLUSH_MS: "60000" },
  });
}, 60_000);

afterAll(async () => {
  await proxy?.restore().catch(() => undefined);
  await gw?.close();
  await proxy?.close();
});

async function ask(times: number): Promise<number> {
  let answered = 0;
  for (let i = 0; i < times; i++) {
    const r = await gw.client.inquire({
      inquiryType: POST,
      params: { postal_code: "1193653471" },
      purpose: "kyc.address-verification",
      endUser: "ops",
    });
    if (r.ok) answered++;
  }
  return answered;
}

async function board(): Promise<Scoreboard> {
  const client = createOperatorClient(gw.gateway.grpcAddress, KEYS.admin);
  try {
    const result = await client.getScoreboard({}, { deadlineMs: 20_000 });
    if (!result.ok || result.response.scoreboard === undefined)
      throw new Error(`GetScoreboard failed: ${result.ok ? "empty" : result.status.message}`);
    return result.response.scoreboard;
  } finally {
    client.close();
  }
}

it("keeps answering and counting while the database is away, and writes the counts when it is back", async () => {
  await ask(3);
  await gw.gateway.scoreboard.flush();
  const before = await board();
  expect(before.inquiryTypes.find((t) => t.id === POST)?.volumeToday).toBe(3n);

  await proxy.cut();
  expect(await ask(4)).toBe(4);
  await gw.gateway.scoreboard.flush();
  // The last scoreboard computed, rather than an error; the page's JSON too.
  const during = await board();
  expect(during.inquiryTypes.find((t) => t.id === POST)?.volumeToday).toBe(3n);
  const page = await fetch(`${gw.gateway.httpUrl}/status/scoreboard.json`);
  expect(page.status).toBe(200);
  expect(gw.logs.parsed().some((l) => l.msg === "scoreboard: counts not written; kept and retried")).toBe(true);

  await proxy.restore();
  await gw.gateway.scoreboard.flush();
  const after = await board();
  expect(after.inquiryTypes.find((t) => t.id === POST)).toMatchObject({ volumeToday: 7n, answered: 7n });
  expect(gw.logs.parsed().some((l) => l.msg === "scoreboard: the database answers again; counts written")).toBe(true);
}, 60_000);
