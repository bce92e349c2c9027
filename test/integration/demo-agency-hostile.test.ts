// Each hostile answer, selected per agency through the control API and observed from a real client; the
// TLS faces' bad certificates; and the simulator's own memory staying small while it sends a hundred
// megabytes (measured on the simulator running as its own process).
import { type ChildProcess, spawn } from "node:child_process";
import { readFileSync } from "node:fs";
import { request as httpsRequest } from "node:https";
import { connect } from "node:net";
import { resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import { XMLValidator } from "fast-xml-parser";
import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { DEMO_CREDENTIALS } from "../../simulators/demo-agencies/agencies.ts";
import { WELFARE_SERVICE } from "../../simulators/demo-agencies/grpc/face.ts";
import { type DemoAgencies, startDemoAgencies } from "../../simulators/demo-agencies/server.ts";
import { agencyGrpcClient, call, postJson } from "../helpers/agency-clients.ts";

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
  agencies.resetTraps();
});

const control = async (spec: Record<string, unknown>, base = agencies.url): Promise<void> => {
  const answer = await postJson(`${base}/_control/faults`, spec);
  expect(answer.status, answer.text).toBe(200);
};
const PERSON = { national_code: "0012345679", birth_date: "1348/01/31" };
const identity = (init: RequestInit = {}) =>
  fetch(`${agencies.url}/nocr/identity-match`, {
    method: "POST",
    body: JSON.stringify(PERSON),
    headers: { "content-type": "application/json" },
    ...init,
  });

/** Reads a body to its end without keeping it; resolves with its size. */
async function drain(response: Response): Promise<number> {
  let size = 0;
  for await (const chunk of response.body ?? []) size += (chunk as Uint8Array).byteLength;
  return size;
}

describe("hostile bodies", () => {
  it("huge-body sends exactly the asked size in the agency's format", async () => {
    await control({ agency: "nocr", mode: "huge-body", bytes: 5_000_000 });
    const response = await identity();
    expect(response.status).toBe(200);
    expect(response.headers.get("content-length")).toBeNull();
    const text = await response.text();
    expect(text.length).toBe(5_000_000);
    expect(JSON.parse(text)).toEqual({ data: "A".repeat(5_000_000 - 11) });
    await control({ agency: "ssaa", mode: "huge-body", bytes: 200_000 });
    const soap = await call(`${agencies.url}/ssaa/CompanyInquiryService`, {
      method: "POST",
      body: "<x/>",
      headers: { "content-type": "application/soap+xml" },
    });
    expect(soap.headers.get("content-type")).toBe("application/soap+xml; charset=utf-8");
    expect(XMLValidator.validate(soap.text)).toBe(true);
    expect(Buffer.byteLength(soap.text)).toBe(200_000);
  });

  it("trickle sends headers, then a byte at a time, and never ends", async () => {
    await control({ agency: "post", mode: "trickle", intervalMs: 20 });
    const controller = new AbortController();
    const response = await fetch(`${agencies.url}/post/address-by-postcode`, {
      method: "POST",
      body: JSON.stringify({ postal_code: "1193653471" }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = (response.body as ReadableStream<Uint8Array>).getReader();
    let received = 0;
    const started = performance.now();
    while (performance.now() - started < 400) {
      const { value, done } = await reader.read();
      expect(done).toBe(false);
      received += value?.byteLength ?? 0;
    }
    controller.abort();
    expect(received).toBeGreaterThan(10);
    expect(received).toBeLessThan(60);
  });

  it("stall-headers starts the headers and never finishes them", async () => {
    await control({ agency: "cbi", mode: "stall-headers" });
    const { hostname, port } = new URL(agencies.url);
    const received = await new Promise<string>((done) => {
      const socket = connect(Number(port), hostname, () => {
        const body = JSON.stringify({ iban: "IR020540889862171595799372" });
        socket.write(
          `POST /cbi/iban-owner HTTP/1.1\r\nHost: ${hostname}\r\nContent-Type: application/json\r\nContent-Length: ${body.length}\r\n\r\n${body}`,
        );
      });
      let text = "";
      socket.on("data", (chunk) => (text += chunk.toString()));
      setTimeout(() => {
        socket.destroy();
        done(text);
      }, 400);
    });
    expect(received.startsWith("HTTP/1.1 200 OK\r\n")).toBe(true);
    expect(received).not.toContain("\r\n\r\n");
    expect(agencies.stats().cbi.hung).toBe(1);
  });

  it("wrong-content-type answers a firewall's HTML page; invalid-json and invalid-xml do not parse", async () => {
    await control({ agency: "nocr", mode: "wrong-content-type" });
    const html = await identity();
    expect(html.headers.get("content-type")).toBe("text/html; charset=utf-8");
    expect(await html.text()).toContain("<html");
    await control({ agency: "nocr", mode: "invalid-json" });
    const broken = await identity();
    expect(broken.headers.get("content-type")).toBe("application/json; charset=utf-8");
    const brokenText = await broken.text();
    expect(() => JSON.parse(brokenText)).toThrow(SyntaxError);
    await control({ agency: "sso", mode: "invalid-xml" });
    const xml = await call(`${agencies.url}/sso/InsuranceHistoryService`, { method: "POST", body: "<x/>" });
    expect(xml.headers.get("content-type")).toBe("text/xml; charset=utf-8");
    expect(XMLValidator.validate(xml.text)).not.toBe(true);
  });

  it("deep-json nests 100,000 levels and wide-json holds 50,000 keys by default", async () => {
    await control({ agency: "nocr", mode: "deep-json" });
    const deep = await (await identity()).text();
    expect(deep.startsWith('{"data":[[[')).toBe(true);
    expect(deep.split("[").length - 1).toBe(100_000);
    expect(deep.endsWith("]]]}")).toBe(true);
    await control({ agency: "nocr", mode: "wide-json" });
    expect(Object.keys(JSON.parse(await (await identity()).text()))).toHaveLength(50_000);
  });

  it("deep-xml and wide-xml are well-formed XML shaped to hurt", async () => {
    await control({ agency: "ssaa", mode: "deep-xml", depth: 5000 });
    const deep = await call(`${agencies.url}/ssaa/CompanyInquiryService`, { method: "POST", body: "<x/>" });
    expect(deep.text.split("<a>").length - 1).toBe(5000);
    expect(XMLValidator.validate(deep.text)).toBe(true);
    await control({ agency: "ssaa", mode: "wide-xml", keys: 30_000 });
    const wide = await call(`${agencies.url}/ssaa/CompanyInquiryService`, { method: "POST", body: "<x/>" });
    expect(wide.text.split("<Item>").length - 1).toBe(30_000);
  });

  it("xml-bomb declares nested entities a few hundred bytes long that would expand to gigabytes", async () => {
    await control({ agency: "sso", mode: "xml-bomb" });
    const bomb = await call(`${agencies.url}/sso/InsuranceHistoryService`, { method: "POST", body: "<x/>" });
    expect(bomb.text.length).toBeLessThan(2000);
    expect(bomb.text).toContain("<!ENTITY lol9 ");
    expect(bomb.text).toContain("&lol9;");
  });

  it("xxe names a local file and a canary that counts fetches", async () => {
    await control({ agency: "ssaa", mode: "xxe" });
    const answer = await call(`${agencies.url}/ssaa/CompanyInquiryService`, { method: "POST", body: "<x/>" });
    expect(answer.text).toContain('SYSTEM "file:///etc/passwd"');
    const canary = /SYSTEM "([^"]+xxe-canary[^"]+)"/.exec(answer.text)?.[1];
    expect(canary).toBeDefined();
    expect(agencies.traps().xxeFetches.ssaa).toBe(0);
    // What a parser that resolves external entities would do:
    await call(canary ?? "");
    expect(agencies.traps().xxeFetches.ssaa).toBe(1);
  });

  it("redirect points to another host and port, to itself, or anywhere; following it is counted", async () => {
    await control({ agency: "nocr", mode: "redirect" });
    const moved = await identity({ redirect: "manual" });
    expect(moved.status).toBe(302);
    const location = new URL(moved.headers.get("location") ?? "");
    expect(location.hostname).toBe("localhost");
    expect(location.port).not.toBe(new URL(agencies.url).port);
    expect(agencies.traps().redirectsFollowed.nocr).toBe(0);
    const followed = await identity();
    expect(await followed.json()).toMatchObject({ match: true });
    expect(agencies.traps().redirectsFollowed.nocr).toBe(1);
    await control({ agency: "nocr", mode: "redirect", redirectTo: "loop", redirectStatus: 307 });
    const loop = await identity({ redirect: "manual" });
    expect([loop.status, loop.headers.get("location")]).toEqual([307, "/nocr/identity-match"]);
    await expect(identity()).rejects.toThrow();
    await control({ agency: "nocr", mode: "redirect", redirectTo: "same-host" });
    expect((await identity()).status).toBe(200);
    expect(agencies.traps().redirectsFollowed.nocr).toBe(2);
  });
});

describe("hostile gRPC answers", () => {
  const auth = { authorization: `Bearer ${DEMO_CREDENTIALS.welfare.bearerToken}` };
  it("huge-body exceeds a client's receive limit (and decodes when the limit allows it); invalid-protobuf does not decode", async () => {
    const client = agencyGrpcClient(agencies.grpcAddress, WELFARE_SERVICE);
    const roomy = agencyGrpcClient(agencies.grpcAddress, WELFARE_SERVICE, { "grpc.max_receive_message_length": 16 * 1024 * 1024 });
    try {
      await control({ agency: "welfare", mode: "huge-body" });
      expect((await client.unary("GetHouseholdDecile", { national_code: "0012345679" }, auth)).code).toBe(grpc.status.RESOURCE_EXHAUSTED);
      expect((await roomy.unary("GetHouseholdDecile", { national_code: "0012345679" }, auth)).code).toBe(grpc.status.OK);
      await control({ agency: "welfare", mode: "invalid-protobuf" });
      expect((await client.unary("GetHouseholdDecile", { national_code: "0012345679" }, auth)).code).toBe(grpc.status.INTERNAL);
    } finally {
      client.close();
      roomy.close();
    }
  });
});

describe("TLS faces", () => {
  /** One HTTPS request; resolves with the status or the TLS error code. */
  const tls = (base: string, options: { ca?: string; cert?: string; key?: string } = {}): Promise<number | string> =>
    new Promise((done) => {
      const req = httpsRequest(`${base}/post/address-by-postcode`, { method: "POST", agent: false, ...options }, (res) => {
        res.resume();
        done(res.statusCode ?? 0);
      });
      req.on("error", (error: NodeJS.ErrnoException) => done(error.code ?? error.message));
      req.end(JSON.stringify({ postal_code: "1193653471" }));
    });

  it("answer through a certificate the demo CA signed, and fail on expired, wrong-host and self-signed ones", async () => {
    const ca = agencies.tls.caCertificate;
    expect(await tls(agencies.tls.valid, { ca })).toBe(200);
    expect(await tls(agencies.tls.valid)).toBe("UNABLE_TO_VERIFY_LEAF_SIGNATURE");
    expect(await tls(agencies.tls.expired, { ca })).toBe("CERT_HAS_EXPIRED");
    expect(await tls(agencies.tls.wrongHost, { ca })).toBe("ERR_TLS_CERT_ALTNAME_INVALID");
    expect(await tls(agencies.tls.selfSigned, { ca })).toBe("DEPTH_ZERO_SELF_SIGNED_CERT");
  });

  it("the mutual face asks for a client certificate the demo CA signed", async () => {
    const ca = readFileSync(agencies.tls.files.ca, "utf8");
    const cert = readFileSync(agencies.tls.files.clientCert, "utf8");
    const key = readFileSync(agencies.tls.files.clientKey, "utf8");
    expect(await tls(agencies.tls.mutual, { ca, cert, key })).toBe(200);
    expect(await tls(agencies.tls.mutual, { ca })).not.toBe(200);
  });
});

describe("the simulator's own memory", () => {
  let child: ChildProcess;
  let base: string;

  beforeAll(async () => {
    child = spawn(process.execPath, [resolve(import.meta.dirname, "../../simulators/demo-agencies/main.ts"), "--port", "0"], {
      stdio: ["ignore", "pipe", "inherit"],
    });
    base = await new Promise<string>((done, fail) => {
      let out = "";
      child.stdout?.setEncoding("utf8").on("data", (text: string) => {
        out += text;
        const line = /^(http:\/\/127\.0\.0\.1:\d+)$/m.exec(out);
        if (line !== null) done(line[1] ?? "");
      });
      child.once("exit", (code) => fail(new Error(`the simulator exited (${code})`)));
    });
  });

  afterAll(() => {
    child.kill("SIGTERM");
  });

  const rssBytes = (): number => {
    const line = /VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, "utf8"));
    return Number(line?.[1]) * 1024;
  };

  it("stays small while it streams 128 MiB, 10 million levels of nesting and a million keys", async () => {
    const ask = () => fetch(`${base}/nocr/identity-match`, { method: "POST", body: JSON.stringify(PERSON) });
    await drain(await ask());
    const before = rssBytes();
    let peak = before;
    const sampler = setInterval(() => {
      peak = Math.max(peak, rssBytes());
    }, 20);
    try {
      await control({ agency: "nocr", mode: "huge-body", bytes: 128 * 1024 * 1024 }, base);
      expect(await drain(await ask())).toBe(128 * 1024 * 1024);
      await control({ agency: "nocr", mode: "deep-json", depth: 10_000_000 }, base);
      expect(await drain(await ask())).toBe(20_000_009);
      await control({ agency: "nocr", mode: "wide-json", keys: 1_000_000 }, base);
      expect(await drain(await ask())).toBeGreaterThan(12_000_000);
    } finally {
      clearInterval(sampler);
    }
    expect(peak - before).toBeLessThan(48 * 1024 * 1024);
  }, 60_000);
});
