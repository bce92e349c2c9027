// The operators' commands run as a user runs them, against a real gateway and the demo agencies:
// `estelam status` and `estelam breakers` before and during an outage injected through the simulator's
// control API, and `estelam inquire --batch` interrupted with Ctrl-C, then finished with --resume, with a
// malformed row reported without stopping the batch.
import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { nationalCodeFromSeed } from "../../core/identifiers.ts";
import { CLI, estelam, spawnEstelam } from "../helpers/cli.ts";
import { findDocument, KEYS, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let t: TestGateway;
let dir: string;
let admin: Record<string, string>;
let bank: Record<string, string>;

beforeAll(async () => {
  t = await startTestGateway({
    env: { ESTELAM_SCOREBOARD_FLUSH_MS: "100" },
    editDocuments: (documents) => {
      findDocument(documents, "Endpoint", "post/main").spec.breaker = { volumeThreshold: 3, resetTimeoutMs: 60_000 };
    },
  });
  dir = await mkdtemp(join(tmpdir(), "estelam-ops-cli-"));
  admin = { ESTELAM_GRPC_ADDRESS: t.gateway.grpcAddress, ESTELAM_API_KEY: KEYS.admin };
  bank = { ESTELAM_GRPC_ADDRESS: t.gateway.grpcAddress, ESTELAM_API_KEY: KEYS.demoBank };
}, 60_000);
afterAll(async () => {
  await t?.close();
  if (dir !== undefined) await rm(dir, { recursive: true, force: true });
});

const line = (text: string, start: string): string => text.split("\n").find((l) => l.startsWith(start)) ?? "";

describe("estelam status and breakers", () => {
  it("print every inquiry type's status and the agencies ranked, then an injected outage", async () => {
    const before = await estelam(["status"], admin);
    expect(before.code).toBe(0);
    expect(before.stdout).toMatch(/^Scoreboard at .* registry revision 1, window 5 min, instances: test-gateway$/m);
    const snapshot = t.gateway.registry.current();
    const types = [...snapshot.inquiryTypes.values()];
    const unbound = types.filter((x) => !snapshot.bindings.has(x.id)).map((x) => x.id);
    const connected = types.length - unbound.length;
    expect(unbound.length).toBeGreaterThan(0);
    expect(before.stdout).toContain(
      `${connected} of ${types.length} inquiry types online (${connected} connected): 0 degraded, 0 offline, ${unbound.length} not connected`,
    );
    expect(line(before.stdout, "post.address-by-postcode.v1")).toMatch(/ online .* closed$/);
    for (const id of unbound) {
      expect(line(before.stdout, id)).toMatch(/ not connected .* -$/);
      expect(before.stdout).toContain(`\n  ${id} not connected: no connector binding\n`);
    }
    const nocr = types.filter((x) => x.agency === "nocr");
    const nocrOnline = nocr.filter((x) => snapshot.bindings.has(x.id)).length;
    expect(before.stdout).toMatch(
      new RegExp(
        `^\\s*\\d+\\s+nocr \\(National Organization for Civil Registration\\)\\s+${nocrOnline}/${nocr.length}\\s+${Math.round((100 * nocrOnline) / nocr.length)} %\\s+50-90 %`,
        "m",
      ),
    );
    expect((await estelam(["breakers"], admin)).code).toBe(0);

    const fault = await fetch(`${t.agencies.url}/_control/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ agency: "post", mode: "down" }),
    });
    expect(fault.status).toBe(200);
    for (let i = 0; i < 4; i++)
      await estelam(
        [
          "inquire",
          "post.address-by-postcode.v1",
          "-p",
          "postal_code=1193653471",
          "--purpose",
          "kyc.address-verification",
          "--end-user",
          "ops",
        ],
        bank,
      );
    const during = await estelam(["status"], admin);
    expect(line(during.stdout, "post.address-by-postcode.v1")).toMatch(/ offline .* open$/);
    expect(during.stdout).toMatch(/^ {2}post\.address-by-postcode\.v1 offline: breaker open$/m);
    // Worst news first.
    expect(during.stdout.indexOf("post.address-by-postcode.v1")).toBeLessThan(during.stdout.indexOf("cbi.iban-owner.v1"));
    const breakers = await estelam(["breakers"], admin);
    expect(breakers.code).toBe(1);
    expect(line(breakers.stdout, "post/main")).toMatch(/^post\/main\s+open\s+post\.address-by-postcode\.v1\s+test-gateway: open$/);
    const json = JSON.parse((await estelam(["status", "--json"], admin)).stdout) as { inquiryTypes: Array<{ id: string; status: string }> };
    expect(json.inquiryTypes.find((x) => x.id === "post.address-by-postcode.v1")?.status).toBe("INQUIRY_STATUS_OFFLINE");
    t.agencies.faults.reset();
  });

  it("prints the scoreboard again with --watch until Ctrl-C", async () => {
    const run = spawnEstelam(["status", "--watch", "1"], admin);
    for (let waited = 0; waited < 20_000 && (run.stdout().match(/^Scoreboard at /gm) ?? []).length < 2; waited += 100)
      await new Promise((r) => setTimeout(r, 100));
    run.child.kill("SIGINT");
    expect(await run.exited).toBe(0);
    expect((run.stdout().match(/^Scoreboard at /gm) ?? []).length).toBeGreaterThanOrEqual(2);
  });

  it("refuse an agency's key with ADMIN_REQUIRED", async () => {
    const run = await estelam(["status"], bank);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("ADMIN_REQUIRED");
  });
});

describe("estelam inquire --batch", () => {
  it("is interrupted by Ctrl-C, resumes where it stopped, and reports a malformed row without stopping", async () => {
    const lines = ["national_code,birth_date"];
    for (let row = 1; row <= 40; row++) lines.push(row === 7 ? "0012345679" : `${nationalCodeFromSeed(5000 + row)},1348/01/31`);
    const input = join(dir, "customers.csv");
    const output = join(dir, "checked.csv");
    await writeFile(input, `${lines.join("\n")}\n`);
    const args = [
      "inquire",
      "nocr.identity-match.v1",
      "--batch",
      input,
      "--purpose",
      "kyc.account-opening",
      "--end-user",
      "batch-9",
      "--concurrency",
      "2",
      "--out",
      output,
    ];
    t.agencies.faults.set({ agency: "nocr", latencyMs: 60 });
    const first = spawnEstelam(args, bank);
    for (let waited = 0; waited < 20_000; waited += 50) {
      const text = await readFile(output, "utf8").catch(() => "");
      if (text.split("\n").length > 10) break;
      await new Promise((r) => setTimeout(r, 50));
    }
    first.child.kill("SIGINT");
    expect(await first.exited).toBe(130);
    t.agencies.faults.reset();
    expect(first.stderr()).toContain("row 7: 1 cells where the header names 2; not sent");
    expect(first.stderr()).toContain("run again with --resume to finish");
    const interrupted = (await readFile(output, "utf8")).trimEnd().split("\n").slice(1);
    const notSent = interrupted.filter((l) => l.includes("NOT_SENT")).length;
    expect(notSent).toBeGreaterThan(0);

    const second = await estelam([...args, "--resume"], bank);
    expect(second.stderr).toContain(`resuming: ${40 - notSent} of 40 rows already done`);
    expect(second.stderr).toMatch(/40 rows in .*: 39 answered .*, 1 failed \(CSV_ROW_MALFORMED 1\); \d+ done by an earlier run/);
    expect(second.code).toBe(1);
    const rows = (await readFile(output, "utf8")).trimEnd().split("\n");
    expect(rows[0]).toBe("row,tracking_code,answer,error_code,error_reason,error_fields");
    expect(rows.slice(1).map((r) => Number(r.split(",")[0]))).toEqual(Array.from({ length: 40 }, (_, i) => i + 1));
    expect(rows.some((r) => r.includes("NOT_SENT"))).toBe(false);
    expect(rows[7]).toBe("7,,,,CSV_ROW_MALFORMED,");
    // The rows done before keep their tracking codes: nothing was asked twice.
    for (const l of interrupted.filter((x) => !x.includes("NOT_SENT"))) expect(rows).toContain(l);
  });

  it("shows a progress bar on a terminal", async () => {
    const input = join(dir, "progress.csv");
    const rows = Array.from({ length: 30 }, (_, i) => `${nationalCodeFromSeed(9000 + i)},1348/01/31`);
    await writeFile(input, `national_code,birth_date\n${rows.join("\n")}\n`);
    const command = [process.execPath, CLI, "inquire", "nocr.identity-match.v1", "--batch", input, "--purpose", "kyc.account-opening"]
      .concat(["--end-user", "b", "--out", join(dir, "progress-results.csv")])
      .map((a) => `'${a}'`)
      .join(" ");
    // script(1) gives the command a terminal, as a person running it has.
    const shown = await new Promise<string>((done) => {
      execFile("script", ["-qec", command, "/dev/null"], { env: { ...process.env, ...bank }, timeout: 60_000 }, (_error, stdout) =>
        done(stdout),
      );
    });
    expect(shown).toMatch(/100% \| 30\/30 rows \| \d+\/s \| 0 failed/);
    expect(shown).toContain("30 rows in");
  });

  it("refuses --resume without --out, and a results file of another batch", async () => {
    const input = join(dir, "one.csv");
    await writeFile(input, "national_code,birth_date\n0012345679,1348/01/31\n");
    const base = ["inquire", "nocr.identity-match.v1", "--batch", input, "--purpose", "kyc.account-opening", "--end-user", "b"];
    const noOut = await estelam([...base, "--resume"], bank);
    expect(noOut.code).toBe(2);
    expect(noOut.stderr).toContain("--resume needs --out <file>");
    const other = join(dir, "other.csv");
    await writeFile(other, "a,b\n1,2\n");
    const run = await estelam([...base, "--resume", "--out", other], bank);
    expect(run.code).toBe(1);
    expect(run.stderr).toContain("cannot resume");
    expect(await readFile(other, "utf8")).toBe("a,b\n1,2\n");
  });
});
