// The grpc connector against the demo agencies' gRPC server: the service described by its reflection or by
// the agency's .proto file, statuses mapped to business answers and catalogue errors, and an agency that is
// not there yet described as soon as it is.
import { execFile } from "node:child_process";
import { mkdtemp } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Connector, ConnectorRequest } from "../../connectors/connector.ts";
import { startUpstreamDeadline } from "../../connectors/deadline.ts";
import { grpcConnector } from "../../connectors/grpc/index.ts";
import { EstelamError } from "../../core/errors.ts";
import { GRPC_PROTO_FILES } from "../../simulators/demo-agencies/grpc/face.ts";
import { type DemoAgencies, startDemoAgencies } from "../../simulators/demo-agencies/server.ts";
import { freePort } from "../helpers/gateway-process.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
let agencies: DemoAgencies;
const open: Connector[] = [];
beforeAll(async () => {
  agencies = await startDemoAgencies({ port: 0 });
});
afterAll(async () => {
  await Promise.all(open.map((c) => c.close()));
  await agencies?.close();
});

const DECILE = { method: "ir.mcls.refah.v1.SubsidyService/GetHouseholdDecile" };
const TOKEN = { authorization: "Bearer welfare-demo-token-3a7e58" };

function connector(endpoint: Record<string, unknown>, operation: Record<string, unknown> = DECILE) {
  const e = grpcConnector.validateEndpoint(endpoint, "spec.options");
  const o = grpcConnector.validateOperation(operation, "operation");
  if (!e.ok) throw new Error(JSON.stringify(e.issues));
  if (!o.ok) throw new Error(JSON.stringify(o.issues));
  const c = grpcConnector.create(e.options, { agency: "welfare", endpoint: "main" });
  open.push(c);
  return { c, ask: (params: Record<string, unknown>, timeoutMs = 3_000) => c.call(request(params, timeoutMs), o.options) };
}

function request(params: Record<string, unknown>, timeoutMs: number): ConnectorRequest {
  return {
    inquiryId: "01a20511-0000-7000-8000-000000000000",
    inquiryType: "welfare.subsidy-decile.v1",
    requester: "demo-bank",
    purpose: "test",
    params: params as ConnectorRequest["params"],
    signal: AbortSignal.timeout(timeoutMs),
    deadline: Date.now() + timeoutMs,
  };
}

async function failure(call: Promise<unknown>): Promise<EstelamError> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EstelamError);
  return error as EstelamError;
}

describe("the grpc connector", () => {
  it("is described by the server's reflection when warmed, and maps statuses to answers", async () => {
    const { c, ask } = connector({ address: agencies.grpcAddress, metadata: TOKEN });
    await c.warm?.(AbortSignal.timeout(2_000));
    expect(await ask({ national_code: "0012345679" })).toMatchObject({ answer: "found", result: { decile: 4, household_size: 5 } });
    expect(await ask({ national_code: "9990000001" })).toMatchObject({ answer: "not_found" });
    expect(await ask({ national_code: "9970000004" })).toMatchObject({ answer: "rejected" });
  });

  it("is described by the agency's .proto files named in the registry", async () => {
    const { ask } = connector({ address: agencies.grpcAddress, metadata: TOKEN, protoFiles: [...GRPC_PROTO_FILES] });
    expect(await ask({ national_code: "0012345679" })).toMatchObject({ answer: "found", result: { decile: 4 } });
  });

  it("is described by a descriptor set named in the registry (buf build -o)", async () => {
    const set = join(await mkdtemp(join(tmpdir(), "estelam-grpc-")), "agencies.binpb");
    await run(join(ROOT, "node_modules/.bin/buf"), ["build", join(ROOT, "simulators/demo-agencies/grpc"), "-o", set], { timeout: 60_000 });
    const { ask } = connector({ address: agencies.grpcAddress, metadata: TOKEN, reflection: false, descriptorSetFile: set });
    expect(await ask({ national_code: "0012345679" })).toMatchObject({ answer: "found", result: { decile: 4 } });
    const bad = grpcConnector.validateEndpoint(
      { address: agencies.grpcAddress, descriptorSetFile: join(ROOT, "package.json") },
      "spec.options",
    );
    expect(!bad.ok && bad.issues[0]?.path).toBe("spec.options.descriptorSetFile");
  });

  it("builds the request message from a template and maps result fields", async () => {
    const { ask } = connector(
      { address: agencies.grpcAddress, metadata: TOKEN },
      { ...DECILE, request: { national_code: "{code}" }, fields: { dahak: "decile" } },
    );
    expect(await ask({ code: "0012345679" })).toEqual({ answer: "found", result: { dahak: 4 } });
  });

  it("a method the agency does not offer, or refused credentials → AGENCY_BAD_RESPONSE", async () => {
    const missing = connector({ address: agencies.grpcAddress, metadata: TOKEN }, { method: "ir.mcls.refah.v1.SubsidyService/GetNothing" });
    expect((await failure(missing.ask({ national_code: "0012345679" }))).message).toMatch(/does not offer the gRPC method/);
    const wrong = connector({ address: agencies.grpcAddress, metadata: { authorization: "Bearer wrong" } });
    const e = await failure(wrong.ask({ national_code: "0012345679" }));
    expect(e.reason).toBe("AGENCY_BAD_RESPONSE");
    expect(e.message).toMatch(/UNAUTHENTICATED/);
  });

  it("an injected UNAVAILABLE → AGENCY_UNAVAILABLE", async () => {
    agencies.faults.set({ agency: "welfare", mode: "error" });
    const e = await failure(connector({ address: agencies.grpcAddress, metadata: TOKEN }).ask({ national_code: "0012345679" }));
    agencies.faults.reset();
    expect(e.reason).toBe("AGENCY_UNAVAILABLE");
  });

  it("an agency's own early DEADLINE_EXCEEDED is answered at once, not held until the request's deadline", async () => {
    agencies.faults.set({ agency: "welfare", mode: "error", grpcStatus: "DEADLINE_EXCEEDED" });
    try {
      const { c, ask } = connector({ address: agencies.grpcAddress, metadata: TOKEN });
      await c.warm?.(AbortSignal.timeout(2_000));
      const started = performance.now();
      const e = await failure(ask({ national_code: "0012345679" }, 2_500));
      expect(performance.now() - started).toBeLessThan(1_000);
      expect(e.reason).toBe("AGENCY_UNAVAILABLE");
      expect(e.message).toMatch(/DEADLINE_EXCEEDED/);
    } finally {
      agencies.faults.reset();
    }
  });

  it("one caller giving up does not fail the others waiting for the same reflection", async () => {
    const e = grpcConnector.validateEndpoint({ address: agencies.grpcAddress, metadata: TOKEN }, "spec.options");
    const o = grpcConnector.validateOperation(DECILE, "operation");
    if (!e.ok || !o.ok) throw new Error("invalid test options");
    const c = grpcConnector.create(e.options, { agency: "welfare", endpoint: "main" });
    open.push(c);
    // Not warmed: the first call asks for reflection, and the second waits for the same answer.
    const impatient = new AbortController();
    const deadline = startUpstreamDeadline(3_000, undefined, impatient.signal);
    const first = c.call({ ...request({ national_code: "0012345679" }, 3_000), signal: deadline.signal }, o.options);
    const second = c.call(request({ national_code: "0012345679" }, 3_000), o.options);
    impatient.abort(new EstelamError("CANCELLED", "the caller cancelled"));
    const [gaveUp, patient] = await Promise.allSettled([first, second]);
    deadline.dispose();
    expect(gaveUp.status === "rejected" && (gaveUp.reason as EstelamError).reason).toBe("CANCELLED");
    expect(patient.status === "fulfilled" ? patient.value : patient.reason).toMatchObject({ answer: "found" });
  });

  it("an agency that is not listening → AGENCY_UNAVAILABLE, said plainly", async () => {
    const port = await freePort();
    const e = await failure(connector({ address: `127.0.0.1:${port}`, metadata: TOKEN }).ask({ national_code: "0012345679" }, 1_000));
    expect(e.reason).toBe("AGENCY_UNAVAILABLE");
    expect(e.message).toMatch(/could not be described through gRPC reflection/);
    expect(e.agency).toBe("welfare");
  });
});
