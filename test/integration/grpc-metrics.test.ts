// The go-grpc-prometheus set, complete: every call is started and handled, messages are counted both ways,
// and calls grpc-js refuses before any handler runs (a method nobody serves, an oversized message) are
// counted too, under fixed labels. The whole /metrics output passes `promtool check metrics` with no warning.
import { execFile } from "node:child_process";
import { Client, credentials, status as GrpcStatus, Metadata, type ServiceError } from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, scrapeMetrics, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let t: TestGateway;
let raw: Client;

/** One unary call with raw bytes, so the test can send what no generated client would. */
function rawCall(path: string, body: Buffer, apiKey?: string): Promise<number> {
  const metadata = new Metadata();
  if (apiKey !== undefined) metadata.set("authorization", `Bearer ${apiKey}`);
  return new Promise((resolve) => {
    raw.makeUnaryRequest(
      path,
      (b: Buffer) => b,
      (b: Buffer) => b,
      body,
      metadata,
      { deadline: Date.now() + 10_000 },
      (error: ServiceError | null) => resolve(error?.code ?? GrpcStatus.OK),
    );
  });
}

beforeAll(async () => {
  t = await startTestGateway({ audit: "journal", defaultMetrics: true });
  raw = new Client(t.gateway.grpcAddress, credentials.createInsecure(), { "grpc.max_send_message_length": 8 << 20 });
  const answered = await t.client.inquire({
    inquiryType: "nocr.identity-match.v1",
    params: { national_code: "0012345679", birth_date: "1348/01/31" },
    purpose: "kyc.account-opening",
    endUser: "teller-7",
  });
  expect(answered.ok).toBe(true);
  expect(await rawCall("/estelam.inquiry.v1.InquiryService/Inquire", Buffer.alloc(2 << 20, 1), KEYS.demoBank)).toBe(
    GrpcStatus.RESOURCE_EXHAUSTED,
  );
  // Refused at the edge before grpc-js builds a call: still started and handled.
  expect(await rawCall("/estelam.inquiry.v1.InquiryService/Inquire", Buffer.alloc(0))).toBe(GrpcStatus.UNAUTHENTICATED);
  expect(await rawCall("/estelam.inquiry.v1.InquiryService/NoSuchMethod", Buffer.alloc(0))).toBe(GrpcStatus.UNIMPLEMENTED);
  expect(await rawCall("/some.caller.typed.this/0012345679", Buffer.alloc(0))).toBe(GrpcStatus.UNIMPLEMENTED);
});
afterAll(async () => {
  raw?.close();
  await t?.close();
});

const INQUIRE = { grpc_service: "estelam.inquiry.v1.InquiryService", grpc_method: "Inquire", grpc_type: "unary" };
const UNKNOWN = { grpc_service: "unknown", grpc_method: "unknown", grpc_type: "unknown" };

async function sample(name: string, labels: Record<string, string>): Promise<number> {
  const samples = await scrapeMetrics(t.gateway);
  return samples
    .filter((s) => s.name === name && Object.entries(labels).every(([k, v]) => s.labels[k] === v))
    .reduce((sum, s) => sum + s.value, 0);
}

describe("gRPC server metrics", () => {
  it("count started calls and messages both ways, per method", async () => {
    await expect.poll(() => sample("grpc_server_started_total", INQUIRE)).toBe(3);
    expect(await sample("grpc_server_msg_received_total", INQUIRE)).toBe(1);
    expect(await sample("grpc_server_msg_sent_total", INQUIRE)).toBe(1);
  });

  it("count the calls grpc-js refused itself: an oversized message, a method nobody serves", async () => {
    await expect.poll(() => sample("grpc_server_handled_total", { ...INQUIRE, grpc_code: "ResourceExhausted" })).toBe(1);
    expect(await sample("grpc_server_handled_total", { ...INQUIRE, grpc_code: "OK" })).toBe(1);
    expect(await sample("grpc_server_handled_total", { ...INQUIRE, grpc_code: "Unauthenticated" })).toBe(1);
    expect(await sample("estelam_edge_refusals_total", { reason: "credential_missing" })).toBe(1);
    expect(await sample("grpc_server_started_total", UNKNOWN)).toBe(2);
    expect(await sample("grpc_server_handled_total", { ...UNKNOWN, grpc_code: "Unimplemented" })).toBe(2);
    // The path a caller typed never becomes a label.
    const text = await (await fetch(`${t.gateway.httpUrl}/metrics`)).text();
    expect(text).not.toContain("0012345679");
    expect(text).not.toContain("NoSuchMethod");
  });

  it("handle every call they start", async () => {
    const samples = await scrapeMetrics(t.gateway);
    const key = (l: Record<string, string>): string => `${l.grpc_service}/${l.grpc_method}/${l.grpc_type}`;
    const started = new Map<string, number>();
    const handled = new Map<string, number>();
    for (const s of samples) {
      if (s.name === "grpc_server_started_total") started.set(key(s.labels), (started.get(key(s.labels)) ?? 0) + s.value);
      if (s.name === "grpc_server_handled_total") handled.set(key(s.labels), (handled.get(key(s.labels)) ?? 0) + s.value);
    }
    expect(started.size).toBeGreaterThan(0);
    expect(handled).toEqual(started);
  });

  it("pass `promtool check metrics` with no warning, process metrics included", async () => {
    const text = await (await fetch(`${t.gateway.httpUrl}/metrics`)).text();
    expect(text).toContain("process_cpu_seconds_total");
    const { code, output } = await new Promise<{ code: number; output: string }>((resolve, reject) => {
      const child = execFile("promtool", ["check", "metrics"], { timeout: 30_000 }, (error, stdout, stderr) => {
        if (error !== null && (error as NodeJS.ErrnoException).code === "ENOENT") {
          reject(new Error("promtool is needed (Debian package `prometheus`; .ci/run installs it): apt-get install prometheus"));
          return;
        }
        resolve({ code: error === null ? 0 : Number(error.code), output: `${stdout}${stderr}` });
      });
      child.stdin?.end(text);
    });
    expect(output).toBe("");
    expect(code).toBe(0);
  });
});
