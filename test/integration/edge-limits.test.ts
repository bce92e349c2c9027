// Each limit of the gRPC edge, one at a time, through real sockets (node:http2 for what a gRPC library would
// not send): the streams per connection a caller is told, a header list over the limit, a stream that does
// not deliver its message in time, a connection over the process's limit, a connection that makes the edge
// refuse stream after stream, the calls in flight per caller and per process, and shedding when memory runs
// short. Each refusal is a catalogued status (RESOURCE_EXHAUSTED / OVERLOADED with a retry hint) or a reset.
import { type ClientHttp2Session, connect, constants } from "node:http2";
import { connect as connectTcp, type Socket } from "node:net";
import { create, toBinary } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../core/errors.ts";
import { InquireRequestSchema } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { createInquiryClient } from "../helpers/client.ts";
import { KEYS, scrapeMetrics, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { grpcFrame } from "../helpers/h2-abuse.ts";

const ADMISSION_MS = 300;
const SEND_TIMEOUT_MS = 500;
const HANDSHAKE_MS = 600;
let t: TestGateway;

beforeAll(async () => {
  t = await startTestGateway({
    audit: "journal",
    env: {
      ESTELAM_GRPC_ADMISSION_MS: String(ADMISSION_MS),
      ESTELAM_GRPC_SEND_TIMEOUT_MS: String(SEND_TIMEOUT_MS),
      ESTELAM_GRPC_MAX_STREAMS_PER_CONNECTION: "50",
      ESTELAM_GRPC_MAX_HEADER_BYTES: "4096",
      ESTELAM_GRPC_MAX_CONNECTIONS: "6",
      ESTELAM_GRPC_HANDSHAKE_MS: String(HANDSHAKE_MS),
      ESTELAM_GRPC_MAX_IN_FLIGHT_PER_CALLER: "2",
      ESTELAM_GRPC_MAX_STRIKES_PER_CONNECTION: "20",
    },
  });
});
afterAll(async () => {
  await t?.close();
});

const address = {
  inquiryType: "post.address-by-postcode.v1",
  params: { postal_code: "1193653471" },
  purpose: "kyc.address-verification",
  endUser: "teller-7",
};

async function refusals(reason: string): Promise<number> {
  return (await scrapeMetrics(t.gateway)).find((s) => s.name === "estelam_edge_refusals_total" && s.labels.reason === reason)?.value ?? 0;
}

/** An HTTP/2 connection that has greeted, to `address` (default the file's gateway), from `localAddress`. */
function session(address = t.gateway.grpcAddress, localAddress = "127.0.0.1"): Promise<ClientHttp2Session> {
  const [host, port] = address.split(":") as [string, string];
  return new Promise((resolve, reject) => {
    const s = connect(`http://${address}`, { createConnection: () => connectTcp({ host, port: Number(port), localAddress }) });
    s.once("remoteSettings", () => resolve(s));
    s.once("error", reject);
    s.once("close", () => reject(new Error("the connection was closed")));
  });
}

const headers = (extra: Record<string, string> = {}) => ({
  ":method": "POST",
  ":path": "/estelam.inquiry.v1.InquiryService/Inquire",
  "content-type": "application/grpc",
  te: "trailers",
  authorization: `Bearer ${KEYS.demoBank}`,
  ...extra,
});

/** Opens a stream and reports how it ended: a gRPC status, or a reset code. `end` half-closes after `body`. */
function outcome(
  s: ClientHttp2Session,
  h: Record<string, string>,
  body?: Buffer,
  end = false,
): Promise<{ status?: string; rst?: number; ms: number }> {
  const started = performance.now();
  return new Promise((resolve) => {
    const stream = s.request(h, { endStream: false });
    let status: string | undefined;
    stream.on("response", (r) => (status ??= r["grpc-status"] as string | undefined));
    stream.on("trailers", (r) => (status ??= r["grpc-status"] as string | undefined));
    stream.on("error", () => undefined);
    stream.on("data", () => undefined);
    stream.on("close", () =>
      resolve({ ...(status === undefined ? { rst: stream.rstCode } : { status }), ms: performance.now() - started }),
    );
    if (end) stream.end(body);
    else if (body !== undefined) stream.write(body);
  });
}

describe("limits per connection", () => {
  it("tells each connection how many streams it may open", async () => {
    const s = await session();
    expect(s.remoteSettings.maxConcurrentStreams).toBe(50);
    s.destroy();
  });

  it("refuses a stream whose header list is over the limit, and keeps serving the connection", async () => {
    const s = await session();
    const big = await outcome(s, headers({ "x-padding": "p".repeat(8000) }));
    expect(big.status).toBeUndefined();
    expect(big.rst).toBeGreaterThan(0);
    // The same connection still carries a call (this one refused at once for its unknown key).
    const normal = await outcome(s, headers({ authorization: "Bearer not-a-registered-key-000" }));
    expect(normal.status).toBe(String(Code.UNAUTHENTICATED));
    s.destroy();
  });

  it(`resets a stream that has not delivered its message within ${ADMISSION_MS} ms`, async () => {
    const before = await refusals("admission_timeout");
    const s = await session();
    const partial = Buffer.alloc(5 + 10);
    partial.writeUInt32BE(200, 1);
    const [idle, half] = await Promise.all([outcome(s, headers()), outcome(s, headers(), partial)]);
    for (const ended of [idle, half]) {
      expect(ended.rst).toBe(constants.NGHTTP2_CANCEL);
      expect(ended.ms).toBeGreaterThanOrEqual(ADMISSION_MS - 20);
      expect(ended.ms).toBeLessThan(ADMISSION_MS + 1500);
    }
    expect(await refusals("admission_timeout")).toBe(before + 2);
    s.destroy();
  });

  it(`resets a stream whose answer the caller has not read within ${SEND_TIMEOUT_MS} ms`, async () => {
    const before = await refusals("send_timeout");
    // A caller that never reads: its flow-control window is 0, so not one byte of the answer can be sent.
    const s = await new Promise<ClientHttp2Session>((resolve, reject) => {
      const c = connect(`http://${t.gateway.grpcAddress}`, { settings: { initialWindowSize: 0 } });
      c.once("remoteSettings", () => resolve(c));
      c.once("error", reject);
    });
    const ended = await outcome(
      s,
      headers({ ":path": "/estelam.inquiry.v1.InquiryService/ListAllowedInquiries" }),
      grpcFrame(new Uint8Array(0)),
      true,
    );
    expect(ended.rst).toBe(constants.NGHTTP2_CANCEL);
    expect(ended.ms).toBeGreaterThanOrEqual(SEND_TIMEOUT_MS - 20);
    expect(ended.ms).toBeLessThan(SEND_TIMEOUT_MS + 1500);
    expect(await refusals("send_timeout")).toBe(before + 1);
    s.destroy();
  });

  it("closes a connection that makes the edge refuse stream after stream (GOAWAY ENHANCE_YOUR_CALM)", async () => {
    const s = await session();
    const goaway = new Promise<number>((resolve) => s.once("goaway", (code) => resolve(code)));
    s.on("error", () => undefined);
    const anonymous = { ...headers(), authorization: "" };
    const ends = await Promise.all(
      Array.from({ length: 30 }, () => outcome(s, anonymous, grpcFrame(new Uint8Array(0))).catch(() => ({ ms: 0 }))),
    );
    expect(await goaway).toBe(constants.NGHTTP2_ENHANCE_YOUR_CALM);
    expect(ends.filter((e) => "status" in e && e.status === String(Code.UNAUTHENTICATED)).length).toBeGreaterThanOrEqual(19);
    expect(await refusals("connection_strikes")).toBeGreaterThanOrEqual(1);
    s.destroy();
  });
});

describe("limits per process and per caller", () => {
  it("closes connections over the process's limit at once", async () => {
    const open: ClientHttp2Session[] = [];
    // The test's own client may hold a connection; open until one is refused.
    let refused = false;
    for (let i = 0; i < 8 && !refused; i++) {
      try {
        const s = await session();
        await outcome(s, headers({ authorization: "Bearer not-a-registered-key-000" }));
        open.push(s);
      } catch {
        refused = true;
      }
    }
    expect(refused).toBe(true);
    expect(open.length).toBeLessThanOrEqual(6);
    expect(await refusals("connection_limit")).toBeGreaterThanOrEqual(1);
    for (const s of open) s.destroy();
  });

  it(`closes connections that have not sent the HTTP/2 preface within ${HANDSHAKE_MS} ms, and frees their places`, async () => {
    await new Promise((r) => setTimeout(r, 200)); // the previous test's connections are gone
    const before = await refusals("handshake_timeout");
    const [host, port] = t.gateway.grpcAddress.split(":") as [string, string];
    // Sockets that connect and say nothing, and one that stops halfway through the preface: together
    // they take every place the process has.
    const silent = (greeting?: string) =>
      new Promise<{ socket: Socket; closed: Promise<number> }>((resolve, reject) => {
        const socket = connectTcp(Number(port), host, () => {
          if (greeting !== undefined) socket.write(greeting);
          const opened = performance.now();
          resolve({ socket, closed: new Promise((done) => socket.once("close", () => done(performance.now() - opened))) });
        });
        socket.on("error", () => undefined);
        socket.once("error", reject);
        socket.resume(); // reads what the gateway sends, and so sees it close the connection
      });
    const held = [await silent("PRI * HTTP/2.0\r\n")];
    for (let i = 0; i < 7; i++) held.push(await silent());
    // While they hold the places, a new caller's connection is turned away.
    const newcomer = createInquiryClient(t.gateway.grpcAddress, KEYS.demoBank);
    try {
      const refused = await newcomer.inquire(address, { deadlineMs: 250 });
      expect(!refused.ok && refused.status.code).toBe(Code.UNAVAILABLE);
      const lifetimes = await Promise.all(held.map((h) => h.closed));
      const heldOpen = lifetimes.filter((ms) => ms >= HANDSHAKE_MS - 50);
      expect(heldOpen.length).toBeGreaterThanOrEqual(4);
      for (const ms of heldOpen) expect(ms).toBeLessThan(HANDSHAKE_MS + 1500);
      expect(await refusals("handshake_timeout")).toBeGreaterThanOrEqual(before + heldOpen.length);
      // Their places are free again.
      await expect.poll(async () => (await newcomer.inquire(address)).ok, { timeout: 5000, interval: 200 }).toBe(true);
    } finally {
      newcomer.close();
      for (const h of held) h.socket.destroy();
    }
  });

  it(`keeps a connection that has greeted and then stays quiet beyond ${HANDSHAKE_MS} ms`, async () => {
    const before = await refusals("handshake_timeout");
    const s = await session();
    try {
      await new Promise((r) => setTimeout(r, HANDSHAKE_MS * 2));
      expect(s.closed || s.destroyed).toBe(false);
      const answer = await outcome(s, headers(), grpcFrame(Buffer.alloc(0)), true);
      expect(answer.status).toBe(String(Code.INVALID_ARGUMENT));
      expect(await refusals("handshake_timeout")).toBe(before);
    } finally {
      s.destroy();
    }
  });

  it("answers OVERLOADED with a retry hint to a caller over its calls in flight, while another caller is served", async () => {
    await new Promise((r) => setTimeout(r, 200)); // the previous test's connections are gone
    t.agencies.faults.set({ agency: "post", mode: "ok", latencyMs: 400 });
    try {
      const bank = createInquiryClient(t.gateway.grpcAddress, KEYS.demoBank);
      const counter = createInquiryClient(t.gateway.grpcAddress, KEYS.counterOffice);
      const [a, b, c, other] = await Promise.all([
        bank.inquire(address),
        bank.inquire(address),
        bank.inquire(address),
        counter.inquire({ ...address, purpose: "counter.service-request" }),
      ]);
      const results = [a, b, c];
      expect(results.filter((r) => r.ok)).toHaveLength(2);
      const refused = results.find((r) => !r.ok);
      expect(refused !== undefined && !refused.ok && refused.status).toMatchObject({
        code: Code.RESOURCE_EXHAUSTED,
        reason: "OVERLOADED",
        origin: "gateway",
        retryAfterMs: 1000,
      });
      expect(other.ok).toBe(true);
      bank.close();
      counter.close();
    } finally {
      t.agencies.faults.reset();
    }
  });
});

describe("shedding", () => {
  it("refuses new calls with OVERLOADED while the heap is over its threshold, and says so in /metrics", async () => {
    const shedding = await startTestGateway({ audit: "journal", env: { ESTELAM_SHED_MEMORY_PERCENT: "1" } });
    try {
      // With no call in flight, memory is sampled once a second.
      await expect
        .poll(async () => (await scrapeMetrics(shedding.gateway)).find((s) => s.name === "estelam_edge_shedding")?.value, {
          timeout: 3000,
        })
        .toBe(1);
      const refused = await shedding.client.inquire(address);
      expect(!refused.ok && refused.status).toMatchObject({ code: Code.RESOURCE_EXHAUSTED, reason: "OVERLOADED", retryAfterMs: 1000 });
    } finally {
      await shedding.close();
    }
  });
});

describe("budgets that one kind of caller cannot spend for another", () => {
  let g: TestGateway | undefined;
  beforeAll(async () => {
    g = await startTestGateway({
      audit: "journal",
      env: { ESTELAM_GRPC_MAX_IN_FLIGHT: "8", ESTELAM_GRPC_MAX_IN_FLIGHT_PER_CALLER: "1", ESTELAM_GRPC_MAX_STRIKES_PER_CONNECTION: "5" },
    });
  });
  afterAll(async () => {
    await g?.close();
  });

  /** Opens a health Watch without a credential; says whether it is watching or how it was refused. */
  function watch(s: ClientHttp2Session): Promise<string> {
    return new Promise((resolve) => {
      const stream = s.request(
        { ":method": "POST", ":path": "/grpc.health.v1.Health/Watch", "content-type": "application/grpc", te: "trailers" },
        { endStream: false },
      );
      stream.on("error", () => undefined);
      stream.on("response", (h) => {
        if (h["grpc-status"] !== undefined) resolve(`refused ${String(h["grpc-status"])}`);
      });
      stream.once("data", () => resolve("watching"));
      stream.on("close", () => resolve(`closed ${stream.rstCode}`));
      stream.end(grpcFrame(new Uint8Array(0)));
    });
  }

  it("health Watch streams held open without a credential do not keep inquiries out", async () => {
    if (g === undefined) throw new Error("no gateway");
    const s = await new Promise<ClientHttp2Session>((resolve, reject) => {
      const c = connect(`http://${g?.gateway.grpcAddress}`);
      c.once("remoteSettings", () => resolve(c));
      c.once("error", reject);
    });
    try {
      const watches = await Promise.all(Array.from({ length: 20 }, () => watch(s)));
      // Sixteen per address, apart from the eight calls in flight the credentialed callers share.
      expect(watches.filter((w) => w === "watching")).toHaveLength(16);
      expect(watches.filter((w) => w !== "watching")).toEqual(Array.from({ length: 4 }, () => `refused ${Code.RESOURCE_EXHAUSTED}`));
      const answered = await g.client.inquire(address);
      expect(answered.ok ? answered.response.responder : answered.status.reason).toBe("post");
    } finally {
      s.destroy();
    }
  });

  it("does not close the connection of a caller refused OVERLOADED again and again, so its admitted calls are answered", async () => {
    if (g === undefined) throw new Error("no gateway");
    g.agencies.faults.set({ agency: "post", mode: "ok", latencyMs: 400 });
    const bank = createInquiryClient(g.gateway.grpcAddress, KEYS.demoBank);
    try {
      // One call in flight per caller: the first is admitted, the eleven others are refused, far more than
      // the five strikes after which a misbehaving connection is closed.
      const outcomes = await Promise.all(Array.from({ length: 12 }, () => bank.inquire(address)));
      expect(outcomes.filter((o) => o.ok)).toHaveLength(1);
      expect(outcomes.filter((o) => !o.ok).map((o) => !o.ok && o.status.reason)).toEqual(Array.from({ length: 11 }, () => "OVERLOADED"));
      g.agencies.faults.reset();
      const again = await bank.inquire(address);
      expect(again.ok).toBe(true);
    } finally {
      g.agencies.faults.reset();
      bank.close();
    }
  });
});

describe("connections per peer address", () => {
  let g: TestGateway | undefined;
  afterAll(async () => {
    await g?.close();
  });

  it("closes a peer address's connections over its limit at once, while another address still connects", async () => {
    g = await startTestGateway({
      audit: "journal",
      env: { ESTELAM_GRPC_MAX_CONNECTIONS: "20", ESTELAM_GRPC_MAX_CONNECTIONS_PER_ADDRESS: "3" },
    });
    const address = g.gateway.grpcAddress;
    const open = (localAddress: string) => session(address, localAddress);
    const held: ClientHttp2Session[] = [];
    try {
      for (let i = 0; i < 3; i++) held.push(await open("127.0.0.1"));
      await expect(open("127.0.0.1")).rejects.toThrow();
      const refused = (await scrapeMetrics(g.gateway)).find(
        (x) => x.name === "estelam_edge_refusals_total" && x.labels.reason === "address_connection_limit",
      );
      expect(refused?.value).toBeGreaterThanOrEqual(1);
      // Another address is not held back by the first one's connections.
      held.push(await open("127.0.0.2"));
      // A place given back is free again for the first address.
      held.shift()?.destroy();
      await expect
        .poll(
          () =>
            open("127.0.0.1").then(
              (s) => {
                held.push(s);
                return true;
              },
              () => false,
            ),
          { timeout: 3000 },
        )
        .toBe(true);
    } finally {
      for (const s of held) s.destroy();
    }
  });
});

describe("idle connections", () => {
  const IDLE_MS = 1000;
  let g: TestGateway | undefined;
  afterAll(async () => {
    await g?.close();
  });

  const connections = async (gateway: TestGateway): Promise<number> =>
    (await scrapeMetrics(gateway.gateway)).find((x) => x.name === "estelam_edge_connections")?.value ?? Number.NaN;

  it(`closes a connection with no call in progress for ${IDLE_MS} ms with GOAWAY, not while a call is in progress, and a gRPC client's next call is answered`, async () => {
    g = await startTestGateway({ audit: "journal", env: { ESTELAM_GRPC_CONNECTION_IDLE_MS: String(IDLE_MS) } });
    const gateway = g;
    const s = await session(gateway.gateway.grpcAddress);
    let goawayAt: number | undefined;
    let goawayCode: number | undefined;
    s.once("goaway", (code) => {
      goawayAt = performance.now();
      goawayCode = code;
    });
    const closed = new Promise<number>((resolve) => s.once("close", () => resolve(performance.now())));
    const client = createInquiryClient(gateway.gateway.grpcAddress, KEYS.demoBank);
    try {
      // A call that outlasts the idle time keeps its connection open.
      gateway.agencies.faults.set({ agency: "post", mode: "ok", latencyMs: IDLE_MS + 500 });
      const slow = await outcome(
        s,
        headers(),
        grpcFrame(Buffer.from(toBinary(InquireRequestSchema, create(InquireRequestSchema, address)))),
        true,
      );
      gateway.agencies.faults.reset();
      expect(slow.status).toBe("0");
      expect(slow.ms).toBeGreaterThan(IDLE_MS);
      expect(goawayAt).toBeUndefined();
      // Then quiet: told GOAWAY with NO_ERROR once the idle time has passed since that call, and closed.
      const quietSince = performance.now();
      await expect.poll(() => goawayAt, { timeout: IDLE_MS * 3, interval: 50 }).toBeDefined();
      expect(goawayCode).toBe(constants.NGHTTP2_NO_ERROR);
      expect((goawayAt as number) - quietSince).toBeGreaterThanOrEqual(IDLE_MS - 100);
      expect((await closed) - quietSince).toBeLessThan(IDLE_MS * 4);

      // A gRPC client's connection is closed the same way; its next call opens a new one and is answered.
      expect((await client.inquire(address)).ok).toBe(true);
      await expect.poll(() => connections(gateway), { timeout: IDLE_MS * 4, interval: 100 }).toBe(0);
      expect((await client.inquire(address)).ok).toBe(true);
    } finally {
      s.destroy();
      client.close();
      gateway.agencies.faults.reset();
    }
  });
});
