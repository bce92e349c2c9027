// The registry changed at run time, through the `estelam registry` command and RegistryService, against a
// real gateway (embedded PGlite) and the demo agencies: a new agency and inquiry type answerable at once
// and discoverable by its callers, diff, history, get, rollback; a bad set refused whole with every problem;
// non-admins refused and recorded; in-flight inquiries finishing on their revision while a replaced
// endpoint closes after its last call; a revoked grant refused at once while load runs, with no other failure;
// and a restart that keeps what was applied.
import { mkdir, mkdtemp, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { toJson } from "@bufbuild/protobuf";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createInquiryClient } from "../../cli/client.ts";
import { createRegistryClient, type RegistryClient } from "../../cli/registry-client.ts";
import { Code } from "../../core/errors.ts";
import { AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";
import { Answer } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { ChangeResult, RevisionAction } from "../../gen/estelam/registry/v1/registry_pb.js";
import { type DemoAgencies, startDemoAgencies } from "../../simulators/demo-agencies/server.ts";
import { readJournal } from "../helpers/audit-events.ts";
import { estelam } from "../helpers/cli.ts";
import { demoDocuments, KEYS, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";

const NEZAM = resolve(import.meta.dirname, "../../registry/catalogues/examples/nezam-military-service.yaml");

const military = {
  inquiryType: "nezam.military-service-status.v1",
  params: { nationalCode: "۰۰۱۲۳۴۵۶۷۹" },
  purpose: "hr.employment-check",
  endUser: "hr/recruiter-3",
};
const identity = (purpose = "kyc.account-opening") => ({
  inquiryType: "nocr.identity-match.v1",
  params: { national_code: "0012345679", birth_date: "1348/01/31" },
  purpose,
  endUser: "branch-1021/teller-7",
});

let t: TestGateway;
let dir: string;
let admin: Record<string, string>;
let registry: RegistryClient;

beforeAll(async () => {
  t = await startTestGateway({ audit: "journal" });
  dir = await mkdtemp(join(tmpdir(), "estelam-registry-"));
  admin = { ESTELAM_GRPC_ADDRESS: t.gateway.grpcAddress, ESTELAM_API_KEY: KEYS.admin };
  registry = createRegistryClient(t.gateway.grpcAddress, KEYS.admin);
});
afterAll(async () => {
  registry?.close();
  await t?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

/** The registry-change records in the gateway's audit journal, as JSON. */
async function registryEvents(): Promise<Array<Record<string, unknown> & { registryChange: Record<string, unknown> }>> {
  return (await readJournal(t.journalDir))
    .map((event) => toJson(AuditEventSchema, event) as Record<string, unknown>)
    .filter((e): e is Record<string, unknown> & { registryChange: Record<string, unknown> } => e.registryChange !== undefined);
}

describe("the registry at run time", () => {
  it("takes a new agency and inquiry type from the command line: answerable at once, discoverable, in the history, and rolled back", async () => {
    const before = await t.client.inquire(military);
    expect(!before.ok && before.status.reason).toBe("UNKNOWN_INQUIRY_TYPE");

    const diff = await estelam(["registry", "diff", "-f", NEZAM], admin);
    expect(diff.stderr).toBe("");
    expect(diff.code).toBe(0);
    expect(diff.stdout).toContain("+++ b/InquiryType/nezam.military-service-status.v1");
    expect(diff.stdout).toContain("+    - endpoint: nezam/main");
    expect(diff.stdout).toContain("dry run against revision 1: would make revision 2 (5 created, 0 updated, 0 deleted)");

    const apply = await estelam(["registry", "apply", "-f", NEZAM, "-m", "register military-service status"], admin);
    expect(apply.stderr).toBe("");
    expect(apply.code).toBe(0);
    expect(apply.stdout).toMatch(/^revision 2 applied \(was 1\): 5 created, 0 updated, 0 deleted$/m);
    expect(apply.stdout).toMatch(/^ {2}created {2}InquiryType\/nezam\.military-service-status\.v1$/m);

    // No restart, no wait: the instance that applied serves the new revision before answering.
    const answered = await t.client.inquire(military);
    if (!answered.ok) throw new Error(answered.status.message);
    expect(answered.response).toMatchObject({ responder: "nezam", answer: Answer.FOUND, result: { result: { status: "COMPLETED" } } });
    expect(t.agencies.stats().nezam.received).toBe(1);

    const again = await estelam(["registry", "apply", "-f", NEZAM], admin);
    expect(again.stdout).toBe("unchanged: revision 2 already holds these documents\n");

    const allowed = await estelam(["inquiry-types"], { ESTELAM_GRPC_ADDRESS: t.gateway.grpcAddress, ESTELAM_API_KEY: KEYS.demoBank });
    expect(allowed.code).toBe(0);
    expect(allowed.stdout).toMatch(/^nezam\.military-service-status\.v1 {2}Military service status \(nezam, online\)$/m);
    expect(allowed.stdout).toMatch(/^nocr\.marital-status\.v1 .*\(nocr, not online\)$/m);
    const described = await registry.describeInquiryType({ inquiryType: "nezam.military-service-status.v1" });
    expect(described.ok).toBe(false); // the admin key asks nothing
    const bank = createRegistryClient(t.gateway.grpcAddress, KEYS.demoBank);
    try {
      const one = await bank.describeInquiryType({ inquiryType: "nezam.military-service-status.v1" });
      if (!one.ok) throw new Error(one.status.message);
      expect(one.response.inquiryType).toMatchObject({
        id: "nezam.military-service-status.v1",
        responder: "nezam",
        purposes: ["hr.employment-check"],
        online: true,
        paramsSchema: { required: ["nationalCode"] },
      });
      const tax = createRegistryClient(t.gateway.grpcAddress, KEYS.taxOffice);
      const refused = await tax.describeInquiryType({ inquiryType: "nezam.military-service-status.v1" });
      tax.close();
      expect(!refused.ok && refused.status).toMatchObject({ code: Code.PERMISSION_DENIED, reason: "ACCESS_DENIED" });
    } finally {
      bank.close();
    }

    const history = await estelam(["registry", "history"], admin);
    expect(history.stdout).toMatch(/^2 +\S+ +apply +nix\/registry-admin +\+5 ~0 -0 +register military-service status$/m);
    const seeded = (await demoDocuments()).length;
    expect(history.stdout).toMatch(new RegExp(`^1 +\\S+ +seed +\\(seed\\) +\\+${seeded} ~0 -0 +seeded from `, "m"));

    const get = await estelam(["registry", "get", "InquiryType", "nezam.military-service-status.v1"], admin);
    expect(get.stdout).toMatch(/^# revision 2, from .*nezam-military-service\.yaml#3$/m);
    expect(get.stdout).toContain("format: national-code");
    // The agency's token stays a reference: the registry never holds it.
    const endpoint = await estelam(["registry", "get", "Endpoint", "nezam/main"], admin);
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the document's own reference.
    expect(endpoint.stdout).toContain("Bearer ${NEZAM_API_TOKEN:-nezam-demo-token-27c9e4f1}");
    const list = await estelam(["registry", "list", "Grant"], admin);
    expect(list.stdout).toMatch(/^Grant +demo-bank\/nezam\.military-service-status\.v1 +.*nezam-military-service\.yaml#5$/m);

    const rollback = await estelam(["registry", "rollback", "1", "-m", "not yet"], admin);
    expect(rollback.code).toBe(0);
    expect(rollback.stdout).toMatch(/^revision 3 applied \(was 2\): 0 created, 0 updated, 5 deleted$/m);
    const gone = await t.client.inquire(military);
    expect(!gone.ok && gone.status.reason).toBe("UNKNOWN_INQUIRY_TYPE");
    const old = await estelam(["registry", "get", "InquiryType", "nezam.military-service-status.v1", "--revision", "2"], admin);
    expect(old.code).toBe(0);

    // Every change is on record: who, what, which revision, and the documents' digests.
    const events = await registryEvents();
    const made = events.filter((e) => e.outcome === "OUTCOME_ANSWERED");
    expect(made.map((e) => [e.registryChange.action, e.registryChange.revision ?? "0"])).toEqual([
      ["REGISTRY_ACTION_SEED", "1"],
      ["REGISTRY_ACTION_APPLY", "2"],
      ["REGISTRY_ACTION_APPLY", "0"], // the unchanged apply
      ["REGISTRY_ACTION_ROLLBACK", "3"],
    ]);
    expect(made[1]).toMatchObject({
      requester: "nix",
      requesterCredential: "nix/registry-admin",
      registryChange: { message: "register military-service status" },
    });
    expect(made[1]!.registryChange.changes as unknown[]).toHaveLength(5);
  });

  it("refuses a bad document set whole, listing every problem with its file, and changes nothing", async () => {
    const bad = join(dir, "bad");
    await mkdir(bad);
    const grants = Array.from({ length: 30 }, (_, i) =>
      [
        "apiVersion: estelam.ir/v1",
        "kind: Grant",
        `metadata: { name: demo-bank/missing-${i} }`,
        `spec: { inquiryType: nocr.missing-${i}.v1, purposes: [kyc.x] }`,
      ].join("\n"),
    );
    await writeFile(join(bad, "grants.yaml"), grants.join("\n---\n"));
    await writeFile(
      join(bad, "endpoint.yaml"),
      "apiVersion: estelam.ir/v1\nkind: Endpoint\nmetadata: { name: nocr/backup }\nspec: { kind: http-json, options: { baseUrl: 'ftp://x' } }\n",
    );
    const revision = t.gateway.registry.record().revision;

    const run = await estelam(["registry", "apply", "-f", bad], admin);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("refused: the documents have 31 problems; nothing was applied");
    for (let i = 0; i < 30; i++)
      expect(run.stderr).toContain(
        `grants.yaml#${i + 1} Grant/demo-bank/missing-${i} spec.inquiryType: unknown inquiry type 'nocr.missing-${i}.v1'`,
      );
    expect(run.stderr).toMatch(/endpoint\.yaml#1 Endpoint\/nocr\/backup spec\.options\.baseUrl: must be an http:\/\/ or https:\/\/ URL/);
    expect(t.gateway.registry.record().revision).toBe(revision);
    expect((await t.client.inquire(identity())).ok).toBe(true);

    // On the wire: INVALID_ARGUMENT / INVALID_DOCUMENTS with as many violations as fit, and the count.
    const raw = await registry.apply({
      documents: [
        { source: "one.yaml#1", content: { apiVersion: "estelam.ir/v1", kind: "Grant", metadata: { name: "demo-bank/x" }, spec: {} } },
      ],
    });
    expect(!raw.ok && raw.status).toMatchObject({ code: Code.INVALID_ARGUMENT, reason: "INVALID_DOCUMENTS", origin: "client" });
    if (raw.ok) return;
    expect(raw.status.violations).toEqual(
      expect.arrayContaining([{ field: "one.yaml#1 Grant/demo-bank/x spec.inquiryType", description: "is required (a non-empty string)" }]),
    );
  });

  it("lets only admin credentials read or change the registry, and records refused changes", async () => {
    const revision = t.gateway.registry.record().revision;
    const bank = { ESTELAM_GRPC_ADDRESS: t.gateway.grpcAddress, ESTELAM_API_KEY: KEYS.demoBank };
    const apply = await estelam(["registry", "apply", "-f", NEZAM], bank);
    expect(apply.code).toBe(1);
    expect(apply.stderr).toMatch(
      /^PERMISSION_DENIED ADMIN_REQUIRED \(origin: client\): credential 'demo-bank\/dev' is not an admin credential/,
    );
    for (const args of [["get", "Agency", "nocr"], ["list"], ["history"], ["rollback", "1"], ["delete", "Agency", "tax-office"]]) {
      const run = await estelam(["registry", ...args], bank);
      expect(run.stderr, args.join(" ")).toMatch(/^PERMISSION_DENIED ADMIN_REQUIRED/);
    }
    const anonymous = await estelam(["registry", "list", "--api-key", "x".repeat(20)], { ESTELAM_GRPC_ADDRESS: t.gateway.grpcAddress });
    expect(anonymous.stderr).toMatch(/^UNAUTHENTICATED CREDENTIAL_INVALID/);
    expect(t.gateway.registry.record().revision).toBe(revision);

    const refused = (await registryEvents()).filter((e) => e.faultReason === "ADMIN_REQUIRED");
    expect(refused.length).toBeGreaterThanOrEqual(3); // apply, rollback, delete; reads are not changes
    expect(refused[0]).toMatchObject({ requester: "demo-bank", requesterCredential: "demo-bank/dev", outcome: "OUTCOME_FAILED" });

    // The admin key manages the registry and asks no inquiries.
    const asked = await t.client.inquire(identity(), { apiKey: KEYS.admin });
    expect(!asked.ok && asked.status).toMatchObject({ code: Code.PERMISSION_DENIED, reason: "ACCESS_DENIED" });
  });

  it("refuses a change based on a revision that has moved on, and a rollback to no revision", async () => {
    const revision = t.gateway.registry.record().revision;
    const stale = await estelam(["registry", "rollback", "1", "--expected-revision", String(revision - 1)], admin);
    expect(stale.code).toBe(1);
    expect(stale.stderr).toMatch(/^ABORTED REVISION_CONFLICT \(origin: client\): the registry is at revision \d+, not \d+/);
    const missing = await estelam(["registry", "rollback", "999"], admin);
    expect(missing.stderr).toMatch(/^NOT_FOUND REVISION_NOT_FOUND/);
    const absent = await estelam(["registry", "delete", "Grant", "demo-bank/none"], admin);
    expect(absent.stderr).toMatch(/^NOT_FOUND DOCUMENT_NOT_FOUND/);
    const referenced = await estelam(["registry", "delete", "Agency", "tax-office"], admin);
    expect(referenced.code).toBe(1);
    expect(referenced.stderr).toMatch(/^INVALID_ARGUMENT INVALID_DOCUMENTS \(origin: client\): the documents have 2 problems$/m);
    expect(referenced.stderr).toMatch(/^ {2}- registry Credential\/tax-office\/dev metadata\.name: unknown agency 'tax-office'/m);
    expect(referenced.stderr).toMatch(
      /^ {2}- registry Grant\/tax-office\/cbi\.iban-owner\.v1 metadata\.name: unknown agency 'tax-office'/m,
    );
    expect(t.gateway.registry.record().revision).toBe(revision);
  });
});

describe("watching the registry", () => {
  it("streams the revision served, then each new one as this instance starts serving it", async () => {
    const seen: Array<{ revision: number; action: number; changes: string[] }> = [];
    const stop = new AbortController();
    const watching = registry.watch((message) => {
      const r = message.revision;
      if (r !== undefined)
        seen.push({ revision: Number(r.revision), action: r.action, changes: r.changes.map((c) => `${c.kind}/${c.name}`) });
    }, stop.signal);
    await expect.poll(() => seen.length).toBe(1);
    const now = seen[0]?.revision ?? 0;
    expect(now).toBe(t.gateway.registry.record().revision);

    const grant = {
      source: "watch.yaml#1",
      content: {
        apiVersion: "estelam.ir/v1",
        kind: "Grant",
        metadata: { name: "tax-office/post.address-by-postcode.v1" },
        spec: { inquiryType: "post.address-by-postcode.v1", purposes: ["tax.audit"] },
      },
    };
    const applied = await registry.apply({ documents: [grant], message: "watched" });
    if (!applied.ok) throw new Error(applied.status.message);
    await expect.poll(() => seen.length).toBe(2);
    expect(seen[1]).toEqual({ revision: now + 1, action: RevisionAction.APPLY, changes: ["Grant/tax-office/post.address-by-postcode.v1"] });

    const bare = await estelam(["registry", "watch", "--api-key", KEYS.demoBank], { ESTELAM_GRPC_ADDRESS: t.gateway.grpcAddress });
    expect(bare.stderr).toMatch(/^PERMISSION_DENIED ADMIN_REQUIRED/);
    stop.abort();
    expect((await watching).ok).toBe(true);
  });
});

describe("a new revision while inquiries run", () => {
  let other: DemoAgencies;
  beforeAll(async () => {
    other = await startDemoAgencies({ host: "127.0.0.1", port: 0 });
  });
  afterAll(async () => {
    t.agencies.faults.reset();
    await other?.close();
  });

  it("lets an inquiry in flight finish on its revision, routes new ones to the new endpoint, and closes the old one after its last call", async () => {
    const oldConnection = t.gateway.registry.current().endpoints.get("nocr/main")?.connection;
    t.agencies.faults.set({ agency: "nocr", latencyMs: 600 });
    t.agencies.resetStats();
    const inFlight = t.client.inquire(identity());
    await expect.poll(() => t.agencies.stats().nocr.received, { interval: 10 }).toBe(1);

    const moved = await registry.apply({
      documents: [
        {
          source: "move.yaml#1",
          content: {
            apiVersion: "estelam.ir/v1",
            kind: "Endpoint",
            metadata: { name: "nocr/main" },
            spec: { kind: "http-json", options: { baseUrl: other.url } },
          },
        },
      ],
      message: "NOCR moves to its new data centre",
    });
    if (!moved.ok) throw new Error(moved.status.message);
    expect(moved.response.change?.result).toBe(ChangeResult.APPLIED);
    const newConnection = t.gateway.registry.current().endpoints.get("nocr/main")?.connection;
    expect(newConnection).not.toBe(oldConnection);
    // Both pools are open while the first inquiry is still out.
    expect(t.gateway.upstreams.connections()).toEqual(expect.arrayContaining([oldConnection, newConnection]));

    const next = await t.client.inquire(identity());
    expect(next.ok).toBe(true);
    expect(other.stats().nocr.received).toBe(1);
    expect(t.agencies.stats().nocr.received).toBe(1);

    const first = await inFlight;
    expect(first.ok && first.response.answer).toBe(Answer.FOUND);
    await expect.poll(() => t.gateway.upstreams.connections().includes(oldConnection ?? ""), { timeout: 2000 }).toBe(false);
    expect(t.gateway.upstreams.connections()).toContain(newConnection);
  });

  it("refuses a revoked grant from the next inquiry on, while load runs and no other inquiry fails", async () => {
    t.agencies.faults.reset();
    other.faults.set({ agency: "nocr", latencyMs: 5 });
    interface Done {
      readonly who: "bank" | "office";
      readonly started: number;
      readonly ended: number;
      readonly reason: string | undefined;
    }
    const done: Done[] = [];
    let stop = false;
    const worker = async (who: Done["who"]): Promise<void> => {
      while (!stop) {
        const started = performance.now();
        const result =
          who === "bank"
            ? await t.client.inquire(identity())
            : await t.client.inquire(identity("counter.service-request"), { apiKey: KEYS.counterOffice });
        done.push({ who, started, ended: performance.now(), reason: result.ok ? undefined : (result.status.reason ?? "NO_REASON") });
      }
    };
    const workers = [...Array.from({ length: 6 }, () => worker("bank")), ...Array.from({ length: 4 }, () => worker("office"))];
    await new Promise((r) => setTimeout(r, 700));

    const sent = performance.now();
    const revoked = await registry.delete({
      documents: [{ kind: "Grant", name: "counter-office/nocr.identity-match.v1" }],
      message: "the counter office's contract ended",
    });
    const answered = performance.now();
    if (!revoked.ok) throw new Error(revoked.status.message);
    await new Promise((r) => setTimeout(r, 1500));
    stop = true;
    await Promise.all(workers);

    const bank = done.filter((d) => d.who === "bank");
    const office = done.filter((d) => d.who === "office");
    expect(bank.length).toBeGreaterThan(50);
    expect(bank.filter((d) => d.reason !== undefined)).toEqual([]);
    // The office: answered until the revision, refused after it, and nothing else.
    expect(office.filter((d) => d.reason !== undefined && d.reason !== "ACCESS_DENIED")).toEqual([]);
    expect(office.filter((d) => d.ended < sent && d.reason !== undefined)).toEqual([]);
    const after = office.filter((d) => d.started > answered);
    expect(after.length).toBeGreaterThan(10);
    expect(after.filter((d) => d.reason !== "ACCESS_DENIED")).toEqual([]);
  });
});

describe("a restart", () => {
  it("keeps what was applied: the seed documents only fill an empty store", async () => {
    const data = await mkdtemp(join(tmpdir(), "estelam-restart-"));
    const first = await startGatewayProcess({ ESTELAM_DATA_DIR: data });
    let second: GatewayProcess | undefined;
    try {
      const applied = await estelam(["registry", "apply", "-f", NEZAM], {
        ESTELAM_GRPC_ADDRESS: first.grpcAddress,
        ESTELAM_API_KEY: KEYS.admin,
      });
      expect(applied.code).toBe(0);
      first.child.kill("SIGTERM");
      await new Promise((done) => first.child.once("exit", done));

      second = await startGatewayProcess({ ESTELAM_DATA_DIR: data });
      const bank = createInquiryClient(second.grpcAddress, { apiKey: KEYS.demoBank });
      const answer = await bank.inquire(military);
      bank.close();
      expect(answer.ok && answer.response.responder).toBe("nezam");
      const history = await estelam(["registry", "history"], { ESTELAM_GRPC_ADDRESS: second.grpcAddress, ESTELAM_API_KEY: KEYS.admin });
      expect(history.stdout.trim().split("\n")).toHaveLength(3); // header, revision 2, revision 1
    } finally {
      first.child.kill("SIGKILL");
      second?.child.kill("SIGKILL");
      await rm(data, { recursive: true, force: true });
    }
  }, 90_000);
});
