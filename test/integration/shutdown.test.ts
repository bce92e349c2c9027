// On SIGTERM the gateway stops taking new calls, lets the inquiries in flight finish within the grace
// period (each with its audit record), and exits cleanly.
import { afterAll, describe, expect, it } from "vitest";
import { watchHealth } from "../../cli/client.ts";
import { DEMO_API_KEY } from "../../gateway/demo-examples.ts";
import { Answer } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { readJournal } from "../helpers/audit-events.ts";
import { createInquiryClient } from "../helpers/client.ts";
import { type GatewayProcess, startGatewayProcess } from "../helpers/gateway-process.ts";

let gateway: GatewayProcess | undefined;
afterAll(() => {
  gateway?.child.kill("SIGKILL");
});

describe("graceful shutdown", () => {
  it("finishes the inquiries in flight, refuses new ones, and exits 0", async () => {
    gateway = await startGatewayProcess({ ESTELAM_SHUTDOWN_GRACE_MS: "5000" });
    const { child } = gateway;
    // The agency takes 800 ms, so the inquiries below are still in flight when SIGTERM arrives.
    const control = await fetch(`${gateway.agenciesUrl}/_control/faults`, {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ agency: "post", mode: "ok", latencyMs: 800 }),
    });
    expect(control.ok).toBe(true);
    const client = createInquiryClient(gateway.grpcAddress, DEMO_API_KEY);
    const ask = () =>
      client.inquire({
        inquiryType: "post.address-by-postcode.v1",
        params: { postal_code: "1193653471" },
        purpose: "kyc.address-verification",
        endUser: "shutdown-test",
      });
    const watched: string[] = [];
    const watch = watchHealth(gateway.grpcAddress, "", (status) => watched.push(status));
    await expect.poll(() => watched).toEqual(["SERVING"]);
    const inFlight = Array.from({ length: 10 }, ask);
    await new Promise((r) => setTimeout(r, 200));
    const exited = new Promise<number | null>((done) => child.once("exit", (code) => done(code)));
    child.kill("SIGTERM");
    await new Promise((r) => setTimeout(r, 100));
    const late = await ask();

    const results = await Promise.all(inFlight);
    expect(results.map((r) => r.ok && r.response.answer)).toEqual(Array(10).fill(Answer.FOUND));
    expect(late.ok).toBe(false);
    expect(await exited).toBe(0);
    // Draining is reported to health watchers before the stream ends.
    expect(watched).toEqual(["SERVING", "NOT_SERVING"]);
    await watch.ended;
    client.close();

    const records = await readJournal(gateway.journalDir);
    for (const r of results) if (r.ok) expect(records.map((e) => e.inquiryId)).toContain(r.response.inquiryId);
  }, 60_000);
});
