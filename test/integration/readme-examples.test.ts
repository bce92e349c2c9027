// The README's copy-paste `buf curl` commands, run as written against the demo gateway process (only the
// address changes), answer the three demo inquiries; `--list-methods` shows the services.
import { execFile, type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, readFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

const ROOT = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

async function freePort(): Promise<number> {
  return new Promise((done) => {
    const server = createServer().listen(0, "127.0.0.1", () => {
      const { port } = server.address() as { port: number };
      server.close(() => done(port));
    });
  });
}

/** The `npx buf curl ...` commands of the README, each joined into one line. */
function readmeCommands(): string[] {
  const readme = readFileSync(join(ROOT, "README.md"), "utf8");
  const commands: string[] = [];
  for (const block of readme.matchAll(/```sh\n([\s\S]*?)```/g)) {
    const lines = (block[1] ?? "").split("\n");
    let current = "";
    for (const line of lines) {
      if (current === "" && !line.startsWith("npx buf curl")) continue;
      current += line.replace(/\\$/, " ");
      if (!line.endsWith("\\")) {
        commands.push(current.trim());
        current = "";
      }
    }
  }
  return commands;
}

let child: ChildProcess | undefined;
let address = "";
beforeAll(async () => {
  const [grpc, http, agencies] = [await freePort(), await freePort(), await freePort()];
  address = `127.0.0.1:${grpc}`;
  const dir = mkdtempSync(join(tmpdir(), "estelam-readme-"));
  child = spawn(process.execPath, [join(ROOT, "gateway/main.ts"), "--demo"], {
    env: {
      PATH: process.env.PATH ?? "",
      ESTELAM_GRPC_ADDRESS: address,
      ESTELAM_HTTP_ADDRESS: `127.0.0.1:${http}`,
      ESTELAM_DEMO_AGENCIES_ADDRESS: `127.0.0.1:${agencies}`,
      ESTELAM_AUDIT_FILE: join(dir, "audit.jsonl"),
      ESTELAM_LOG_LEVEL: "warn",
    },
    stdio: "ignore",
  });
  for (let waited = 0; ; waited += 200) {
    const status = (await fetch(`http://127.0.0.1:${http}/readyz`).catch(() => undefined))?.status;
    if (status === 200) break;
    if (waited > 30_000) throw new Error("the demo gateway did not become ready within 30 s");
    await new Promise((r) => setTimeout(r, 200));
  }
});
afterAll(() => {
  child?.kill("SIGTERM");
});

describe("README examples", () => {
  const commands = readmeCommands();

  it("has the three demo inquiries", () => {
    expect(commands.map((c) => /"inquiry_type":"([^"]+)"/.exec(c)?.[1])).toEqual(["nocr.identity-match.v1", "post.address-by-postcode.v1", "cbi.iban-owner.v1"]);
  });

  it("answers each one when run as written", async () => {
    for (const command of commands) {
      const local = command.replace("npx buf", join(ROOT, "node_modules/.bin/buf")).replace("127.0.0.1:50051", address);
      const { stdout } = await run("bash", ["-c", local], { cwd: tmpdir(), timeout: 60_000 });
      const answer = JSON.parse(stdout) as { answer: string; responder: string; trackingCode: string; result: Record<string, unknown> };
      expect(answer.answer, command).toBe("ANSWER_FOUND");
      expect(answer.trackingCode).toMatch(/^[0-9A-Z]{4}-[0-9A-Z]{4}-[0-9A-Z]{4}$/);
      expect(command).toContain(`"inquiry_type":"${answer.responder}.`);
      expect(Object.keys(answer.result).length).toBeGreaterThan(0);
    }
  }, 120_000);

  it("lists the services through reflection", async () => {
    const { stdout } = await run(join(ROOT, "node_modules/.bin/buf"), ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", `http://${address}`], { cwd: tmpdir(), timeout: 60_000 });
    expect(stdout).toContain("estelam.inquiry.v1.InquiryService/Inquire");
    expect(stdout).toContain("grpc.health.v1.Health/Check");
  });
});
