// Shedding at the edge, with the heap reading in the test's hands: while memory is short, streams still
// waiting for their message are reset and new ones are answered RESOURCE_EXHAUSTED / OVERLOADED at once;
// when memory is back, calls are served again. A grpc-js server with the health service and the edge guard,
// called through real sockets.
import { type ClientHttp2Session, connect, constants } from "node:http2";
import { getHeapStatistics } from "node:v8";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Code } from "../../core/errors.ts";
import { createHealthService } from "../../gateway/grpc/health.ts";
import { DEFAULT_LIMITS } from "../../gateway/grpc/server.ts";
import { type EdgeGuard, guardServer } from "../../gateway/grpc/server-edge.ts";
import { grpcFrame } from "../helpers/h2-abuse.ts";

let server: Server;
let guard: EdgeGuard;
let session: ClientHttp2Session;
let heap = 0;
const refused: string[] = [];
const LIMIT = getHeapStatistics().heap_size_limit;

beforeAll(async () => {
  server = new Server();
  guard = guardServer(server, {
    limits: { ...DEFAULT_LIMITS, admissionMs: 60_000, shedMemoryPercent: 50 },
    heapUsed: () => heap,
    events: { onRefused: (reason) => refused.push(reason) },
  });
  const health = createHealthService();
  server.addService(health.service.definition, health.service.implement());
  const port = await new Promise<number>((resolve, reject) =>
    server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, p) => (error ? reject(error) : resolve(p))),
  );
  session = connect(`http://127.0.0.1:${port}`);
  await new Promise((resolve) => session.once("remoteSettings", resolve));
});
afterAll(() => {
  session?.destroy();
  guard?.close();
  server?.forceShutdown();
});

const CHECK = { ":method": "POST", ":path": "/grpc.health.v1.Health/Check", "content-type": "application/grpc", te: "trailers" };

function call(send: boolean): { ended: Promise<{ status?: string; rst: number }> } {
  const stream = session.request(CHECK, { endStream: false });
  let status: string | undefined;
  stream.on("response", (h) => (status ??= h["grpc-status"] as string | undefined));
  stream.on("trailers", (h) => (status ??= h["grpc-status"] as string | undefined));
  stream.on("data", () => undefined);
  stream.on("error", () => undefined);
  if (send) stream.end(grpcFrame(new Uint8Array(0)));
  return {
    ended: new Promise((resolve) =>
      stream.on("close", () => resolve({ ...(status === undefined ? {} : { status }), rst: stream.rstCode ?? 0 })),
    ),
  };
}

describe("shedding", () => {
  it("resets waiting streams and refuses new ones while memory is short, then serves again", async () => {
    expect((await call(true).ended).status).toBe(String(Code.OK));
    const waiting = call(false); // never sends its message
    await new Promise((r) => setTimeout(r, 50));
    heap = LIMIT * 0.6;
    expect(await waiting.ended).toEqual({ rst: constants.NGHTTP2_CANCEL });
    expect(guard.shedding()).toBe(true);
    expect((await call(true).ended).status).toBe(String(Code.RESOURCE_EXHAUSTED));
    expect(refused).toEqual(["shed_pending", "OVERLOADED"]);

    heap = LIMIT * 0.1;
    await expect.poll(() => guard.shedding()).toBe(false);
    expect((await call(true).ended).status).toBe(String(Code.OK));
  });
});
