// The http-json connector against a real HTTP server that misbehaves in the ways agencies do: answers that
// are not JSON objects, too large, or refusals of our own request are AGENCY_BAD_RESPONSE; overload and a
// closed port are AGENCY_UNAVAILABLE; business statuses pass through with the agency's (bounded) message.
import { createServer, type IncomingMessage, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { ConnectorRequest } from "../../connectors/connector.ts";
import { startUpstreamDeadline } from "../../connectors/deadline.ts";
import { httpJsonConnector } from "../../connectors/http-json/index.ts";
import { EstelamError } from "../../core/errors.ts";
import { freePort } from "../helpers/gateway-process.ts";

let server: Server;
/** Connections the agency has accepted. */
let connections = 0;
let baseUrl: string;
let lastRequest: { headers: IncomingMessage["headers"]; body: string } | undefined;
const received: string[] = [];

const ANSWERS: Record<string, (res: import("node:http").ServerResponse) => void> = {
  "/ok": (res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ match: true })),
  "/not-json": (res) => res.writeHead(200, { "content-type": "text/html" }).end("<html>maintenance</html>"),
  "/array": (res) => res.writeHead(200, { "content-type": "application/json" }).end("[1,2,3]"),
  "/empty": (res) => res.writeHead(200).end(),
  "/huge": (res) => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ blob: "x".repeat(10_000) })),
  "/bad-request": (res) => res.writeHead(400, { "content-type": "application/json" }).end(JSON.stringify({ message: "field missing" })),
  "/busy": (res) => res.writeHead(429).end(),
  "/not-found-bare": (res) => res.writeHead(404).end(),
  "/not-found-long": (res) => res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ message: "m".repeat(900) })),
  "/not-found-huge": (res) => res.writeHead(404, { "content-type": "application/json" }).end(JSON.stringify({ message: "m".repeat(5000) })),
  "/early-hints": (res) => {
    res.writeEarlyHints({ link: "</style.css>; rel=preload; as=style" });
    res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ match: false }));
  },
  "/slow": (res) => {
    setTimeout(() => res.writeHead(200, { "content-type": "application/json" }).end(JSON.stringify({ match: true })), 300);
  },
  // Never answers: holds its connection until the test ends.
  "/hang": () => undefined,
  "/rejected": (res) =>
    res.writeHead(422, { "content-type": "application/json" }).end(JSON.stringify({ message: "account is under court order" })),
};

beforeAll(async () => {
  server = createServer((req, res) => {
    let body = "";
    req.on("data", (chunk: Buffer) => (body += chunk.toString()));
    req.on("end", () => {
      received.push(req.url ?? "");
      lastRequest = { headers: req.headers, body };
      (ANSWERS[req.url ?? ""] ?? ((r) => r.writeHead(500).end()))(res);
    });
  });
  server.on("connection", () => {
    connections += 1;
  });
  await new Promise<void>((done) => server.listen(0, "127.0.0.1", done));
  baseUrl = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
});
afterAll(async () => {
  server.closeAllConnections();
  await new Promise((done) => server.close(done));
});

function connectorAt(url: string, settings: Record<string, unknown> = {}) {
  const endpoint = httpJsonConnector.validateEndpoint(
    { baseUrl: url, maxResponseBytes: 1024, connectTimeoutMs: 1000, ...settings },
    "endpoint",
  );
  if (!endpoint.ok) throw new Error(JSON.stringify(endpoint.issues));
  return httpJsonConnector.create(endpoint.options, { agency: "cbi", endpoint: "main" });
}

function request(): ConnectorRequest {
  return {
    inquiryId: "01a20511-0000-7000-8000-000000000000",
    inquiryType: "cbi.iban-owner.v1",
    requester: "demo-bank",
    purpose: "payment.beneficiary-check",
    params: { iban: "IR100170889862171595799372" },
    signal: new AbortController().signal,
    deadline: Date.now() + 3000,
  };
}

/** A valid operation that POSTs to `path`. */
function operation(path: string) {
  const valid = httpJsonConnector.validateOperation({ path }, "operation");
  if (!valid.ok) throw new Error(JSON.stringify(valid.issues));
  return valid.options;
}

async function call(path: string, url = baseUrl) {
  const op = operation(path);
  const connector = connectorAt(url);
  try {
    return await connector.call(request(), op);
  } finally {
    await connector.close();
  }
}

async function reasonOf(path: string, url?: string): Promise<{ reason: string; agency: string | undefined; message: string }> {
  const error = await call(path, url).then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EstelamError);
  const e = error as EstelamError;
  return { reason: e.reason, agency: e.agency, message: e.message };
}

describe("http-json connector", () => {
  it("sends the params as JSON with the inquiry's headers and returns the agency's object", async () => {
    expect(await call("/ok")).toEqual({ answer: "found", result: { match: true } });
    expect(JSON.parse(lastRequest?.body ?? "")).toEqual({ iban: "IR100170889862171595799372" });
    expect(lastRequest?.headers).toMatchObject({
      "content-type": "application/json",
      "x-estelam-inquiry-type": "cbi.iban-owner.v1",
      "x-estelam-requester": "demo-bank",
      "x-estelam-purpose": "payment.beneficiary-check",
    });
    const timeout = Number(lastRequest?.headers["x-estelam-timeout-ms"]);
    expect(timeout).toBeGreaterThan(0);
    expect(timeout).toBeLessThanOrEqual(3000);
  });

  it("reads the answer that follows an informational one (103 Early Hints)", async () => {
    expect(await call("/early-hints")).toEqual({ answer: "found", result: { match: false } });
  });

  it.each(["/not-json", "/array", "/empty", "/huge"])("%s → AGENCY_BAD_RESPONSE naming the agency", async (path) => {
    expect(await reasonOf(path)).toMatchObject({ reason: "AGENCY_BAD_RESPONSE", agency: "cbi" });
  });

  it("overload (429) and server errors are AGENCY_UNAVAILABLE", async () => {
    expect(await reasonOf("/busy")).toMatchObject({ reason: "AGENCY_UNAVAILABLE", agency: "cbi" });
    expect(await reasonOf("/no-such-path")).toMatchObject({ reason: "AGENCY_UNAVAILABLE", agency: "cbi" });
  });

  it("an agency that is not listening is AGENCY_UNAVAILABLE, said plainly", async () => {
    const closed = `http://127.0.0.1:${await freePort()}`;
    const failure = await reasonOf("/ok", closed);
    expect(failure).toMatchObject({ reason: "AGENCY_UNAVAILABLE", agency: "cbi" });
    expect(failure.message).toContain("ECONNREFUSED");
  });

  it("passes business answers through, with a default or bounded message", async () => {
    expect(await call("/not-found-bare")).toEqual({ answer: "not_found", message: "no record found" });
    const long = await call("/not-found-long");
    expect(long.answer === "not_found" && long.message.length).toBe(500);
    expect(await call("/rejected")).toEqual({ answer: "rejected", message: "account is under court order" });
    // Any other 4xx is the agency declining too, with its own words.
    expect(await call("/bad-request")).toEqual({ answer: "rejected", message: "field missing" });
  });

  it("an error answer too large to read for its message is still the outcome its status says", async () => {
    expect(await call("/not-found-huge")).toEqual({ answer: "not_found", message: "no record found" });
  });

  it("a call still waiting for a connection ends at its deadline and is never sent", async () => {
    const connector = connectorAt(baseUrl, { connections: 1 });
    const holder = new AbortController();
    const first = connector.call({ ...request(), signal: holder.signal }, operation("/hang")).catch((e: unknown) => e);
    const deadline = startUpstreamDeadline(200, undefined, new AbortController().signal);
    const sentBefore = received.length;
    const started = performance.now();
    try {
      const error = await connector.call({ ...request(), signal: deadline.signal }, operation("/ok")).then(
        () => undefined,
        (e: unknown) => e,
      );
      const waited = performance.now() - started;
      expect(error).toBeInstanceOf(EstelamError);
      expect((error as EstelamError).reason).toBe("DEADLINE_EXCEEDED");
      // Refused at its own deadline, not when the connection it waited for came free.
      expect(waited).toBeGreaterThanOrEqual(190);
      expect(waited).toBeLessThan(1500);
    } finally {
      deadline.dispose();
      holder.abort();
      await first;
      await connector.close();
    }
    expect(received.slice(sentBefore)).not.toContain("/ok");
  });

  it("a call cancelled while it waits for a connection leaves that connection open for the next", async () => {
    const connector = connectorAt(baseUrl, { connections: 1 });
    try {
      // Open the one connection, then keep it busy while five callers give up waiting for it.
      expect((await connector.call(request(), operation("/ok"))).answer).toBe("found");
      const opened = connections;
      const busy = connector.call(request(), operation("/slow"));
      const impatient = Array.from({ length: 5 }, () => {
        const deadline = startUpstreamDeadline(100, undefined, new AbortController().signal);
        return connector
          .call({ ...request(), signal: deadline.signal }, operation("/ok"))
          .then(
            () => "answered",
            (e: unknown) => (e as EstelamError).reason,
          )
          .finally(() => deadline.dispose());
      });
      expect(await Promise.all(impatient)).toEqual(Array(5).fill("DEADLINE_EXCEEDED"));
      expect((await busy).answer).toBe("found");
      for (let i = 0; i < 3; i++) expect((await connector.call(request(), operation("/ok"))).answer).toBe("found");
      expect(connections).toBe(opened);
    } finally {
      await connector.close();
    }
  });
});
