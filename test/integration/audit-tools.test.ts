// The audit trail can be read with tools the project did not write (Kafka's own console consumer, from the
// development broker's jars) and with `estelam audit tail`, from the Kafka topic or the local audit journal.
import { execFile } from "node:child_process";
import { resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { estelam, spawnEstelam } from "../helpers/cli.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { kafkaBrokers } from "../helpers/kafka.ts";

const run = promisify(execFile);
const KAFKA_SH = resolve(import.meta.dirname, "../../scripts/kafka.sh");

const identity = {
  inquiryType: "nocr.identity-match.v1",
  params: { national_code: "0012345679", birth_date: "1348/01/31" },
  purpose: "kyc.account-opening",
  endUser: "branch-1021/teller-7",
};

async function ask(t: TestGateway, n: number): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const result = await t.client.inquire({ ...identity, clientMessageId: `tools-${i}` });
    if (!result.ok) throw new Error(`inquiry failed: ${result.status.message}`);
    ids.push(result.response.inquiryId);
  }
  return ids;
}

function events(stdout: string): Array<Record<string, unknown>> {
  return stdout
    .split("\n")
    .filter((l) => l !== "")
    .map((l) => JSON.parse(l) as Record<string, unknown>);
}

describe("the audit topic", () => {
  let t: TestGateway;
  let ids: string[];
  beforeAll(async () => {
    t = await startTestGateway();
    ids = await ask(t, 3);
    await t.shipped();
  });
  afterAll(async () => {
    await t?.close();
  });

  it("is read by Kafka's own kafka-console-consumer, keyed by inquiry id", async () => {
    const { stdout } = await run(
      "bash",
      [
        KAFKA_SH,
        "tool",
        "kafka-console-consumer",
        "--bootstrap-server",
        kafkaBrokers().join(","),
        "--topic",
        t.topic,
        "--from-beginning",
        "--max-messages",
        "4",
        "--timeout-ms",
        "30000",
        "--property",
        "print.key=true",
        "--property",
        "key.separator=|",
      ],
      { timeout: 90_000, encoding: "latin1", maxBuffer: 1 << 20 },
    );
    const keys = stdout
      .split("\n")
      .filter((l) => l.includes("|"))
      .map((l) => l.slice(0, l.indexOf("|")));
    // Three inquiries, after the record of the registry's first revision (whose value may hold line breaks).
    expect(keys).toEqual(expect.arrayContaining(ids));
  }, 120_000);

  it("is printed by `estelam audit tail` as JSON, latest last", async () => {
    const tail = await estelam(["audit", "tail", "-n", "2"], { KAFKA_BROKERS: kafkaBrokers().join(","), ESTELAM_AUDIT_TOPIC: t.topic });
    expect(tail.stderr).toBe("");
    expect(tail.code).toBe(0);
    const printed = events(tail.stdout);
    expect(printed.map((e) => e.inquiryId)).toEqual(ids.slice(-2));
    expect(printed[1]).toMatchObject({
      inquiryType: "nocr.identity-match.v1",
      requester: "demo-bank",
      outcome: "OUTCOME_ANSWERED",
      clientMessageId: "tools-2",
    });
    // Stored as it is kept: no national code in clear.
    expect(tail.stdout).not.toContain("0012345679");
  });

  it("says in one line when the topic cannot be read", async () => {
    const tail = await estelam(["audit", "tail", "--brokers", kafkaBrokers().join(","), "--topic", "estelam.no-such-topic"]);
    expect(tail.code).toBe(1);
    expect(tail.stderr.trim().split("\n")).toHaveLength(1);
    expect(tail.stderr).toContain("estelam.no-such-topic");
  });
});

describe("the local audit journal", () => {
  let t: TestGateway;
  let journal: string;
  beforeAll(async () => {
    t = await startTestGateway({ audit: "journal" });
    journal = t.journalDir;
  });
  afterAll(async () => {
    await t?.close();
  });

  it("is printed by `estelam audit tail`, and followed as new inquiries are answered", async () => {
    const first = await ask(t, 2);
    const tail = await estelam(["audit", "tail", "--journal", journal, "-n", "5"]);
    expect(tail.code).toBe(0);
    // The journal starts with the record of the registry's first revision.
    expect(
      events(tail.stdout)
        .filter((e) => e.registryChange === undefined)
        .map((e) => e.inquiryId),
    ).toEqual(first);

    // -n 1 first prints the latest event: once it is out, the follower has read the file and any later
    // event must come from following it.
    const follow = spawnEstelam(["audit", "tail", "--follow", "-n", "1"], { ESTELAM_AUDIT_JOURNAL_DIR: journal });
    try {
      await expect.poll(() => events(follow.stdout()).map((e) => e.inquiryId), { timeout: 15_000 }).toEqual([first[1]]);
      const [later] = await ask(t, 1);
      await expect.poll(() => events(follow.stdout()).map((e) => e.inquiryId), { timeout: 15_000 }).toEqual([first[1], later]);
    } finally {
      follow.child.kill("SIGINT");
    }
    expect(await follow.exited).toBe(0);
  });

  it("says in one line when the journal cannot be read", async () => {
    const tail = await estelam(["audit", "tail", "--journal", "/nonexistent/audit"]);
    expect(tail.code).toBe(1);
    expect(tail.stderr).toBe("estelam audit tail: the audit journal /nonexistent/audit cannot be read: ENOENT\n");
  });
});
