// The connector SDK, from a connector author's side: the example third-party package passes the
// conformance kit with one command; a connector that ignores its deadline fails it, naming the checks; a
// registry document loads the package by path or by npm name, refusing modules that are missing or give
// no connector kind, and naming bad options; and the guide's steps end in an inquiry answered through the
// gateway by the package's connector.
import { execFile } from "node:child_process";
import { mkdir, mkdtemp, readFile, rm, symlink, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { builtInConnectorKinds } from "../../connectors/kinds.ts";
import { loadConnectorModule } from "../../connectors/modules.ts";
import { buildSnapshot } from "../../registry/build.ts";
import { formatProblem } from "../../registry/catalogue.ts";
import type { RegistryDocument } from "../../registry/documents.ts";
import { estelam } from "../helpers/cli.ts";
import { demoDocuments, KEYS, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);
const EXAMPLE = "./examples/estelam-connector-line";
const GUIDE_DOCUMENTS = join(ROOT, "registry/catalogues/examples/inspection-line-connector.yaml");

let dir: string;
beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "estelam-sdk-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("the conformance kit", () => {
  it("passes the example package with one command", async () => {
    const run = await estelam(["connector", "test", EXAMPLE]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("connector kind 'line'");
    expect(run.stdout).toMatch(/^all 9 checks passed$/m);
  });

  it("fails a connector that ignores its deadline and its caller's cancel, naming those checks", async () => {
    const careless = join(dir, "careless.js");
    await writeFile(
      careless,
      `import line, { conformance } from ${JSON.stringify(join(ROOT, EXAMPLE, "index.js"))};
export { conformance };
export default function (sdk) {
  const kind = line(sdk);
  return { ...kind, create(options, target) {
    const c = kind.create(options, target);
    // Calls the agency without the inquiry's signal: waits however long the agency takes.
    return { ...c, call: (request, operation) => c.call({ ...request, signal: new AbortController().signal }, operation) };
  } };
}
`,
    );
    const run = await estelam(["connector", "test", careless]);
    expect(run.code).toBe(1);
    expect(run.stdout).toMatch(/^FAIL {2}deadline: /m);
    expect(run.stdout).toMatch(/^FAIL {2}abort: /m);
    expect(run.stdout).toMatch(/^ok {4}errors: /m);
    expect(run.stdout).toMatch(/^2 of 9 checks failed$/m);
  });

  it("estelam connector kinds lists the kinds and prints a kind's option schemas", async () => {
    expect(await estelam(["connector", "kinds"])).toMatchObject({ code: 0, stdout: "http-json\nsoap\ngrpc\n" });
    const soap = await estelam(["connector", "kinds", "soap"]);
    expect(soap.code).toBe(0);
    expect(soap.stdout).toMatch(/^kind: soap\nendpointOptions:\n/);
    expect(soap.stdout).toContain("usernameToken:");
    expect((await estelam(["connector", "kinds", EXAMPLE])).stdout).toMatch(/^kind: line\n/);
    expect(await estelam(["connector", "kinds", "telex"])).toEqual({
      code: 1,
      stdout: "",
      stderr:
        "unknown connector kind 'telex' (known: http-json, soap, grpc; or name a connector module): cannot load connector module 'telex': not found\n",
    });
  });

  it("estelam connector kinds finds an npm package by its name, with or without a hyphen in it", async () => {
    const project = join(dir, "kinds-project");
    await mkdir(join(project, "node_modules"), { recursive: true });
    await symlink(join(ROOT, EXAMPLE), join(project, "node_modules", "inspectionline"));
    const run = await estelam(["connector", "kinds", "inspectionline"], {}, project);
    expect(run).toMatchObject({ code: 0, stderr: "" });
    expect(run.stdout).toMatch(/^kind: line\nendpointOptions:\n/);
  });

  it("says why a module cannot be tested", async () => {
    const missing = await estelam(["connector", "test", "./no/such/connector"]);
    expect(missing).toMatchObject({ code: 1, stderr: "cannot load connector module './no/such/connector': not found\n" });
    const notAKind = join(dir, "not-a-kind.js");
    await writeFile(notAKind, "export default 42;\n");
    const refused = await estelam(["connector", "test", notAKind]);
    expect(refused.code).toBe(1);
    expect(refused.stderr).toContain("does not export a connector kind");
  });
});

describe("loading a third-party kind named in the registry", () => {
  const endpoint = (spec: Record<string, unknown>): RegistryDocument => ({
    source: "test.yaml#1",
    content: { apiVersion: "estelam.ir/v1", kind: "Endpoint", metadata: { name: "nocr/line" }, spec } as RegistryDocument["content"],
  });
  const problems = async (spec: Record<string, unknown>): Promise<string[]> => {
    const built = buildSnapshot([...(await demoDocuments()), endpoint(spec)], { revision: 1, kinds: builtInConnectorKinds(), vars: {} });
    return built.ok ? [] : built.problems.map(formatProblem);
  };

  it("accepts the package by path and checks its options with the kind's own schema, naming the option", async () => {
    expect(await problems({ kind: "line", module: EXAMPLE, options: { host: "127.0.0.1", port: 8095 } })).toEqual([]);
    expect(await problems({ kind: "line", module: EXAMPLE, options: { host: "127.0.0.1", port: "eighty", colour: 1 } })).toEqual([
      "test.yaml#1 Endpoint/nocr/line spec.options.colour: unknown option",
      "test.yaml#1 Endpoint/nocr/line spec.options.port: must be integer",
    ]);
  });

  it("refuses a module that is missing, gives another kind, or is no connector kind", async () => {
    expect(await problems({ kind: "line", module: "./no/such/module", options: {} })).toEqual([
      "test.yaml#1 Endpoint/nocr/line spec.module: cannot load connector module './no/such/module': not found",
    ]);
    expect(await problems({ kind: "teletype", module: EXAMPLE, options: {} })).toEqual([
      `test.yaml#1 Endpoint/nocr/line spec.kind: module '${EXAMPLE}' gives connector kind 'line', not 'teletype'`,
    ]);
    expect(await problems({ kind: "line", options: {} })).toEqual([
      "test.yaml#1 Endpoint/nocr/line spec.kind: unknown connector kind 'line' (known: http-json, soap, grpc; or name a module in spec.module)",
    ]);
  });

  it("loads an npm package by its name from the working directory's node_modules", async () => {
    const project = join(dir, "project");
    await mkdir(join(project, "node_modules"), { recursive: true });
    await symlink(join(ROOT, EXAMPLE), join(project, "node_modules", "estelam-connector-line"));
    const loaded = loadConnectorModule("estelam-connector-line", project);
    expect(loaded.ok && loaded.factory.kind).toBe("line");
    expect(loadConnectorModule("estelam-connector-absent", project)).toEqual({
      ok: false,
      message: "cannot load connector module 'estelam-connector-absent': not found",
    });
  });
});

describe("the README's Write a connector guide, run as written", () => {
  let gateway: GatewayProcess | undefined;
  let agency: { port: number; close(): Promise<void> };

  beforeAll(async () => {
    const { startLineAgency } = (await import(join(ROOT, EXAMPLE, "agency.js"))) as {
      startLineAgency(port?: number): Promise<{ port: number; close(): Promise<void> }>;
    };
    agency = await startLineAgency(0);
    // The demo gateway as `npm start` runs it; the agency is on a free port instead of 8095.
    gateway = await startGatewayProcess({ INSPECTION_AGENCY_PORT: String(agency.port) });
  });
  afterAll(async () => {
    gateway?.child.kill("SIGTERM");
    await agency?.close();
  });

  it("passes the conformance kit, registers the connector and answers through the gateway", async () => {
    const readme = await readFile(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Write a connector"), readme.indexOf("## Architecture"));
    const commands: string[] = [];
    for (const block of section.matchAll(/```sh\n([\s\S]*?)```/g)) {
      let current = "";
      for (const line of (block[1] ?? "").split("\n").map((l) => l.trim())) {
        if (line === "") continue;
        current += line.replace(/\\$/, " ");
        if (!line.endsWith("\\")) {
          commands.push(current.trim());
          current = "";
        }
      }
    }
    expect(commands.map((c) => /scripts\/estelam (\S+ \S+)/.exec(c)?.[1])).toEqual([
      "connector test",
      "registry apply",
      "inquire inspection.certificate-status.v1",
    ]);
    const env = { ...process.env, ESTELAM_GRPC_ADDRESS: gateway?.grpcAddress ?? "" };
    const outputs: string[] = [];
    for (const command of commands) {
      const local = command.replace("scripts/estelam", `${process.execPath} ${join(ROOT, "cli/main.ts")}`);
      const { stdout } = await run("bash", ["-c", local], { cwd: ROOT, env, timeout: 60_000 });
      outputs.push(stdout);
    }
    expect(outputs[0]).toMatch(/^all 9 checks passed$/m);
    expect(outputs[1]).toMatch(/^revision 2 applied \(was 1\): 5 created, 0 updated, 0 deleted$/m);
    expect(outputs[2]).toContain("FOUND");
    expect(outputs[2]).toContain("inspection");
  }, 120_000);
});

describe("the guide's documents: found, not found and rejected", () => {
  let t: TestGateway;
  let agency: { port: number; stats(): { pings: number; asks: number }; close(): Promise<void> };

  beforeAll(async () => {
    const { startLineAgency } = (await import(join(ROOT, EXAMPLE, "agency.js"))) as {
      startLineAgency(port?: number): Promise<typeof agency>;
    };
    agency = await startLineAgency(0);
    t = await startTestGateway({ audit: "journal" });
  });
  afterAll(async () => {
    await t?.close();
    await agency?.close();
  });

  it("applies the guide's documents and answers found, not found and rejected", async () => {
    // The guide's documents, pointed at this test's agency instead of port 8095.
    const documents = (await readFile(GUIDE_DOCUMENTS, "utf8")).replace(/\$\{INSPECTION_AGENCY_PORT:-8095\}/, String(agency.port));
    const file = join(dir, "inspection.yaml");
    await writeFile(file, documents);
    const admin = { ESTELAM_GRPC_ADDRESS: t.gateway.grpcAddress, ESTELAM_API_KEY: KEYS.admin };
    const applied = await estelam(["registry", "apply", "-f", file, "-m", "connect the inspection register"], admin);
    expect(applied.stderr).toBe("");
    expect(applied.code).toBe(0);
    // The new endpoint was warmed — its agency checked — before the revision took its first inquiry.
    expect(agency.stats()).toEqual({ pings: 1, asks: 0 });

    const counter = { ESTELAM_GRPC_ADDRESS: t.gateway.grpcAddress, ESTELAM_API_KEY: KEYS.counterOffice };
    const ask = (vin: string) =>
      estelam(
        [
          "inquire",
          "inspection.certificate-status.v1",
          "--param",
          `vin=${vin}`,
          "--purpose",
          "counter.service-request",
          "--end-user",
          "desk-3",
        ],
        counter,
      );
    const found = await ask("NAAM01CA9JK123456");
    expect(found.stderr).toBe("");
    expect(found.stdout).toContain("FOUND");
    expect(found.stdout).toContain("inspection");
    expect((await ask("NAAM01CA9JK000000")).stdout).toContain("NOT_FOUND");
    expect((await ask("ZZZM01CA9JK123456")).stdout).toContain("REJECTED");
  });
});
