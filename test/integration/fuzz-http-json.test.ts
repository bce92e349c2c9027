// Property-based test (fast-check) of the http-json connector's reading of agency answers: a loopback HTTP
// server answers each call with a generated status, content type and body (JSON of any shape, bytes that are
// not JSON, bodies over the size limit, bodies cut off mid-way). Every call ends in a business answer or an
// agency fault from the catalogue — never a crash, never an unbounded read.
import { createServer, type Server } from "node:http";
import type { AddressInfo } from "node:net";
import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import type { Connector } from "../../connectors/connector.ts";
import { createHttpJsonConnector } from "../../connectors/http-json/connector.ts";
import { validateEndpoint, validateOperation } from "../../connectors/http-json/options.ts";
import { EstelamError } from "../../core/errors.ts";

interface Reply {
  readonly status: number;
  readonly contentType: string;
  readonly body: Buffer;
  /** Close the connection after this many body bytes (a body cut off mid-way). */
  readonly cutAfter: number | undefined;
}

const MAX_RESPONSE_BYTES = 4096;
let server: Server;
let next: Reply;
let connector: Connector;

beforeAll(async () => {
  server = createServer((req, res) => {
    req.resume();
    req.on("end", () => {
      const reply = next;
      if (reply.cutAfter !== undefined) {
        res.writeHead(reply.status, { "content-type": reply.contentType, "content-length": String(reply.body.length) });
        res.write(reply.body.subarray(0, reply.cutAfter));
        res.socket?.destroy();
        return;
      }
      res.writeHead(reply.status, { "content-type": reply.contentType });
      res.end(reply.body);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, "127.0.0.1", resolve));
  const endpoint = validateEndpoint(
    { baseUrl: `http://127.0.0.1:${(server.address() as AddressInfo).port}/api`, maxResponseBytes: MAX_RESPONSE_BYTES },
    "spec.options",
  );
  if (!endpoint.ok) throw new Error(JSON.stringify(endpoint.issues));
  connector = createHttpJsonConnector(endpoint.options, { agency: "fuzz", endpoint: "main" });
});
afterAll(async () => {
  await connector?.close();
  await new Promise((resolve) => server?.close(resolve));
});

const jsonText = fc.jsonValue({ maxDepth: 4 }).map((v) => JSON.stringify(v) ?? "null");
const reply: fc.Arbitrary<Reply> = fc.record({
  status: fc.oneof(fc.constantFrom(200, 201, 204, 400, 404, 409, 422, 429, 500, 502, 503), fc.integer({ min: 200, max: 599 })),
  contentType: fc.constantFrom("application/json", "text/html", "application/octet-stream", "application/json; charset=latin1"),
  body: fc.oneof(
    jsonText.map((t) => Buffer.from(t)),
    fc.uint8Array({ maxLength: 512 }).map((b) => Buffer.from(b)),
    fc.string({ unit: "grapheme", maxLength: 200 }).map((s) => Buffer.from(`{"message": ${JSON.stringify(s)}}`)),
    fc.integer({ min: MAX_RESPONSE_BYTES + 1, max: 4 * MAX_RESPONSE_BYTES }).map((n) => Buffer.from(`{"pad":"${"x".repeat(n)}"}`)),
  ),
  cutAfter: fc.option(fc.integer({ min: 0, max: 100 }), { nil: undefined }),
});

describe("http-json answers", () => {
  it("become a business answer or a catalogued agency fault, whatever the agency sends", async () => {
    const operation = validateOperation({ path: "/lookup", notFoundStatuses: [404], rejectedStatuses: [409, 422] }, "spec.operation");
    if (!operation.ok) throw new Error(JSON.stringify(operation.issues));
    await fc.assert(
      fc.asyncProperty(reply, async (r) => {
        next = r;
        const signal = AbortSignal.timeout(5000);
        try {
          const answer = await connector.call(
            {
              inquiryId: "i",
              inquiryType: "fuzz.v1",
              requester: "bank",
              purpose: "p",
              params: { a: 1 },
              signal,
              deadline: Date.now() + 5000,
            },
            operation.options,
          );
          expect(["found", "not_found", "rejected"]).toContain(answer.answer);
          if (answer.answer === "found") expect(typeof answer.result === "object" && !Array.isArray(answer.result)).toBe(true);
          else expect(answer.message.length).toBeLessThanOrEqual(500);
          // A result is only ever read from a body within the limit; an error status over the limit is still the
          // business answer its status says (its body is not read for a message).
          if (answer.answer === "found") expect(r.body.length).toBeLessThanOrEqual(MAX_RESPONSE_BYTES);
        } catch (error) {
          expect(error).toBeInstanceOf(EstelamError);
          expect(["AGENCY_BAD_RESPONSE", "AGENCY_UNAVAILABLE"]).toContain((error as EstelamError).reason);
          expect((error as EstelamError).agency).toBe("fuzz");
        }
      }),
      { numRuns: 200 },
    );
  }, 60_000);
});
