import { request as httpRequest } from "node:http";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { ibanFromSeed, nationalCodeFromSeed } from "../../core/identifiers.ts";
import { type DemoAgencies, startDemoAgencies } from "../../simulators/demo-agencies/server.ts";

let agencies: DemoAgencies;

beforeAll(async () => {
  agencies = await startDemoAgencies({ port: 0 });
});

afterAll(async () => {
  await agencies.close();
});

afterEach(() => {
  agencies.faults.reset();
  agencies.resetStats();
});

type Answer = { status: number; body: Record<string, unknown>; contentType: string | null };

async function call(path: string, body: unknown, init: { method?: string; signal?: AbortSignal } = {}): Promise<Answer> {
  const method = init.method ?? "POST";
  const response = await fetch(`${agencies.url}${path}`, {
    method,
    headers: { "content-type": "application/json" },
    ...(method === "GET" || method === "HEAD" ? {} : { body: typeof body === "string" ? body : JSON.stringify(body) }),
    ...(init.signal === undefined ? {} : { signal: init.signal }),
  });
  return {
    status: response.status,
    body: (await response.json()) as Record<string, unknown>,
    contentType: response.headers.get("content-type"),
  };
}

const identity = (national_code: string, birth_date: string) => call("/nocr/identity-match", { national_code, birth_date });
const address = (postal_code: string) => call("/post/address-by-postcode", { postal_code });
const owner = (iban: string) => call("/cbi/iban-owner", { iban });

const PERSIAN = /^[\u0600-\u06ff\u200c ،]+$/u;

describe("NOCR identity match", () => {
  it("matches the person's own birth date", async () => {
    const answer = await identity("0012345679", "1348/01/31");
    expect(answer.status).toBe(200);
    expect(answer.contentType).toBe("application/json; charset=utf-8");
    expect(answer.body).toMatchObject({ match: true, alive: true });
    for (const name of ["first_name", "last_name", "father_name"]) expect(answer.body[name]).toMatch(PERSIAN);
  });

  it("does not match another birth date but still names the person", async () => {
    const right = await identity("0012345679", "1348/01/31");
    const wrong = await identity("0012345679", "1370/01/15");
    expect(wrong.status).toBe(200);
    expect(wrong.body).toEqual({ ...right.body, match: false });
  });

  it("accepts the same input in other spellings", async () => {
    const answer = await identity("۰۰۱۲۳۴۵۶۷۹", "۱۳۴۸-۱-۳۱");
    expect(answer.body.match).toBe(true);
  });

  it("knows deceased people (prefix 998) and not people with prefix 999", async () => {
    expect((await identity("9980000007", "1339/10/30")).body).toMatchObject({ match: true, alive: false });
    const unknown = await identity("9990000001", "1370/01/15");
    expect(unknown.status).toBe(404);
    expect(unknown.body.error).toBe("not_found");
    expect(typeof unknown.body.message).toBe("string");
  });

  it("is deterministic, and different codes are different people", async () => {
    const a1 = await identity(nationalCodeFromSeed(1), "1370/01/01");
    const a2 = await identity(nationalCodeFromSeed(1), "1370/01/01");
    const b = await identity(nationalCodeFromSeed(2), "1370/01/01");
    const c = await identity(nationalCodeFromSeed(3), "1370/01/01");
    expect(a1.body).toEqual(a2.body);
    expect(b.body).not.toEqual(a1.body);
    expect(c.body).not.toEqual(b.body);
  });

  it("answers 400 for malformed input without echoing it", async () => {
    const badChecksum = await identity("0012345678", "1370/01/15");
    expect(badChecksum.status).toBe(400);
    expect(badChecksum.body.error).toBe("bad_request");
    expect(String(badChecksum.body.message)).toContain("national_code");
    expect(String(badChecksum.body.message)).not.toContain("0012345678");
    expect((await identity("0012345679", "1400/12/30")).status).toBe(400);
    expect((await call("/nocr/identity-match", { national_code: "0012345679" })).status).toBe(400);
    expect((await call("/nocr/identity-match", { national_code: 12345679, birth_date: "1370/01/15" })).status).toBe(400);
    expect((await call("/nocr/identity-match", "not json")).status).toBe(400);
    expect((await call("/nocr/identity-match", [1, 2])).status).toBe(400);
  });
});

describe("Iran Post address by postal code", () => {
  it("finds an address with the province from the first digits", async () => {
    const answer = await address("1193653471");
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ province: "تهران", city: "تهران" });
    expect(answer.body.street).toMatch(PERSIAN);
    for (const key of ["number", "floor", "unit"]) expect(Number.isInteger(answer.body[key])).toBe(true);
    expect((await address("7134845791")).body).toMatchObject({ province: "فارس", city: "شیراز" });
  });

  it("is deterministic", async () => {
    expect((await address("1193653471")).body).toEqual((await address("11936-53471")).body);
    expect((await address("1193653471")).body).not.toEqual((await address("1193653481")).body);
  });

  it("has no address when the building part begins with 00", async () => {
    const answer = await address("1193600471");
    expect(answer.status).toBe(404);
    expect(answer.body.error).toBe("not_found");
  });

  it("answers 400 for an invalid postal code", async () => {
    expect((await address("1023653471")).status).toBe(400);
    expect((await call("/post/address-by-postcode", {})).status).toBe(400);
  });
});

describe("CBI IBAN owner", () => {
  it("names the owner and the bank", async () => {
    const answer = await owner("IR020540889862171595799372");
    expect(answer.status).toBe(200);
    expect(answer.body).toMatchObject({ bank: "بانک پارسیان", bank_code: "054", account_status: "active" });
    expect(answer.body.owner_name).toMatch(PERSIAN);
  });

  it("reports blocked and closed accounts", async () => {
    expect((await owner("IR740170250541946593696352")).body.account_status).toBe("blocked");
    expect((await owner("IR870170486609924093486050")).body.account_status).toBe("closed");
  });

  it("is deterministic", async () => {
    const iban = ibanFromSeed(7, "017");
    expect((await owner(iban)).body).toEqual((await owner(iban.toLowerCase())).body);
    expect((await owner(iban)).body.bank).toBe("بانک ملی ایران");
  });

  it("does not know unknown bank codes", async () => {
    const answer = await owner(ibanFromSeed(1, "099"));
    expect(answer.status).toBe(404);
    expect(answer.body.error).toBe("not_found");
  });

  it("refuses accounts at the central bank itself", async () => {
    const answer = await owner(ibanFromSeed(1, "010"));
    expect(answer.status).toBe(422);
    expect(answer.body.error).toBe("rejected");
    expect(typeof answer.body.message).toBe("string");
  });

  it("answers 400 for a wrong check digit", async () => {
    const answer = await owner("IR020540889862171595799373");
    expect(answer.status).toBe(400);
    expect(String(answer.body.message)).not.toContain("9862171595799373");
  });
});

describe("HTTP surface", () => {
  it("answers 404 for unknown paths and 405 for wrong methods", async () => {
    const unknown = await call("/nocr/unknown", {});
    expect(unknown.status).toBe(404);
    expect(unknown.body).toEqual({ error: "no_such_endpoint" });
    const response = await fetch(`${agencies.url}/nocr/identity-match`);
    expect(response.status).toBe(405);
    expect(response.headers.get("allow")).toBe("POST");
    expect(response.headers.get("content-type")).toBe("application/json; charset=utf-8");
    await response.body?.cancel();
  });

  it("keeps connections alive", async () => {
    const response = await fetch(`${agencies.url}/post/address-by-postcode`, {
      method: "POST",
      body: JSON.stringify({ postal_code: "1193653471" }),
    });
    expect(response.headers.get("keep-alive")).toMatch(/timeout=\d+/);
    await response.body?.cancel();
  });
});

/** One request on a fresh connection; resolves with what happened to it. */
function rawPost(path: string, body: unknown): Promise<{ response: boolean; error: string | undefined }> {
  return new Promise((resolve) => {
    const req = httpRequest(
      `${agencies.url}${path}`,
      { method: "POST", agent: false, headers: { "content-type": "application/json" } },
      (res) => {
        res.resume();
        resolve({ response: true, error: undefined });
      },
    );
    req.on("error", (error: NodeJS.ErrnoException) => resolve({ response: false, error: error.code ?? error.message }));
    req.end(JSON.stringify(body));
  });
}

describe("fault injection", () => {
  it("error mode answers 503", async () => {
    const set = await call("/_control/faults", { agency: "nocr", mode: "error" });
    expect(set.status).toBe(200);
    const answer = await identity("0012345679", "1348/01/31");
    expect(answer.status).toBe(503);
    expect((await address("1193653471")).status).toBe(200);
  });

  it("down mode closes the connection without an answer", async () => {
    agencies.faults.set({ agency: "post", mode: "down" });
    const outcome = await rawPost("/post/address-by-postcode", { postal_code: "1193653471" });
    expect(outcome.response).toBe(false);
    expect(outcome.error).toBe("ECONNRESET");
    await expect(address("1193653471")).rejects.toThrow();
    expect(agencies.stats().post.dropped).toBe(2);
  });

  it("hang mode never answers before the client gives up", async () => {
    agencies.faults.set({ agency: "cbi", mode: "hang" });
    const started = performance.now();
    await expect(call("/cbi/iban-owner", { iban: "IR020540889862171595799372" }, { signal: AbortSignal.timeout(300) })).rejects.toThrow();
    expect(performance.now() - started).toBeGreaterThanOrEqual(280);
    expect(agencies.stats().cbi).toMatchObject({ received: 1, hung: 1, answered: {} });
    // The other agencies and the server itself carry on.
    expect((await address("1193653471")).status).toBe(200);
  });

  it("latency delays every answer", async () => {
    agencies.faults.set({ agency: "post", latencyMs: 250 });
    for (let i = 0; i < 2; i++) {
      const started = performance.now();
      const answer = await address("1193653471");
      expect(answer.status).toBe(200);
      expect(performance.now() - started).toBeGreaterThanOrEqual(240);
    }
  });

  it("error rate fails calls on a fixed schedule", async () => {
    await call("/_control/faults", { agency: "nocr", errorRate: 0.25 });
    const statuses = [];
    for (let i = 0; i < 8; i++) statuses.push((await identity("0012345679", "1348/01/31")).status);
    expect(statuses).toEqual([200, 200, 200, 503, 200, 200, 200, 503]);
  });

  it("applies to every agency with *", async () => {
    agencies.faults.set({ agency: "*", mode: "error" });
    expect((await identity("0012345679", "1348/01/31")).status).toBe(503);
    expect((await address("1193653471")).status).toBe(503);
    expect((await owner("IR020540889862171595799372")).status).toBe(503);
  });

  it("resets over HTTP and programmatically", async () => {
    agencies.faults.set({ agency: "*", mode: "error" });
    const reset = await call("/_control/faults", undefined, { method: "DELETE" });
    expect(reset.status).toBe(200);
    expect((await call("/_control/faults", undefined, { method: "GET" })).body.faults).toMatchObject({
      nocr: { mode: "ok", latencyMs: 0, errorRate: 0 },
    });
    expect((await owner("IR020540889862171595799372")).status).toBe(200);
    agencies.faults.set({ agency: "cbi", mode: "error" });
    agencies.faults.reset();
    expect((await owner("IR020540889862171595799372")).status).toBe(200);
  });

  it("rejects invalid fault settings", async () => {
    for (const spec of [
      { agency: "nocr", mode: "explode" },
      { agency: "police" },
      { agency: "nocr", errorRate: 2 },
      { agency: "nocr", latencyMs: -1 },
      { agency: "nocr", extra: 1 },
    ]) {
      const answer = await call("/_control/faults", spec);
      expect(answer.status, JSON.stringify(spec)).toBe(400);
      expect(answer.body.error).toBe("bad_request");
    }
    expect(() => agencies.faults.set({ agency: "nocr", errorRate: 1.5 })).toThrow(TypeError);
  });
});

describe("stats", () => {
  it("counts requests received and answered by status, per agency", async () => {
    await identity("0012345679", "1348/01/31");
    await identity("9990000001", "1370/01/15");
    await identity("0012345678", "1370/01/15");
    agencies.faults.set({ agency: "nocr", mode: "error" });
    await identity("0012345679", "1348/01/31");
    const stats = await call("/_control/stats", undefined, { method: "GET" });
    expect(stats.body.nocr).toEqual({
      received: 4,
      answered: { "200": 1, "400": 1, "404": 1, "503": 1 },
      dropped: 0,
      hung: 0,
      abandoned: 0,
    });
    expect(stats.body.post).toMatchObject({ received: 0 });
    expect(agencies.stats().nocr.received).toBe(4);
    await call("/_control/stats", undefined, { method: "DELETE" });
    expect(agencies.stats().nocr.received).toBe(0);
  });
});

describe("lifecycle", () => {
  it("closes promptly with a request still hanging", async () => {
    const other = await startDemoAgencies({ port: 0 });
    other.faults.set({ agency: "nocr", mode: "hang" });
    const pending = fetch(`${other.url}/nocr/identity-match`, {
      method: "POST",
      body: JSON.stringify({ national_code: "0012345679", birth_date: "1348/01/31" }),
    });
    const settled = pending.then(
      () => "answered",
      () => "failed",
    );
    while (other.stats().nocr.hung === 0) await new Promise((resolve) => setTimeout(resolve, 10));
    await other.close();
    expect(await settled).toBe("failed");
    await other.close();
  });
});
