// The README's copy-paste `buf curl` commands, run as written against the demo gateway process (only the
// address changes), answer the three demo inquiries; `--list-methods` shows the services.
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

  it("lists the services through reflection", async () => {
    const { stdout } = await run(
      join(ROOT, "node_modules/.bin/buf"),
      ["curl", "--protocol", "grpc", "--http2-prior-knowledge", "--list-methods", `http://${address}`],
      { cwd: tmpdir(), timeout: 60_000 },
    );
    expect(stdout).toContain("estelam.inquiry.v1.InquiryService/Inquire");
    expect(stdout).toContain("grpc.health.v1.Health/Check");
  });
});
