// The gateway's log lines on standard output: held briefly and written in blocks (ESTELAM_LOG_FLUSH_MS), so
// a line under load costs no write of its own, yet every line reaches the output within that time, and
// every held line is written when the gateway stops.
import { afterEach, describe, expect, it } from "vitest";
import { DEMO_API_KEY } from "../../gateway/demo-examples.ts";
import { createInquiryClient } from "../helpers/client.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";

let gateway: GatewayProcess | undefined;
afterEach(() => {
  gateway?.child.kill("SIGKILL");
  gateway = undefined;
});

/** The inquiry ids of the per-inquiry lines written so far. */
function loggedInquiries(process: GatewayProcess): string[] {
  return process
    .stdout()
    .split("\n")
    .filter((line) => line !== "")
    .map((line) => JSON.parse(line) as { msg?: string; inquiry_id?: string })
    .filter((line) => line.msg === "inquiry" && line.inquiry_id !== undefined)
    .map((line) => line.inquiry_id as string);
}

async function ask(process: GatewayProcess, count: number): Promise<string[]> {
  const client = createInquiryClient(process.grpcAddress, DEMO_API_KEY);
  const ids: string[] = [];
  for (let i = 0; i < count; i++) {
    const result = await client.inquire({
      inquiryType: "post.address-by-postcode.v1",
      params: { postal_code: "1193653471" },
      purpose: "kyc.address-verification",
      endUser: "log-test",
    });
    if (!result.ok) throw new Error(`the inquiry failed: ${result.error.message}`);
    ids.push(result.response.inquiryId);
  }
  client.close();
  return ids;
}

describe("log output", () => {
  it("writes a held line within ESTELAM_LOG_FLUSH_MS", async () => {
    gateway = await startGatewayProcess({ ESTELAM_LOG_LEVEL: "info", ESTELAM_LOG_FLUSH_MS: "300" });
    const [id] = await ask(gateway, 1);
    const asked = performance.now();
    const running = gateway;
    await expect.poll(() => loggedInquiries(running), { timeout: 5000, interval: 50 }).toEqual([id]);
    // Written by the periodic flush, not only at exit: the process is still running.
    expect(running.child.exitCode).toBeNull();
    expect(performance.now() - asked).toBeLessThan(3000);
  }, 60_000);

  it("writes every held line when it stops", async () => {
    gateway = await startGatewayProcess({ ESTELAM_LOG_LEVEL: "info", ESTELAM_LOG_FLUSH_MS: "60000" });
    const ids = await ask(gateway, 3);
    // Held: a minute's flush, and fewer than 4 KiB of lines since the last block.
    await new Promise((r) => setTimeout(r, 300));
    expect(loggedInquiries(gateway).length).toBeLessThan(ids.length);
    const exited = new Promise<number | null>((done) => gateway?.child.once("exit", (code) => done(code)));
    gateway.child.kill("SIGTERM");
    expect(await exited).toBe(0);
    expect(loggedInquiries(gateway)).toEqual(ids);
  }, 60_000);

  it("writes each line as it comes with ESTELAM_LOG_FLUSH_MS=0", async () => {
    gateway = await startGatewayProcess({ ESTELAM_LOG_LEVEL: "info", ESTELAM_LOG_FLUSH_MS: "0" });
    const ids = await ask(gateway, 2);
    const running = gateway;
    await expect.poll(() => loggedInquiries(running), { timeout: 250, interval: 10 }).toEqual(ids);
  }, 60_000);

  it("refuses a flush time that is not a whole number of milliseconds up to a minute", async () => {
    await expect(startGatewayProcess({ ESTELAM_LOG_FLUSH_MS: "soon" })).rejects.toThrow(/ESTELAM_LOG_FLUSH_MS/);
  }, 60_000);
});
