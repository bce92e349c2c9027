// A new catalogue is validated whole and swapped in atomically while the gateway runs: inquiries see the
// new grants and bindings at once, connectors of changed endpoints are replaced, and a bad catalogue is
// refused while the running one keeps serving.
import { readFile, writeFile } from "node:fs/promises";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { Answer } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { CatalogueError } from "../../registry/registry.ts";
import { type DemoAgencies, startDemoAgencies } from "../../simulators/demo-agencies/server.ts";
import { KEYS, startTestGateway, type TestGateway } from "../helpers/gateway.ts";

let t: TestGateway;
let second: DemoAgencies;
beforeAll(async () => {
  t = await startTestGateway({ audit: "file" });
  second = await startDemoAgencies({ host: "127.0.0.1", port: 0 });
});
afterAll(async () => {
  await t?.close();
  await second?.close();
});

const iban = {
  inquiryType: "cbi.iban-owner.v1",
  params: { iban: "IR100170889862171595799372" },
  purpose: "counter.service-request",
  endUser: "desk-3",
};

describe("catalogue reload", () => {
  it("applies new grants and endpoints at once, and keeps serving when the new catalogue is bad", async () => {
    const before = await t.client.inquire(iban, { apiKey: KEYS.counterOffice });
    expect(!before.ok && before.status.reason).toBe("ACCESS_DENIED");

    const catalogue = JSON.parse(await readFile(t.cataloguePath, "utf8")) as {
      version: string;
      grants: unknown[];
      agencies: Array<{ id: string; endpoints?: Array<{ options: { baseUrl: string } }> }>;
    };
    catalogue.version = "reloaded-1";
    catalogue.grants.push({ requester: "counter-office", inquiryType: "cbi.iban-owner.v1", purposes: ["counter.service-request"] });
    const cbi = catalogue.agencies.find((a) => a.id === "cbi")?.endpoints?.[0];
    if (cbi === undefined) throw new Error("demo catalogue changed");
    cbi.options.baseUrl = second.url; // the Central Bank moves to another server
    await writeFile(t.cataloguePath, JSON.stringify(catalogue));
    await t.gateway.registry.reload();

    const firstServerCalls = t.agencies.stats().cbi.received;
    const after = await t.client.inquire(iban, { apiKey: KEYS.counterOffice });
    expect(after.ok && after.response.answer).toBe(Answer.FOUND);
    expect(second.stats().cbi.received).toBe(1);
    expect(t.agencies.stats().cbi.received).toBe(firstServerCalls);

    await writeFile(t.cataloguePath, JSON.stringify({ ...catalogue, version: "", grants: [{ requester: "nobody" }] }));
    await expect(t.gateway.registry.reload()).rejects.toBeInstanceOf(CatalogueError);
    expect(t.gateway.registry.current().version).toBe("reloaded-1");
    const still = await t.client.inquire(iban, { apiKey: KEYS.counterOffice });
    expect(still.ok).toBe(true);
  });
});
