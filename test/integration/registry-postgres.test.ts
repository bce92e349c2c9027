// Several gateway instances on one PostgreSQL schema: a change applied through one is served by the others
// within a second (LISTEN/NOTIFY), under load, with no failed inquiry but the refusals the change asks for;
// and an instance cut off from PostgreSQL keeps serving its last good revision, says so, and catches up
// when the database answers again. The database is the real test server; the outage is a proxy cut.
import { resolve } from "node:path";
import { afterAll, describe, expect, it } from "vitest";
import { createInquiryClient } from "../../cli/client.ts";
import { createRegistryClient } from "../../cli/registry-client.ts";
import { Code } from "../../core/errors.ts";
import { Answer } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { readDocuments } from "../../registry/documents.ts";
import { KEYS, scrapeMetrics, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";
import { dropSchema, TEST_DATABASE_URL, uniqueSchema } from "../helpers/postgres.ts";
import { startDatabaseProxy, type TcpProxy } from "../helpers/tcp-proxy.ts";

const NEZAM = resolve(import.meta.dirname, "../../registry/catalogues/examples/nezam-military-service.yaml");
const military = {
  inquiryType: "nezam.military-service-status.v1",
  params: { nationalCode: "۰۰۱۲۳۴۵۶۷۹" },
  purpose: "hr.employment-check",
  endUser: "hr/recruiter-3",
};
const identity = (purpose: string) => ({
  inquiryType: "nocr.identity-match.v1",
  params: { national_code: "0012345679", birth_date: "1348/01/31" },
  purpose,
  endUser: "desk-3",
});

async function nezamDocuments() {
  const read = await readDocuments(NEZAM);
  expect(read.problems).toEqual([]);
  return read.documents.map((d) => ({ source: d.source, content: d.content }));
}

const schemas: string[] = [];
const processes: GatewayProcess[] = [];
afterAll(async () => {
  for (const p of processes) p.child.kill("SIGKILL");
  for (const schema of schemas) await dropSchema(schema);
});

describe("two gateway processes sharing PostgreSQL", () => {
  it("serve a change applied through either within a second, under load, failing nothing but what was revoked", async () => {
    const schema = uniqueSchema("two");
    schemas.push(schema);
    const shared = { ESTELAM_DATABASE_URL: TEST_DATABASE_URL, ESTELAM_DATABASE_SCHEMA: schema, ESTELAM_LOG_LEVEL: "warn" };
    // Both start on an empty schema at once: one seeds it, the other serves what it wrote.
    // Both are kept for the clean-up before either failure is thrown: one failing to start leaves no other behind.
    const started = await Promise.allSettled([
      startGatewayProcess({ ...shared, ESTELAM_INSTANCE: "a" }),
      startGatewayProcess({ ...shared, ESTELAM_INSTANCE: "b" }),
    ]);
    for (const s of started) if (s.status === "fulfilled") processes.push(s.value);
    const [a, b] = started.map((s) => {
      if (s.status === "rejected") throw s.reason;
      return s.value;
    }) as [GatewayProcess, GatewayProcess];
    const adminA = createRegistryClient(a.grpcAddress, KEYS.admin);
    const bank = createInquiryClient(b.grpcAddress, { apiKey: KEYS.demoBank });
    const office = createInquiryClient(b.grpcAddress, { apiKey: KEYS.counterOffice });
    try {
      const history = await adminA.history({});
      if (!history.ok) throw new Error(history.status.message);
      expect(history.response.revisions.map((r) => Number(r.revision))).toEqual([1]);

      // Load on B while A changes the registry.
      const failures: string[] = [];
      const officeResults: Array<{ started: number; reason: string | undefined }> = [];
      let stop = false;
      let bankAnswers = 0;
      const bankWorker = async (): Promise<void> => {
        while (!stop) {
          const r = await bank.inquire(identity("kyc.account-opening"));
          if (r.ok) bankAnswers++;
          else failures.push(r.status.reason ?? r.status.message);
        }
      };
      const officeWorker = async (): Promise<void> => {
        while (!stop) {
          const started = performance.now();
          const r = await office.inquire(identity("counter.service-request"));
          officeResults.push({ started, reason: r.ok ? undefined : (r.status.reason ?? r.status.message) });
        }
      };
      const workers = [bankWorker(), bankWorker(), bankWorker(), officeWorker(), officeWorker()];
      await new Promise((r) => setTimeout(r, 500));

      // A new agency and inquiry type, applied through A, answered by B.
      const before = await bank.inquire(military);
      expect(!before.ok && before.status.reason).toBe("UNKNOWN_INQUIRY_TYPE");
      const applied = await adminA.apply({ documents: await nezamDocuments(), message: "register military-service status" });
      if (!applied.ok) throw new Error(applied.status.message);
      const appliedAt = performance.now();
      let answeredAfter = Number.POSITIVE_INFINITY;
      for (;;) {
        const r = await bank.inquire(military);
        if (r.ok) {
          expect(r.response).toMatchObject({ responder: "nezam", answer: Answer.FOUND, result: { result: { status: "COMPLETED" } } });
          answeredAfter = performance.now() - appliedAt;
          break;
        }
        expect(r.status.reason).toBe("UNKNOWN_INQUIRY_TYPE");
        if (performance.now() - appliedAt > 5000) break;
        await new Promise((done) => setTimeout(done, 10));
      }
      expect(answeredAfter).toBeLessThan(1000);

      // A grant revoked through A is refused by B.
      const revoked = await adminA.delete({ documents: [{ kind: "Grant", name: "counter-office/nocr.identity-match.v1" }] });
      if (!revoked.ok) throw new Error(revoked.status.message);
      const revokedAt = performance.now();
      await expect
        .poll(() => officeResults.some((o) => o.started > revokedAt && o.reason === "ACCESS_DENIED"), { timeout: 1000, interval: 10 })
        .toBe(true);
      await new Promise((r) => setTimeout(r, 1200));
      stop = true;
      await Promise.all(workers);

      expect(failures).toEqual([]);
      expect(bankAnswers).toBeGreaterThan(30);
      expect(officeResults.filter((o) => o.reason !== undefined && o.reason !== "ACCESS_DENIED")).toEqual([]);
      // Refused from at most a second after the revision on: nothing asked later was answered.
      expect(officeResults.filter((o) => o.started > revokedAt + 1000 && o.reason === undefined)).toEqual([]);

      const served = await (await fetch(`${b.httpUrl}/metrics`)).text();
      expect(served).toMatch(/^estelam_registry_revision 3$/m);
    } finally {
      adminA.close();
      bank.close();
      office.close();
    }
  }, 90_000);
});

describe("PostgreSQL unreachable", () => {
  let proxy: TcpProxy | undefined;
  let cut: TestGateway | undefined;
  let direct: TestGateway | undefined;
  afterAll(async () => {
    await cut?.close();
    await direct?.close();
    await proxy?.close();
  });

  it("keeps the last good revision serving, says so in /readyz and the metrics, refuses changes, and catches up when it returns", async () => {
    const schema = uniqueSchema("cut");
    schemas.push(schema);
    const proxied = await startDatabaseProxy(TEST_DATABASE_URL);
    proxy = proxied.proxy;
    const fast = { ESTELAM_REGISTRY_REFRESH_MS: "200" };
    direct = await startTestGateway({ audit: "journal", database: "postgres", schema, env: fast });
    cut = await startTestGateway({ audit: "journal", database: "postgres", schema, databaseUrl: proxied.url, env: fast });
    const asked = () => cut?.client.inquire(identity("kyc.account-opening"));

    await proxy.cut();
    // The store is away: inquiries are answered as before, from the last good revision.
    for (let i = 0; i < 5; i++) expect((await asked())?.ok).toBe(true);
    await expect
      .poll(async () => (await scrapeMetrics(cut!.gateway)).find((s) => s.name === "estelam_registry_stale_seconds")?.value ?? 0, {
        timeout: 10_000,
        interval: 200,
      })
      .toBeGreaterThan(1);
    const ready = await fetch(`${cut.gateway.httpUrl}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { details: { registry: string } };
    expect(body.details.registry).toMatch(
      /^revision 1 from the postgres store .*; the store has not answered for \d+ s: serving the last good revision/,
    );
    const metrics = await scrapeMetrics(cut.gateway);
    expect(metrics.find((s) => s.name === "estelam_registry_revision")?.value).toBe(1);

    // Changes need the store.
    const admin = createRegistryClient(cut.gateway.grpcAddress, KEYS.admin);
    const refused = await admin.apply({ documents: await nezamDocuments() }, { deadlineMs: 30_000 });
    admin.close();
    expect(!refused.ok && refused.status).toMatchObject({ code: Code.UNAVAILABLE, reason: "REGISTRY_UNAVAILABLE", origin: "gateway" });

    // Meanwhile another instance changes the registry.
    const other = createRegistryClient(direct.gateway.grpcAddress, KEYS.admin);
    const applied = await other.apply({ documents: await nezamDocuments() });
    other.close();
    if (!applied.ok) throw new Error(applied.status.message);
    expect((await cut.client.inquire(military)).ok).toBe(false);

    await proxy.restore();
    await expect.poll(async () => (await cut?.client.inquire(military))?.ok, { timeout: 15_000, interval: 200 }).toBe(true);
    expect(cut.gateway.registry.status()).toMatchObject({ revision: 2, reachable: true, staleSeconds: 0 });
    const again = (await (await fetch(`${cut.gateway.httpUrl}/readyz`)).json()) as { details: { registry: string } };
    expect(again.details.registry).not.toContain("has not answered");
  }, 90_000);
});
