// The floor of the gateway's stack: what its kept libraries alone cost per call, with none of its features.
// A child process serves InquiryService/Inquire with grpc-js through the gateway's adapter (protobuf-es decode
// and encode) and either answers a fixed response or makes one undici request to the demo civil registry and
// parses its JSON answer; h2load loads it as `--reference` loads the gateway, and its CPU per call is read
// from /proc. No authentication, validation, breaker, audit trail, metrics or log line.
//
//   node test/bench/stack-floor.ts [--requests 10000] [--rounds 3] [--warmup 2000]
import { spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { parseArgs } from "node:util";
import { create, toBinary } from "@bufbuild/protobuf";
import { Server, ServerCredentials } from "@grpc/grpc-js";
import { Pool } from "undici";
import { adaptService } from "../../gateway/grpc/adapter.ts";
import { Answer, InquireRequestSchema, InquiryService } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { procCpuSeconds, startAgenciesChild, stopChild } from "./processes.ts";
import { grpcFrame, runH2load } from "./reference-proxy.ts";

/** The README's identity inquiry, framed: the floor's undici mode asks the demo civil registry for it. */
function identityInquiryFrame(): Buffer {
  const params = { national_code: "0012345679", birth_date: "1348/01/31" };
  const request = create(InquireRequestSchema, {
    inquiryType: "nocr.identity-match.v1",
    params,
    purpose: "kyc.account-opening",
    endUser: "branch-1021/teller-7",
  });
  return grpcFrame(toBinary(InquireRequestSchema, request));
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

async function measure(mode: Mode, agenciesUrl: string, options: { requests: number; rounds: number; warmup: number }, dir: string) {
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
    writeFileSync(body, identityInquiryFrame());
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
    return perCall;
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
  },
});
if (values.serve !== undefined) serve(values.serve === "undici" ? "undici" : "fixed", values.agencies);
else {
  const options = { requests: Number(values.requests), rounds: Number(values.rounds), warmup: Number(values.warmup) };
  const dir = mkdtempSync(join(tmpdir(), "estelam-floor-"));
  const agencies = await startAgenciesChild();
  try {
    for (const mode of ["fixed", "undici"] as const) {
      const perCall = await measure(mode, agencies.url, options, dir);
      console.log(
        `${mode === "fixed" ? "grpc-js + adapter, fixed answer " : "grpc-js + adapter + one undici request"}: CPU µs per call ${perCall.join(", ")}`,
      );
    }
  } finally {
    await stopChild(agencies);
    rmSync(dir, { recursive: true, force: true });
  }
}
