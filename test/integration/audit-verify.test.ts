// `estelam audit verify` on a real gateway's trail: the chain is intact in the journal and on the Kafka
// topic it was shipped to; a record altered in a journal file, or a forged record added to the topic, is
// named by where it is stored, with exit status 3.
import { readFile, writeFile } from "node:fs/promises";
import { join } from "node:path";
import { crc32 } from "node:zlib";
import { fromBinary, toBinary } from "@bufbuild/protobuf";
import { beforeAll, describe, expect, it } from "vitest";
import { AuditEventSchema } from "../../gen/estelam/audit/v1/audit_pb.js";
import { listSegments, parseRecords } from "../../observability/audit/journal-format.ts";
import { estelam } from "../helpers/cli.ts";
import { startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { kafkaBrokers, readMessages, testKafkaClient } from "../helpers/kafka.ts";

const KEY = "integration-test-audit-key-0123456789";
const identity = {
  inquiryType: "nocr.identity-match.v1",
  params: { national_code: "0012345679", birth_date: "1348/01/31" },
  purpose: "kyc.account-opening",
  endUser: "branch-1021/teller-7",
};

describe("estelam audit verify", () => {
  let t: TestGateway;
  beforeAll(async () => {
    t = await startTestGateway();
    try {
      for (let i = 0; i < 5; i++) expect((await t.client.inquire(identity)).ok).toBe(true);
      await t.shipped();
    } finally {
      // Verified at rest, as an auditor would.
      await t.close();
    }
  }, 60_000);

  it("finds the chain intact in the journal and on the topic", async () => {
    const journal = await estelam(["audit", "verify", "--journal", t.journalDir], { ESTELAM_AUDIT_KEY: KEY });
    expect(journal.stderr).toBe("");
    expect(journal.stdout).toContain("6 records; instances: test-gateway 1–6\nchain intact");
    expect(journal.code).toBe(0);
    const topic = await estelam(["audit", "verify", "--brokers", kafkaBrokers().join(","), "--topic", t.topic], { ESTELAM_AUDIT_KEY: KEY });
    expect(topic.stdout).toContain("6 records; instances: test-gateway 1–6\nchain intact");
    expect(topic.code).toBe(0);
  });

  it("needs the key: a record sealed under a key it was not given is a break, not a pass", async () => {
    const wrong = await estelam(["audit", "verify", "--journal", t.journalDir], { ESTELAM_AUDIT_KEY: "another-key-0123456789abcdef" });
    expect(wrong.code).toBe(3);
    expect(wrong.stdout).toMatch(/BROKEN at \d{20}\.seg@0 .*sealed under key [0-9a-f]{8}, which was not given/);
  });

  it("names a record altered in a journal file", async () => {
    const [segment] = await listSegments(t.journalDir);
    const path = join(t.journalDir, segment?.name ?? "");
    const original = await readFile(path);
    const fourth = parseRecords(original).records[3] as { offset: number; payload: Buffer };
    const event = fromBinary(AuditEventSchema, fourth.payload);
    event.requester = "tax-office"; // someone else asked, says the forger
    const payload = Buffer.from(toBinary(AuditEventSchema, event));
    const header = Buffer.alloc(8);
    header.writeUInt32BE(payload.length, 0);
    header.writeUInt32BE(crc32(payload), 4);
    await writeFile(
      path,
      Buffer.concat([original.subarray(0, fourth.offset), header, payload, original.subarray(fourth.offset + 8 + fourth.payload.length)]),
    );
    try {
      const verify = await estelam(["audit", "verify", "--journal", t.journalDir], { ESTELAM_AUDIT_KEY: KEY });
      expect(verify.code).toBe(3);
      expect(verify.stdout).toContain(
        `BROKEN at ${segment?.name}@${fourth.offset} (instance test-gateway, sequence 4): its content does not match its chain digest (the record was altered)`,
      );
    } finally {
      await writeFile(path, original);
    }
  });

  it("names a forged record added to the topic", async () => {
    const [, second] = await readMessages(t.topic, 6);
    const forged = fromBinary(AuditEventSchema, second?.value ?? new Uint8Array());
    forged.purpose = "loan.application";
    const producer = testKafkaClient().producer();
    await producer.connect();
    const [written] = await producer.send({
      topic: t.topic,
      messages: [{ key: forged.inquiryId, value: Buffer.from(toBinary(AuditEventSchema, forged)) }],
    });
    await producer.disconnect();
    const verify = await estelam(["audit", "verify", "--brokers", kafkaBrokers().join(","), "--topic", t.topic], {
      ESTELAM_AUDIT_KEY: KEY,
    });
    expect(verify.code).toBe(3);
    expect(verify.stdout).toContain(
      `BROKEN at ${t.topic}/${written?.partition}@${written?.baseOffset} (instance test-gateway, sequence 2): its content does not match its chain digest`,
    );
  });
});
