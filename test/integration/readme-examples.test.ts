// The README's copy-paste `buf curl` commands, run as written against the demo gateway process (only the
// address changes), answer the three demo inquiries; `--list-methods` shows the services; and its "Register
// an agency" walkthrough, run step by step, registers an agency at run time and answers its inquiry.
import { execFile } from "node:child_process";
import { readFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";

const ROOT = resolve(import.meta.dirname, "../..");
const run = promisify(execFile);

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

let gateway: GatewayProcess | undefined;
let address = "";
beforeAll(async () => {
  gateway = await startGatewayProcess();
  address = gateway.grpcAddress;
});
afterAll(() => {
  gateway?.child.kill("SIGTERM");
});

describe("README examples", () => {
  const commands = readmeCommands();

  it("has the three demo inquiries", () => {
    expect(commands.map((c) => /"inquiry_type":"([^"]+)"/.exec(c)?.[1])).toEqual([
      "nocr.identity-match.v1",
      "post.address-by-postcode.v1",
      "cbi.iban-owner.v1",
    ]);
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

  it("registers an agency as the walkthrough says, without a restart, and answers its inquiry", async () => {
    const readme = readFileSync(join(ROOT, "README.md"), "utf8");
    const section = readme.slice(readme.indexOf("## Register an agency"), readme.indexOf("**Two instances on PostgreSQL.**"));
    const lines = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].flatMap((m) => (m[1] ?? "").split("\n").map((l) => l.trim()));
    const commands: string[] = [];
    let current = "";
    for (const line of lines) {
      if (line === "") continue;
      current += line.replace(/\\$/, " ");
      if (!line.endsWith("\\")) {
        commands.push(current.trim());
        current = "";
      }
    }
    expect(commands.map((c) => c.split(" ").slice(0, 3).join(" "))).toEqual([
      "export ESTELAM_API_KEY=demo-admin-key-3e7c1a9f5b2d8046",
      "scripts/estelam registry diff",
      "scripts/estelam registry apply",
      "npx buf curl",
    ]);
    const env: Record<string, string | undefined> = { ...process.env, ESTELAM_GRPC_ADDRESS: address, ESTELAM_API_KEY: "" };
    let last = "";
    for (const command of commands) {
      const exported = /^export (\w+)=(\S+)$/.exec(command);
      if (exported !== null) {
        env[exported[1] as string] = exported[2] as string;
        continue;
      }
      const local = command
        .replace("scripts/estelam", `${process.execPath} ${join(ROOT, "cli/main.ts")}`)
        .replace("npx buf", join(ROOT, "node_modules/.bin/buf"))
        .replace("127.0.0.1:50051", address);
      ({ stdout: last } = await run("bash", ["-c", local], { cwd: ROOT, env, timeout: 60_000 }));
      if (command.includes("registry apply")) expect(last).toMatch(/^revision 2 applied \(was 1\): 5 created, 0 updated, 0 deleted$/m);
    }
    expect(JSON.parse(last)).toMatchObject({ responder: "nezam", answer: "ANSWER_FOUND", result: { result: { status: "COMPLETED" } } });
  }, 120_000);

  it("lists the services through reflection", async () => {
    const { stdout } = await run(
      join(ROOT, "node_modules/.bin/buf"),
      ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", `http://${address}`],
      { cwd: tmpdir(), timeout: 60_000 },
    );
    expect(stdout).toContain("estelam.inquiry.v1.InquiryService/Inquire");
    expect(stdout).toContain("grpc.health.v1.Health/Check");
    expect(stdout).toContain("estelam.registry.v1.RegistryService/Apply");
    expect(stdout).toContain("estelam.inquiry.v1.InquiryService/ListAllowedInquiries");
  });
});
