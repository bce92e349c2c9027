// The floor of the gateway's stack: what its kept libraries alone cost per call, with none of its features.
// A child process serves InquiryService/Inquire with grpc-js through the gateway's adapter (protobuf-es decode
// and encode) and either answers a fixed response or makes one undici request to the demo civil registry and
// parses its JSON answer; h2load loads it as `--reference` loads the gateway, and its CPU per call is read
// from /proc. No authentication, validation, breaker, audit trail, metrics or log line.
//
// With `--unloaded N` it also measures one call at a time (the unloaded case of the audit issue's "under 1 ms
// added" goal): for each floor server, N calls in sequence through it (a grpc-js client), then N straight to
// the agency (undici), from this process; it prints both p50 and p99 and their difference, which for the undici
// floor is the latency the stack alone adds.
//
//   node test/bench/stack-floor.ts [--requests 10000] [--rounds 3] [--warmup 2000] [--unloaded 2000]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { Client, credentials, Server, ServerCredentials } from "@grpc/grpc-js";
import { Pool } from "undici";
import { adaptService } from "../../gateway/grpc/adapter.ts";
import { Answer, InquireRequestSchema, InquiryService } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { percentile } from "./load.ts";
import { procCpuSeconds, startAgenciesChild, stopChild } from "./processes.ts";
import { grpcFrame, runH2load } from "./reference-proxy.ts";

const IDENTITY_PARAMS = { national_code: "0012345679", birth_date: "1348/01/31" };

/** The README's identity inquiry, encoded: the floor's undici mode asks the demo civil registry for it. */
function identityInquiry(): Uint8Array {
  const request = create(InquireRequestSchema, {
    inquiryType: "nocr.identity-match.v1",
    params: IDENTITY_PARAMS,
    purpose: "kyc.account-opening",
    endUser: "branch-1021/teller-7",
  });
  return toBinary(InquireRequestSchema, request);
}

type Mode = "fixed" | "undici";

function serve(mode: Mode, agenciesUrl: string | undefined): void {
  const pool = agenciesUrl === undefined ? undefined : new Pool(agenciesUrl, { connections: 32 });
  const service = adaptService(InquiryService, {
    async inquire(request) {
      const answer = { inquiryId: "floor", trackingCode: "floor", responder: "nocr", answer: Answer.FOUND };
      if (mode === "fixed" || pool === undefined) return { ...answer, result: { match: true } };
      const response = await pool.request({
        path: "/nocr/identity-match",
        method: "POST",
        headers: { "content-type": "application/json" },
        body: JSON.stringify(request.params),
      });
      if (response.statusCode !== 200) throw new Error(`the agency answered HTTP ${response.statusCode}`);
      return { ...answer, result: (await response.body.json()) as Record<string, never> };
    },
    listAllowedInquiries: async () => ({}),
    describeInquiryType: async () => ({}),
  });
  const server = new Server();
  server.addService(service.definition, service.implement());
  server.bindAsync("127.0.0.1:0", ServerCredentials.createInsecure(), (error, port) => {
    if (error !== null) throw error;
    process.stdout.write(`PORT=${port}\n`);
  });
}

interface FloorOptions {
  readonly requests: number;
  readonly rounds: number;
  readonly warmup: number;
  readonly unloaded: number;
}

/** Latency percentiles (ms) of `count` calls made one after another, after `count / 10` not timed. */
async function inSequence(count: number, call: () => Promise<void>): Promise<{ p50: number; p99: number }> {
  for (let i = 0; i < Math.ceil(count / 10); i++) await call();
  const latencies = new Float64Array(count);
  for (let i = 0; i < count; i++) {
    const started = performance.now();
    await call();
    latencies[i] = performance.now() - started;
  }
  latencies.sort();
  return { p50: percentile(latencies, 0.5), p99: percentile(latencies, 0.99) };
}

/** One call at a time: through the floor (grpc-js in, undici out), then straight to the agency. */
async function unloadedLatency(port: string, agenciesUrl: string, count: number) {
  const client = new Client(`127.0.0.1:${port}`, credentials.createInsecure());
  const message = Buffer.from(identityInquiry());
  const identity = (b: Buffer): Buffer => b;
  const throughFloor = (): Promise<void> =>
    new Promise((resolve, reject) =>
      client.makeUnaryRequest("/estelam.inquiry.v1.InquiryService/Inquire", identity, identity, message, (error) =>
        error === null ? resolve() : reject(error),
      ),
    );
  const pool = new Pool(agenciesUrl, { connections: 1 });
  const direct = async (): Promise<void> => {
    const response = await pool.request({
      path: "/nocr/identity-match",
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify(IDENTITY_PARAMS),
    });
    await response.body.json();
    if (response.statusCode !== 200) throw new Error(`the agency answered HTTP ${response.statusCode}`);
  };
  try {
    return { floor: await inSequence(count, throughFloor), direct: await inSequence(count, direct) };
  } finally {
    client.close();
    await pool.close();
  }
}

async function measure(mode: Mode, agenciesUrl: string, options: FloorOptions, dir: string) {
  const child = spawn(process.execPath, [import.meta.filename, "--serve", mode, "--agencies", agenciesUrl], {
    stdio: ["ignore", "pipe", "inherit"],
  });
  try {
    const port = await new Promise<string>((done, fail) => {
      let out = "";
      child.stdout.setEncoding("utf8").on("data", (text: string) => {
        out += text;
        const found = /PORT=(\d+)/.exec(out);
        if (found !== null) done(found[1] as string);
      });
      child.once("exit", (code) => fail(new Error(`the floor server exited (${code})`)));
    });
    const body = join(dir, "inquire.bin");
    writeFileSync(body, grpcFrame(identityInquiry()));
    const load = (requests: number) =>
      runH2load({
        url: `http://127.0.0.1:${port}/estelam.inquiry.v1.InquiryService/Inquire`,
        bodyFile: body,
        headers: [],
        requests,
        connections: 4,
        streams: 16,
        timeFile: join(dir, "time.txt"),
        timeoutSeconds: 300,
      });
    await load(options.warmup);
    const perCall: number[] = [];
    for (let round = 0; round < options.rounds; round++) {
      const before = procCpuSeconds(child.pid as number) ?? 0;
      const run = await load(options.requests);
      const after = procCpuSeconds(child.pid as number) ?? 0;
      if (run.failed > 0) throw new Error(`${run.failed} calls failed`);
      perCall.push(Math.round(((after - before) / run.succeeded) * 1e6));
    }
    const unloaded = options.unloaded > 0 ? await unloadedLatency(port, agenciesUrl, options.unloaded) : undefined;
    return { perCall, unloaded };
  } finally {
    child.kill();
  }
}

const { values } = parseArgs({
  options: {
    serve: { type: "string" },
    agencies: { type: "string" },
    requests: { type: "string", default: "10000" },
    rounds: { type: "string", default: "3" },
    warmup: { type: "string", default: "2000" },
    unloaded: { type: "string", default: "0" },
  },
});
if (values.serve !== undefined) serve(values.serve === "undici" ? "undici" : "fixed", values.agencies);
else {
  const options: FloorOptions = {
    requests: Number(values.requests),
    rounds: Number(values.rounds),
    warmup: Number(values.warmup),
    unloaded: Number(values.unloaded),
  };
  const dir = mkdtempSync(join(tmpdir(), "estelam-floor-"));
  const agencies = await startAgenciesChild();
  try {
    for (const mode of ["fixed", "undici"] as const) {
      const { perCall, unloaded } = await measure(mode, agencies.url, options, dir);
      console.log(
        `${mode === "fixed" ? "grpc-js + adapter, fixed answer " : "grpc-js + adapter + one undici request"}: CPU µs per call ${perCall.join(", ")}`,
      );
      if (unloaded !== undefined) {
        const ms = (x: number) => x.toFixed(3);
        console.log(
          `  one call at a time (${options.unloaded}): p50 ${ms(unloaded.floor.p50)} p99 ${ms(unloaded.floor.p99)} ms; agency direct p50 ${ms(unloaded.direct.p50)} p99 ${ms(unloaded.direct.p99)} ms; difference ${ms(unloaded.floor.p50 - unloaded.direct.p50)} ms p50`,
        );
      }
    }
  } finally {
    await stopChild(agencies);
    rmSync(dir, { recursive: true, force: true });
  }
}
