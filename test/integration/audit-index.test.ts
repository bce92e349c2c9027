// Reading the trail: the gateway indexes its journal into its database as it goes; an admin finds an
// inquiry by its tracking code (`estelam audit show`) and makes a citizen's data-access report for one
// national code (`estelam audit report`, AuditService/SubjectReport): who asked, when, why, under which legal
// basis, and who answered. `estelam audit index` fills an index on a PostgreSQL server from journal files or
// from the Kafka topic.
import { writeFile } from "node:fs/promises";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estelam } from "../helpers/cli.ts";
import { createInquiryClient } from "../helpers/client.ts";
import { KEYS, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { countMessages, kafkaBrokers } from "../helpers/kafka.ts";
import { dropSchema, TEST_DATABASE_URL, uniqueSchema } from "../helpers/postgres.ts";

const CITIZEN = "0012345679";
const identity = {
  inquiryType: "nocr.identity-match.v1",
  params: { national_code: CITIZEN, birth_date: "1348/01/31" },
  purpose: "kyc.account-opening",
  endUser: "branch-1021/teller-7",
};

let t: TestGateway;
let admin: Record<string, string>;
const tracking: string[] = [];
beforeAll(async () => {
  t = await startTestGateway({ audit: "journal" });
  admin = { ESTELAM_GRPC_ADDRESS: t.gateway.grpcAddress, ESTELAM_API_KEY: KEYS.admin };
  const bank = await t.client.inquire(identity);
  const counter = createInquiryClient(t.gateway.grpcAddress, KEYS.counterOffice);
  const office = await counter.inquire({ ...identity, purpose: "counter.service-request", endUser: "desk-4" });
  // Refused (no grant for this purpose) after the params were read: it is about the citizen too.
  const refused = await counter.inquire({ ...identity, purpose: "loan.application", endUser: "desk-4" });
  counter.close();
  // About someone else.
  await t.client.inquire({ ...identity, params: { national_code: "0499370899", birth_date: "1360/05/05" } });
  if (!bank.ok || !office.ok || refused.ok) throw new Error("the set-up inquiries did not go as planned");
  tracking.push(bank.response.trackingCode, office.response.trackingCode, refused.status.trackingCode ?? "");
  // Indexing follows the journal within moments.
  for (
    let waited = 0;
    !/^estelam_audit_index_lag_events 0$/m.test(await (await fetch(`${t.gateway.httpUrl}/metrics`)).text());
    waited += 50
  ) {
    if (waited > 10_000) throw new Error("the audit index did not catch up with the journal");
    await new Promise((r) => setTimeout(r, 50));
  }
});
afterAll(async () => {
  await t?.close();
});

describe("the audit index", () => {
  it("answers a citizen's data-access report: every inquiry about them, newest first, with who asked, why and who answered", async () => {
    const report = await estelam(["audit", "report", CITIZEN, "--json"], admin);
    expect(report.stderr).toBe("");
    expect(report.code).toBe(0);
    const { accesses } = JSON.parse(report.stdout) as { accesses: Array<Record<string, string>> };
    expect(accesses.map((a) => a.trackingCode)).toEqual([...tracking].reverse());
    expect(accesses[2]).toMatchObject({
      requester: "demo-bank",
      requesterCredential: "demo-bank/dev",
      endUser: "branch-1021/teller-7",
      purpose: "kyc.account-opening",
      legalBasis: "Demo — the asking agency's duty to identify its customers",
      inquiryType: "nocr.identity-match.v1",
      responder: "nocr",
      outcome: "OUTCOME_ANSWERED",
      param: "national_code",
    });
    expect(accesses[1]).toMatchObject({ requester: "counter-office", purpose: "counter.service-request", responder: "nocr" });
    expect(accesses[0]).toMatchObject({ requester: "counter-office", outcome: "OUTCOME_FAILED", faultReason: "PURPOSE_NOT_ALLOWED" });
    expect(accesses[0]?.responder).toBeUndefined();

    // The same person however the code is written; the text form for a person to read.
    const persian = await estelam(["audit", "report", "۰۰۱۲۳۴۵۶۷۹"], admin);
    expect(persian.code).toBe(0);
    expect(persian.stdout).toContain("3 inquiries about this national-code, newest first");
    expect(persian.stdout).toContain("demo-bank asked nocr.identity-match.v1");
    expect(persian.stdout).toContain("legal basis Demo — the asking agency's duty to identify its customers");
    // The national code is never written to the gateway's logs, not even by the report.
    expect(t.logs.lines.some((l) => l.includes(CITIZEN))).toBe(false);
  });

  it("finds an inquiry by its tracking code, however it is typed", async () => {
    const show = await estelam(["audit", "show", (tracking[1] ?? "").toLowerCase().replaceAll("-", "")], admin);
    expect(show.stderr).toBe("");
    expect(show.code).toBe(0);
    expect(show.stdout).toContain(`(tracking code ${tracking[1]})`);
    expect(show.stdout).toContain("asked by     counter-office");
    expect(show.stdout).toContain("answered by  nocr");
    const missing = await estelam(["audit", "show", "AAAA-BBBB-CCCC"], admin);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain("INQUIRY_NOT_FOUND");
  });

  it("is read by admins only, and refuses a malformed identifier by name", async () => {
    const agency = await estelam(["audit", "report", CITIZEN], { ...admin, ESTELAM_API_KEY: KEYS.demoBank });
    expect(agency.code).toBe(1);
    expect(agency.stderr).toContain("ADMIN_REQUIRED");
    const bad = await estelam(["audit", "report", "0012345678"], admin);
    expect(bad.code).toBe(1);
    expect(bad.stderr).toContain("INVALID_PARAMS");
  });

  it("is filled on a PostgreSQL server from journal files by `estelam audit index`, each record once", async () => {
    const schema = uniqueSchema("auditidx");
    try {
      const args = ["audit", "index", "--journal", t.journalDir, "--database-url", TEST_DATABASE_URL, "--schema", schema];
      const first = await estelam(args);
      expect(first.stderr).toBe("");
      expect(first.code).toBe(0);
      expect(first.stdout).toMatch(/: 5 records read, 5 newly indexed, 0 already there; 5 in the index \(postgres /);
      const again = await estelam(args);
      expect(again.stdout).toMatch(/: 5 records read, 0 newly indexed, 5 already there; 5 in the index/);
    } finally {
      await dropSchema(schema);
    }
  });
});

describe("`estelam audit index --brokers`", () => {
  it("indexes the Kafka topic into a PostgreSQL server batch by batch, and a second run goes on from where the first stopped", async () => {
    const k = await startTestGateway();
    const schema = uniqueSchema("auditidx");
    try {
      const inquire = async (count: number): Promise<void> => {
        for (let i = 0; i < count; i++) if (!(await k.client.inquire(identity)).ok) throw new Error("an inquiry failed");
      };
      await inquire(30);
      // The registry's seeding is recorded too: every record the journal holds reaches the topic.
      const shipped = async (): Promise<number> => {
        await expect
          .poll(async () => /^estelam_audit_backlog_events\{[^}]*\} 0$/m.test(await (await fetch(`${k.gateway.httpUrl}/metrics`)).text()), {
            timeout: 60_000,
          })
          .toBe(true);
        return countMessages(k.topic);
      };
      const first = await shipped();
      const args = [
        "audit",
        "index",
        "--brokers",
        kafkaBrokers().join(","),
        "--topic",
        k.topic,
        "--database-url",
        TEST_DATABASE_URL,
        "--schema",
        schema,
      ];
      const one = await estelam(args);
      expect(one.stderr).toBe("");
      expect(one.code).toBe(0);
      expect(one.stdout).toContain(
        `topic ${k.topic}: ${first} records read, ${first} newly indexed, 0 already there; ${first} in the index (postgres `,
      );
      const again = await estelam(args);
      expect(again.stdout).toContain(`: 0 records read, 0 newly indexed, 0 already there; ${first} in the index`);
      await inquire(5);
      const second = await shipped();
      const more = await estelam(args);
      expect(more.stdout).toContain(
        `: ${second - first} records read, ${second - first} newly indexed, 0 already there; ${second} in the index`,
      );
    } finally {
      await k.close();
      await dropSchema(schema);
    }
  }, 240_000);
});

describe("after a rotation of the audit key", () => {
  it("reports records made under an earlier key when it is listed, and verify checks the chain across the keys", async () => {
    const [old, current] = ["rotation-test-old-key-0123456789", "rotation-test-new-key-9876543210"];
    const before = await startTestGateway({ audit: "journal", env: { ESTELAM_AUDIT_KEY: old } });
    const dataDir = before.dataDir;
    const journal = before.journalDir;
    let oldCode = "";
    try {
      const asked = await before.client.inquire(identity);
      if (!asked.ok) throw new Error("the inquiry was not answered");
      oldCode = asked.response.trackingCode;
      // Indexed under the old key before the gateway stops.
      await expect
        .poll(
          async () =>
            (await estelam(["audit", "show", oldCode], { ESTELAM_GRPC_ADDRESS: before.gateway.grpcAddress, ESTELAM_API_KEY: KEYS.admin }))
              .code,
          { timeout: 10_000 },
        )
        .toBe(0);
    } finally {
      await before.close();
    }
    const report = async (env: Record<string, string>): Promise<string[]> => {
      const after = await startTestGateway({ audit: "journal", dataDir, env: { ESTELAM_AUDIT_KEY: current, ...env } });
      try {
        expect((await after.client.inquire(identity)).ok).toBe(true);
        const result = await estelam(["audit", "report", CITIZEN, "--json"], {
          ESTELAM_GRPC_ADDRESS: after.gateway.grpcAddress,
          ESTELAM_API_KEY: KEYS.admin,
        });
        expect(result.code).toBe(0);
        return ((JSON.parse(result.stdout) as { accesses?: Array<{ trackingCode: string }> }).accesses ?? []).map((a) => a.trackingCode);
      } finally {
        await after.close();
      }
    };
    // Not listed: the records made under the old key are not found; listed, they are.
    expect(await report({})).not.toContain(oldCode);
    expect(await report({ ESTELAM_AUDIT_PREVIOUS_KEYS: old })).toContain(oldCode);

    const keyFile = join(dataDir, "old-keys");
    await writeFile(keyFile, `${old}\n`);
    const verified = await estelam(["audit", "verify", "--journal", journal, "--old-keys", keyFile], { ESTELAM_AUDIT_KEY: current });
    expect(verified.stdout).toContain("chain intact");
    expect(verified.code).toBe(0);
    const withoutKey = await estelam(["audit", "verify", "--journal", journal], { ESTELAM_AUDIT_KEY: current });
    expect(withoutKey.code).toBe(3);
  }, 240_000);
});
