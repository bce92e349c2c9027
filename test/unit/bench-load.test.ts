// The benchmark's measuring instruments: the open loop must count latency from each inquiry's scheduled
// time (a stall delays everything due during it), and the reference mode must read h2load and build
// gRPC bodies correctly, or its ratios mean nothing.
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { fromBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { InquireRequestSchema } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { percentile, runOpenLoop } from "../bench/load.ts";
import {
  decileInquiryFrame,
  grpcFrame,
  h2loadLatencies,
  nginxConfig,
  parseH2loadOutput,
  welfareRequestFrame,
} from "../bench/reference-proxy.ts";
import { buildWorkload } from "../bench/workload.ts";

describe("open loop", () => {
  it("sends on schedule while earlier inquiries are unanswered, and times each from its scheduled moment", async () => {
    const inquiries = buildWorkload(40, 1);
    // The first inquiry stalls 200 ms; the others answer at once. At 200/s the other 39 are due every 5 ms
    // during the stall and must not wait for it.
    let calls = 0;
    const result = await runOpenLoop(inquiries, 200, async () => {
      calls++;
      if (calls === 1) await new Promise((done) => setTimeout(done, 200));
      return "found";
    });
    expect(result.count).toBe(40);
    expect(result.errors).toBe(0);
    expect(result.latenciesMs[0]).toBeGreaterThanOrEqual(195);
    // Had the loop waited for the stalled inquiry (closed loop), the next would have been sent ~200 ms late.
    expect(percentile(result.latenciesMs, 0.5)).toBeLessThan(50);
    // 40 inquiries at 200/s take ~195 ms to send; the stalled one ends the run at ~200 ms.
    expect(result.seconds).toBeLessThan(1);
  });

  it("counts the load generator's own lateness in the latency", async () => {
    const inquiries = buildWorkload(20, 1);
    let blocked = false;
    const result = await runOpenLoop(inquiries, 1000, async () => {
      if (!blocked) {
        blocked = true;
        // Block the event loop for 50 ms: the inquiries due meanwhile are sent late, and that shows.
        const until = performance.now() + 50;
        while (performance.now() < until);
      }
      return "found";
    });
    expect(result.maxSendLagMs).toBeGreaterThanOrEqual(30);
    expect(percentile(result.latenciesMs, 0.5)).toBeGreaterThanOrEqual(20);
  });

  it("counts failures without stopping", async () => {
    const result = await runOpenLoop(buildWorkload(10, 1), 1000, async () => {
      throw new Error("gRPC UNAVAILABLE");
    });
    expect(result.errors).toBe(10);
    expect(result.errorSamples.length).toBeGreaterThan(0);
  });
});

describe("reference proxy helpers", () => {
  it("frames a message as gRPC does: flag 0, 4-byte big-endian length, the bytes", () => {
    const frame = grpcFrame(new Uint8Array([1, 2, 3]));
    expect([...frame]).toEqual([0, 0, 0, 0, 3, 1, 2, 3]);
  });

  it("builds the household-decile inquiry the gateway decodes and answers through its gRPC connector", () => {
    const frame = decileInquiryFrame();
    expect(frame.readUInt32BE(1)).toBe(frame.length - 5);
    const request = fromBinary(InquireRequestSchema, frame.subarray(5));
    expect(request.inquiryType).toBe("welfare.subsidy-decile.v1");
    expect(request.params).toEqual({ national_code: "0012345679" });
  });

  it("encodes the welfare request's national_code as field 1", () => {
    const frame = welfareRequestFrame("0012345679");
    expect([...frame.subarray(5, 7)]).toEqual([0x0a, 10]);
    expect(frame.subarray(7).toString()).toBe("0012345679");
  });

  it("reads h2load's summary, and refuses output without one", () => {
    const text = `finished in 2.92s, 6849.32 req/s, 312.45KB/s
requests: 20000 total, 20000 started, 20000 done, 19998 succeeded, 2 failed, 0 errored, 0 timeout
status codes: 20000 2xx, 0 3xx, 0 4xx, 0 5xx`;
    expect(parseH2loadOutput(text)).toEqual({ requests: 20000, succeeded: 19998, failed: 2, seconds: 2.92 });
    expect(parseH2loadOutput(text.replace("2.92s", "850.5ms")).seconds).toBeCloseTo(0.8505);
    expect(() => parseH2loadOutput("connect: Connection refused")).toThrow(/no summary/);
  });

  it("reads each request's duration from h2load's per-request log, in milliseconds", () => {
    const dir = mkdtempSync(join(tmpdir(), "estelam-h2load-log-"));
    try {
      const file = join(dir, "requests.log");
      writeFileSync(file, "1764028800000000\t200\t512\n1764028800001000\t200\t1834\n1764028800003000\t200\t20480\n");
      expect([...h2loadLatencies(file)]).toEqual([0.512, 1.834, 20.48]);
      expect(percentile(h2loadLatencies(file), 0.5)).toBe(1.834);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it("keeps nginx on loopback, in the foreground, with its files in the run's folder", () => {
    const config = nginxConfig("/tmp/run/nginx", "127.0.0.1:4000", "127.0.0.1:5000");
    expect(config).toMatch(/^daemon off;$/m);
    expect(config).toMatch(/^\s*listen 127\.0\.0\.1:4000 http2;$/m);
    expect(config).toMatch(/^\s*server 127\.0\.0\.1:5000;$/m);
    expect(config).toMatch(/grpc_pass grpc:\/\/agency;/);
    for (const line of config.split("\n").filter((l) => /(_path|_log|pid) /.test(l))) expect(line).toContain("/tmp/run/nginx/");
  });
});
