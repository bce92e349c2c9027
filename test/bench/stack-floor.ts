// The floor of the gateway's stack: what its kept libraries alone cost per call, with none of its features.
// A child process (test/bench/floor-server.ts) serves InquiryService/Inquire with grpc-js through the
// gateway's adapter (protobuf-es decode and encode) and either answers a fixed response, makes one undici
// request to the demo civil registry and parses its JSON answer, or makes one grpc-js call to the demo
// welfare agency (the call the gateway's gRPC connector makes in `--reference`). h2load loads it as
// `--reference` loads the gateway, and its CPU per call is read from /proc. No authentication, validation,
// breaker, audit trail, metrics or log line.
//
// With `--unloaded N` it also times N calls one at a time (h2load, one connection, one stream, its
// per-request log) through each floor and straight to the welfare agency's gRPC face, and prints what each
// floor adds to the agency's p50: the latency the stack alone adds unloaded (`--reference` measures nginx
// and the gateway the same way).
//
//   node test/bench/stack-floor.ts [--requests 10000] [--rounds 3] [--warmup 2000] [--unloaded 2000]
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { InquireRequestSchema } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { FLOOR_MODES, type FloorMode, WELFARE_METHOD, WELFARE_TOKEN, welfareRequest } from "./floor-server.ts";
import { type AgenciesChild, procCpuSeconds, startAgenciesChild, startFloorChild, stopChild } from "./processes.ts";
import { decileInquiryFrame, grpcFrame, type H2loadTarget, oneAtATime, runH2load } from "./reference-proxy.ts";

/** The README's identity inquiry, framed: the floor's undici mode asks the demo civil registry for it. */
function identityInquiryFrame(): Buffer {
  const request = create(InquireRequestSchema, {
    inquiryType: "nocr.identity-match.v1",
    params: { national_code: "0012345679", birth_date: "1348/01/31" },
    purpose: "kyc.account-opening",
    endUser: "branch-1021/teller-7",
  });
  return grpcFrame(toBinary(InquireRequestSchema, request));
}

interface FloorOptions {
  readonly requests: number;
  readonly rounds: number;
  readonly warmup: number;
  readonly unloaded: number;
}

const TIMEOUT_SECONDS = 300;

/** The same load as `--reference`: 4 connections × 16 streams. */
const load = (dir: string, target: H2loadTarget, requests: number) =>
  runH2load({
    url: target.url,
    bodyFile: target.body,
    headers: target.headers,
    requests,
    connections: 4,
    streams: 16,
    timeFile: join(dir, "time.txt"),
    timeoutSeconds: TIMEOUT_SECONDS,
  });

/** `count` calls one at a time (oneAtATime), all of which must succeed; `pid`'s CPU µs per call. */
async function unloadedLatency(dir: string, name: string, target: H2loadTarget, count: number, pid?: number) {
  const timed = await oneAtATime(target, count, {
    dir,
    name,
    timeoutSeconds: TIMEOUT_SECONDS,
    ...(pid === undefined ? {} : { cpu: () => procCpuSeconds(pid) }),
  });
  if (timed.run.failed > 0) throw new Error(`${timed.run.failed} of ${count} calls failed`);
  return timed;
}

async function measure(mode: FloorMode, agencies: AgenciesChild, options: FloorOptions, dir: string) {
  const floor = await startFloorChild(mode, agencies);
  try {
    const body = join(dir, `inquire-${mode}.bin`);
    writeFileSync(body, mode === "grpc" ? decileInquiryFrame() : identityInquiryFrame());
    const target: H2loadTarget = { url: `http://${floor.address}/estelam.inquiry.v1.InquiryService/Inquire`, body, headers: [] };
    await load(dir, target, options.warmup);
    const perCall: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const before = procCpuSeconds(floor.pid) ?? 0;
      const run = await load(dir, target, options.requests);
      const after = procCpuSeconds(floor.pid) ?? 0;
      if (run.failed > 0) throw new Error(`${run.failed} calls failed`);
      perCall.push(Math.round(((after - before) / run.succeeded) * 1e6));
    }
    const unloaded = options.unloaded > 0 ? await unloadedLatency(dir, mode, target, options.unloaded, floor.pid) : undefined;
    return { perCall, unloaded };
  } finally {
    await stopChild(floor);
  }
}

const LABELS: Record<FloorMode, string> = {
  fixed: "grpc-js + adapter, fixed answer",
  undici: "grpc-js + adapter + one undici request (HTTP/JSON)",
  grpc: "grpc-js + adapter + one grpc-js call (welfare, gRPC)",
};

const { values } = parseArgs({
  options: {
    requests: { type: "string", default: "10000" },
    rounds: { type: "string", default: "3" },
    warmup: { type: "string", default: "2000" },
    unloaded: { type: "string", default: "0" },
  },
});
const options: FloorOptions = {
  requests: Number(values.requests),
  rounds: Number(values.rounds),
  warmup: Number(values.warmup),
  unloaded: Number(values.unloaded),
};
const dir = mkdtempSync(join(tmpdir(), "estelam-floor-"));
const agencies = await startAgenciesChild();
try {
  const ms = (x: number): string => x.toFixed(3);
  let direct: { p50: number; p99: number } | undefined;
  if (options.unloaded > 0) {
    const body = join(dir, "welfare.bin");
    writeFileSync(body, grpcFrame(welfareRequest("0012345679")));
    const agency = { url: `http://${agencies.grpcAddress}${WELFARE_METHOD}`, body, headers: [`authorization: Bearer ${WELFARE_TOKEN}`] };
    direct = await unloadedLatency(dir, "agency", agency, options.unloaded);
    console.log(`welfare agency direct (gRPC), one call at a time (${options.unloaded}): p50 ${ms(direct.p50)} p99 ${ms(direct.p99)} ms`);
  }
  for (const mode of FLOOR_MODES) {
    const { perCall, unloaded } = await measure(mode, agencies, options, dir);
    console.log(`${LABELS[mode].padEnd(52)}: CPU µs per call ${perCall.join(", ")}`);
    if (unloaded !== undefined && direct !== undefined)
      console.log(
        `${"".padEnd(52)}  one at a time: p50 ${ms(unloaded.p50)} p99 ${ms(unloaded.p99)} ms, adds ${ms(unloaded.p50 - direct.p50)} ms p50 to the agency's; CPU µs per call ${unloaded.cpuUs?.toFixed(0) ?? "–"}`,
      );
  }
} finally {
  await stopChild(agencies);
  rmSync(dir, { recursive: true, force: true });
}
