// The `estelam` command run as a child process, as a user runs it, against a real gateway with the demo
// agencies on loopback: one inquiry (answer and error), usage errors, offline validation of registry documents, bulk inquiries from
// a CSV file and the health check.
import { mkdir, mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nationalCodeFromSeed } from "../../core/identifiers.ts";
import { estelam, spawnEstelam } from "../helpers/cli.ts";
import { DEMO_REGISTRY, demoDocuments, findDocument, KEYS, startTestGateway, type TestGateway } from "../helpers/gateway.ts";
import { freePort } from "../helpers/gateway-process.ts";

let t: TestGateway;
let dir: string;
let connection: Record<string, string>;
beforeAll(async () => {
  t = await startTestGateway({ audit: "journal" });
  dir = await mkdtemp(join(tmpdir(), "estelam-cli-"));
  connection = { ESTELAM_GRPC_ADDRESS: t.gateway.grpcAddress, ESTELAM_API_KEY: KEYS.demoBank };
});
afterAll(async () => {
  await t?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const identityMatch = ["inquire", "nocr.identity-match.v1", "--purpose", "kyc.account-opening", "--end-user", "branch-1021/teller-7"];

describe("estelam inquire", () => {
  it("prints the answer as JSON with --json", async () => {
    const run = await estelam(
      [...identityMatch, "--param", "national_code=0012345679", "-p", "birth_date=1348/01/31", "--json"],
      connection,
    );
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    const response = JSON.parse(run.stdout) as Record<string, unknown>;
    expect(response).toMatchObject({ responder: "nocr", answer: "ANSWER_FOUND", result: { match: true, alive: true } });
    expect(response.trackingCode).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
  });

  it("prints the answer readably, with --address and --api-key instead of the environment", async () => {
    const run = await estelam([
      ...identityMatch,
      "-p",
      "national_code=0012345679",
      "-p",
      "birth_date=1348/01/31",
      "--address",
      t.gateway.grpcAddress,
      "--api-key",
      KEYS.demoBank,
    ]);
    expect(run.code).toBe(0);
    expect(run.stdout).toMatch(/^answer\s+FOUND$/m);
    expect(run.stdout).toMatch(/^responder\s+nocr$/m);
    expect(run.stdout).toMatch(/^tracking code\s+[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/m);
    expect(run.stdout).toMatch(/^ {2}first_name\s+حسین$/m);
    expect(run.stdout).toMatch(/^timings\s+total /m);
  });

  it("prints a failure as code, reason, origin and message with each field violation, and exits 1", async () => {
    const run = await estelam([...identityMatch, "-p", "national_code=0012345678", "-p", "birth_date=1348/01/31"], connection);
    expect(run.code).toBe(1);
    expect(run.stdout).toBe("");
    expect(run.stderr).toMatch(/^INVALID_ARGUMENT INVALID_PARAMS \(origin: client\): /);
    expect(run.stderr).toMatch(/^ {2}- params\.national_code: /m);
  });

  it("names the reason of a refusal", async () => {
    const run = await estelam(
      [
        "inquire",
        "nocr.identity-match.v1",
        "-p",
        "national_code=0012345679",
        "-p",
        "birth_date=1348/01/31",
        "--purpose",
        "marketing.campaign",
        "--end-user",
        "x",
      ],
      connection,
    );
    expect(run.code).toBe(1);
    expect(run.stderr).toMatch(/^PERMISSION_DENIED PURPOSE_NOT_ALLOWED \(origin: client\)/);
  });

  it("is a usage error (exit 2) without --purpose, and without an API key", async () => {
    const noPurpose = await estelam(["inquire", "nocr.identity-match.v1", "-p", "national_code=0012345679", "--end-user", "x"], connection);
    expect(noPurpose.code).toBe(2);
    expect(noPurpose.stderr).toContain("missing --purpose");
    expect(noPurpose.stderr).toContain("usage: estelam inquire");

    const noKey = await estelam([...identityMatch, "-p", "national_code=0012345679"], { ESTELAM_GRPC_ADDRESS: t.gateway.grpcAddress });
    expect(noKey.code).toBe(2);
    expect(noKey.stderr).toContain("no API key");
    expect(noKey.stderr).toContain("Demo credentials");
  });

  it("prints its usage with --help", async () => {
    const run = await estelam(["inquire", "--help"]);
    expect(run.code).toBe(0);
    expect(run.stdout).toContain("--param key=value");
    expect(run.stdout).toContain("ESTELAM_API_KEY");
  });
});

describe("estelam registry validate", () => {
  it("accepts the demo documents offline and counts what they hold", async () => {
    const run = await estelam(["registry", "validate", "-f", DEMO_REGISTRY]);
    expect(run.stderr).toBe("");
    expect(run.code).toBe(0);
    expect(run.stdout.trim()).toBe("ok: 90 documents: 14 agencies, 19 inquiry types, 18 bindings, 11 endpoints");
  });

  it("lists every problem of a broken set with its file, document and path, and exits 1", async () => {
    const broken = join(dir, "broken");
    await mkdir(broken);
    const documents = await demoDocuments();
    findDocument(documents, "Binding", "nocr.identity-match.v1").spec.endpoints = [{ endpoint: "nocr/backup", operation: { path: "/x" } }];
    findDocument(documents, "Grant", "demo-bank/cbi.iban-owner.v1").spec.inquiryType = "cbi.nothing.v1";
    findDocument(documents, "InquiryType", "nocr.identity-match.v1").spec.timeoutMs = -1;
    await writeFile(join(broken, "all.json"), JSON.stringify(documents.map((d) => d.content)));
    await writeFile(join(broken, "typo.yaml"), "apiVersion: estelam.ir/v1\nkind: Agency\nmetadata: { name: x\n");

    const run = await estelam(["registry", "validate", "-f", broken]);
    expect(run.code).toBe(1);
    // The unreadable file is reported first; nothing is validated until every file reads.
    expect(run.stdout).toMatch(/^ {2}- .*typo\.yaml:\d+: is not valid YAML\/JSON/m);

    await writeFile(join(broken, "typo.yaml"), "");
    const again = await estelam(["registry", "validate", "-f", broken]);
    expect(again.code).toBe(1);
    expect(again.stdout).toContain("3 problems");
    expect(again.stdout).toMatch(
      /^ {2}- .*all\.json#\d+ Binding\/nocr\.identity-match\.v1 spec\.endpoints\[0\]\.endpoint: unknown endpoint 'nocr\/backup'/m,
    );
    expect(again.stdout).toMatch(
      /^ {2}- .*all\.json#\d+ Grant\/demo-bank\/cbi\.iban-owner\.v1 spec\.inquiryType: unknown inquiry type 'cbi\.nothing\.v1'$/m,
    );
    expect(again.stdout).toMatch(/^ {2}- .*all\.json#\d+ InquiryType\/nocr\.identity-match\.v1 spec\.timeoutMs: must be a whole number/m);
  });
});

describe("estelam inquire --batch", () => {
  it("writes one result row per input row, in order, and never the input identifiers", async () => {
    const invalid = new Set([4, 9, 13, 17]);
    const codes: string[] = [];
    const lines = ["national_code,birth_date"];
    for (let row = 1; row <= 20; row++) {
      const valid = nationalCodeFromSeed(1000 + row);
      // Another last digit breaks the check digit: exactly one digit is valid for the first nine.
      const code = invalid.has(row) ? `${valid.slice(0, 9)}${(Number(valid[9]) + 1) % 10}` : valid;
      codes.push(code);
      lines.push(`${code},1348/01/31`);
    }
    const input = join(dir, "people.csv");
    const output = join(dir, "results.csv");
    await writeFile(input, `${lines.join("\r\n")}\r\n`);

    const run = await estelam(
      [
        "inquire",
        "nocr.identity-match.v1",
        "--batch",
        input,
        "--purpose",
        "kyc.account-opening",
        "--end-user",
        "batch-7",
        "--concurrency",
        "4",
        "--out",
        output,
      ],
      connection,
    );
    const text = await readFile(output, "utf8");
    const [header, ...rows] = text
      .trimEnd()
      .split("\n")
      .map((l) => l.split(","));
    expect(header).toEqual(["row", "tracking_code", "answer", "error_code", "error_reason", "error_fields"]);
    expect(rows.map((r) => r[0])).toEqual(Array.from({ length: 20 }, (_, i) => String(i + 1)));
    const failed = rows.filter((r) => r[4] !== "");
    expect(failed.map((r) => Number(r[0]))).toEqual([...invalid]);
    for (const r of rows) {
      if (r[4] === "") {
        expect(r[1]).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
        expect(["FOUND", "NOT_FOUND", "REJECTED"]).toContain(r[2]);
      } else {
        expect(r.slice(1, 6)).toEqual(["", "", "INVALID_ARGUMENT", "INVALID_PARAMS", "params.national_code"]);
      }
    }
    for (const code of codes) {
      expect(text).not.toContain(code);
      expect(run.stdout + run.stderr).not.toContain(code);
    }
    // Some rows failed: exit 1, with a summary on stderr.
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("20 rows in");
    expect(run.stderr).toContain("16 answered");
    expect(run.stderr).toContain("4 failed (INVALID_PARAMS 4)");
  });
});

describe("estelam health", () => {
  it("prints SERVING", async () => {
    const run = await estelam(["health", "--address", t.gateway.grpcAddress]);
    expect(run.code).toBe(0);
    expect(run.stdout).toBe("SERVING\n");
  });

  it("follows the status with --watch until Ctrl-C", async () => {
    const watch = spawnEstelam(["health", "--watch"], { ESTELAM_GRPC_ADDRESS: t.gateway.grpcAddress });
    await expect.poll(() => watch.stdout(), { timeout: 10_000 }).toMatch(/^\d{4}-\d\d-\d\dT[\d:.]+Z SERVING\n$/);
    watch.child.kill("SIGINT");
    expect(await watch.exited).toBe(0);
  });
});

describe("a gateway that cannot be reached", () => {
  it.each([
    ["inquire", [...identityMatch, "-p", "national_code=0012345679"]],
    ["health", ["health"]],
  ])("is one readable line from estelam %s, naming the address and the setting", async (_name, args) => {
    const port = await freePort();
    const run = await estelam(args, { ESTELAM_GRPC_ADDRESS: `127.0.0.1:${port}`, ESTELAM_API_KEY: KEYS.demoBank });
    expect(run.code).toBe(1);
    expect(run.stderr).toBe(
      `UNAVAILABLE: cannot reach the gateway at 127.0.0.1:${port} (connection refused); is it running there? (--address or ESTELAM_GRPC_ADDRESS)\n`,
    );
  });
});
