// A client the project did not write — Python's grpcio, with message types read from a descriptor set built
// from proto/ — sees every catalogued refusal with its reason, origin, inquiry id and tracking code, in the
// google.rpc.ErrorInfo details and in the plain trailers, so a caller in any language can quote it.
import { execFile, spawn } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { KEYS, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

const run = promisify(execFile);
const root = resolve(import.meta.dirname, "../..");
const BUF = join(root, "node_modules/.bin/buf");
const CLIENT = join(root, "test/clients/python/inquire.py");
// Debian's python3 with python3-grpcio and python3-protobuf (.ci/run installs them).
const PYTHON = "/usr/bin/python3";

interface PythonResult {
  readonly code: string;
  readonly inquiry_id?: string;
  readonly tracking_code?: string;
  readonly trailers?: Record<string, string>;
  readonly error_info?: { reason: string; domain: string; metadata: Record<string, string> } | null;
}

interface Case {
  readonly api_key: string | null;
  readonly timeout_s?: number;
  readonly request: Record<string, unknown>;
}

let t: TestGateway;
let descriptors: string;

async function python(cases: readonly Case[]): Promise<PythonResult[]> {
  const child = spawn(PYTHON, [CLIENT, t.gateway.grpcAddress, descriptors], { stdio: ["pipe", "pipe", "pipe"] });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (c: Buffer) => (stdout += c.toString()));
  child.stderr.on("data", (c: Buffer) => (stderr += c.toString()));
  child.stdin.end(JSON.stringify(cases));
  const code = await new Promise<number>((done) => child.once("exit", (c) => done(c ?? -1)));
  if (code !== 0) throw new Error(`the Python client failed (${code}): ${stderr}`);
  return stdout
    .trim()
    .split("\n")
    .map((l) => JSON.parse(l) as PythonResult);
}

beforeAll(async () => {
  try {
    await run(PYTHON, ["-c", "import grpc, google.protobuf"]);
  } catch {
    throw new Error(
      "this test needs Debian's python3-grpcio and python3-protobuf (.ci/run installs them): apt-get install python3-grpcio python3-protobuf",
    );
  }
  const dir = await mkdtemp(join(tmpdir(), "estelam-python-"));
  descriptors = join(dir, "estelam.binpb");
  await run(BUF, ["build", join(root, "proto"), "-o", descriptors]);
  t = await startTestGateway({ audit: "journal" });
});
afterAll(async () => {
  await t?.close();
});

const identity = { inquiryType: "nocr.identity-match.v1", purpose: "kyc.account-opening", endUser: "branch-1/teller-2" };
const validParams = { national_code: "0012345679", birth_date: "1348/01/31" };

describe("a Python grpcio client", () => {
  it("gets the inquiry id and tracking code with every refusal of an identified caller, in ErrorInfo and in plain trailers", async () => {
    await t.agencies.faults.set({ agency: "cbi", mode: "error" });
    await t.agencies.faults.set({ agency: "post", mode: "ok", latencyMs: 2_500 });
    const cases: Array<[string, Case]> = [
      ["CREDENTIAL_MISSING", { api_key: null, request: { ...identity, params: validParams } }],
      ["CREDENTIAL_INVALID", { api_key: "not-a-registered-key-000", request: { ...identity, params: validParams } }],
      ["INVALID_REQUEST", { api_key: KEYS.demoBank, request: { ...identity, purpose: "", params: validParams } }],
      ["INVALID_PARAMS", { api_key: KEYS.demoBank, request: { ...identity, params: { ...validParams, national_code: "0012345678" } } }],
      ["UNKNOWN_INQUIRY_TYPE", { api_key: KEYS.demoBank, request: { ...identity, inquiryType: "nocr.no-such.v1", params: validParams } }],
      ["ACCESS_DENIED", { api_key: KEYS.taxOffice, request: { ...identity, params: validParams } }],
      ["PURPOSE_NOT_ALLOWED", { api_key: KEYS.demoBank, request: { ...identity, purpose: "marketing.campaign", params: validParams } }],
      [
        "NO_ROUTE",
        {
          api_key: KEYS.demoBank,
          request: { ...identity, inquiryType: "nocr.marital-status.v1", params: { national_code: "0012345679" } },
        },
      ],
      [
        "AGENCY_UNAVAILABLE",
        {
          api_key: KEYS.demoBank,
          request: {
            inquiryType: "cbi.iban-owner.v1",
            params: { iban: "IR100170889862171595799372" },
            purpose: "payment.beneficiary-check",
            endUser: "u",
          },
        },
      ],
      [
        "DEADLINE_EXCEEDED",
        {
          api_key: KEYS.demoBank,
          timeout_s: 20,
          request: {
            inquiryType: "post.address-by-postcode.v1",
            params: { postal_code: "1193653471" },
            purpose: "kyc.address-verification",
            endUser: "u",
          },
        },
      ],
    ];
    const results = await python(cases.map(([, c]) => c));
    expect(results).toHaveLength(cases.length);
    results.forEach((result, i) => {
      const reason = cases[i]?.[0];
      expect(result.error_info?.reason, reason).toBe(reason);
      expect(result.error_info?.domain).toBe("estelam.ir");
      const meta = result.error_info?.metadata ?? {};
      // A call without a known credential is refused at the gRPC edge, before it is an inquiry: no ids.
      if (reason === "CREDENTIAL_MISSING" || reason === "CREDENTIAL_INVALID") {
        expect(meta.inquiry_id, reason).toBeUndefined();
        expect(result.trailers, reason).toMatchObject({ "estelam-reason": reason, "estelam-origin": "client" });
        return;
      }
      expect(meta.inquiry_id, reason).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
      expect(meta.tracking_code, reason).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
      expect(result.trailers, reason).toMatchObject({
        "estelam-reason": reason,
        "estelam-origin": meta.origin,
        "estelam-inquiry-id": meta.inquiry_id,
        "estelam-tracking-code": meta.tracking_code,
      });
    });
    // Each refusal is its own inquiry.
    expect(new Set(results.slice(2).map((r) => r.error_info?.metadata.inquiry_id)).size).toBe(cases.length - 2);
  }, 60_000);

  it("gets the ids of an answer in the response", async () => {
    const [answered] = await python([{ api_key: KEYS.demoBank, request: { ...identity, params: validParams } }]);
    expect(answered?.code).toBe("OK");
    expect(answered?.inquiry_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(answered?.tracking_code).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  });
});
