// Property-based tests (fast-check) of what reads hostile input: the request decoder, the envelope and params
// validation of the request path, and the registry document loader and validator. For any input: no crash,
// no unbounded work, and every refusal is a catalogued error (or a listed problem), never anything else.
import { create, toBinary } from "@bufbuild/protobuf";
import fc from "fast-check";
import { beforeAll, describe, expect, it } from "vitest";
import { builtInConnectorKinds } from "../../connectors/kinds.ts";
import { ALL_REASONS, EstelamError, MAX_VIOLATIONS } from "../../core/errors.ts";
import type { InquiryContext } from "../../gateway/context.ts";
import { decode } from "../../gateway/grpc/adapter.ts";
import { createCallContext } from "../../gateway/grpc/call-context.ts";
import { validate } from "../../gateway/interceptors/validate.ts";
import { InquireRequestSchema } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { buildSnapshot } from "../../registry/build.ts";
import type { RegistrySnapshot } from "../../registry/catalogue.ts";
import { parseDocuments } from "../../registry/documents.ts";
import { demoDocuments } from "../helpers/gateway.ts";

const RUNS = { numRuns: 300 };
let snapshot: RegistrySnapshot;

beforeAll(async () => {
  const built = buildSnapshot(await demoDocuments(), {
    revision: 1,
    kinds: builtInConnectorKinds(),
    vars: { DEMO_AGENCIES_URL: "http://127.0.0.1:1" },
  });
  if (!built.ok) throw new Error(JSON.stringify(built.problems));
  snapshot = built.snapshot;
});

/** A JSON value of bounded size, with the strings a hostile caller likes (control characters, Persian digits, huge numbers). */
const json = fc.letrec((tie) => ({
  value: fc.oneof(
    { depthSize: "small" },
    fc.string({ unit: "grapheme-composite", maxLength: 40 }),
    fc.string({ unit: "binary", maxLength: 40 }),
    fc.constantFrom("۰۰۱۲۳۴۵۶۷۹", "0012345679", "1348/01/31", "IR220100889862171595799372", "", "\u0000", "a".repeat(5000)),
    fc.double(),
    fc.integer(),
    fc.boolean(),
    fc.constant(null),
    fc.array(tie("value"), { maxLength: 5 }),
    fc.dictionary(fc.string({ maxLength: 12 }), tie("value"), { maxKeys: 6 }),
  ),
})).value;

function expectCatalogued(error: unknown): EstelamError {
  expect(error).toBeInstanceOf(EstelamError);
  const e = error as EstelamError;
  expect(ALL_REASONS).toContain(e.reason);
  expect(e.reason).not.toBe("INTERNAL");
  return e;
}

describe("the request decoder", () => {
  it("turns any bytes into a request or INVALID_REQUEST", () => {
    fc.assert(
      fc.property(fc.uint8Array({ maxLength: 2048 }), (bytes) => {
        try {
          decode(InquireRequestSchema, bytes);
        } catch (error) {
          expect(expectCatalogued(error).reason).toBe("INVALID_REQUEST");
        }
      }),
      RUNS,
    );
  });

  it("decodes every request it could have been sent", () => {
    fc.assert(
      fc.property(
        fc.record({
          inquiryType: fc.string({ maxLength: 60 }),
          purpose: fc.string({ maxLength: 60 }),
          endUser: fc.string({ maxLength: 60 }),
          params: fc.dictionary(fc.string({ maxLength: 10 }), fc.oneof(fc.string(), fc.integer(), fc.boolean()), { maxKeys: 5 }),
        }),
        (init) => {
          const decoded = decode(InquireRequestSchema, toBinary(InquireRequestSchema, create(InquireRequestSchema, init)));
          expect(decoded.inquiryType).toBe(init.inquiryType);
          expect(decoded.purpose).toBe(init.purpose);
        },
      ),
      RUNS,
    );
  });
});

describe("envelope and params validation", () => {
  const step = validate()(async () => ({ answer: "not_found", message: "passed" }));
  const context = (request: ReturnType<typeof create<typeof InquireRequestSchema>>): InquiryContext => ({
    inquiryId: "inq",
    trackingCode: "code",
    receivedAt: Date.now(),
    startedAt: performance.now(),
    request,
    call: createCallContext({ method: "estelam.inquiry.v1.InquiryService/Inquire" }),
    snapshot,
  });

  it("passes a request on or refuses it with a catalogued reason naming at most the allowed fields", async () => {
    const inquiryTypes = [...snapshot.inquiryTypes.keys()];
    await fc.assert(
      fc.asyncProperty(
        fc.oneof(fc.constantFrom(...inquiryTypes), fc.string({ maxLength: 300 })),
        fc.dictionary(fc.string({ maxLength: 20 }), json, { maxKeys: 8 }),
        fc.oneof(fc.constantFrom("kyc.account-opening", "tax.audit"), fc.string({ maxLength: 120 })),
        fc.string({ unit: "binary", maxLength: 200 }),
        async (inquiryType, params, purpose, endUser) => {
          const request = create(InquireRequestSchema, { inquiryType, params: params as never, purpose, endUser });
          try {
            const answer = await step(context(request));
            expect(answer).toEqual({ answer: "not_found", message: "passed" });
          } catch (error) {
            const e = expectCatalogued(error);
            expect(["INVALID_REQUEST", "INVALID_PARAMS", "UNKNOWN_INQUIRY_TYPE"]).toContain(e.reason);
            expect(e.violations.length).toBeLessThanOrEqual(MAX_VIOLATIONS);
            expect(e.message.length).toBeLessThan(4000);
          }
        },
      ),
      RUNS,
    );
  });
});

describe("the registry document loader", () => {
  it.each([
    ["a: &a [*a]", "refers to itself (a recursive YAML alias)"],
    ["[".repeat(100_000), "is not valid YAML/JSON"],
    ["- ".repeat(20_000) + "x", "is not valid YAML/JSON"],
  ])("refuses hostile YAML %#: %s", (text, problem) => {
    // A set with problems is refused as a whole; the problem names what is wrong.
    expect(parseDocuments(text, "hostile.yaml").problems[0]?.message).toContain(problem);
  });

  it("reads any text as documents or listed problems, never a crash", () => {
    fc.assert(
      fc.property(
        fc.oneof(
          fc.string({ unit: "binary", maxLength: 2000 }),
          fc.array(json, { maxLength: 4 }).map((docs) => JSON.stringify(docs)),
          fc.constantFrom("a: &a [*a]", "- !!binary AAAA", "{".repeat(500), "a: b\n---\n- 1\n---\n", "\uFEFF---\nkind: Agency"),
        ),
        (text) => {
          const read = parseDocuments(text, "fuzz.yaml");
          for (const problem of read.problems) expect(typeof problem.message).toBe("string");
          if (read.problems.length === 0) {
            const built = buildSnapshot(read.documents, { revision: 1, kinds: builtInConnectorKinds(), vars: {} });
            if (!built.ok) for (const problem of built.problems) expect(problem.message.length).toBeGreaterThan(0);
          }
        },
      ),
      RUNS,
    );
  });

  it("validates any document shape as a whole set: accepted, or every problem named with its path", () => {
    const kinds = fc.constantFrom("Agency", "Credential", "Endpoint", "InquiryType", "Binding", "Grant", "Unknown");
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            apiVersion: fc.constantFrom("estelam.ir/v1", "v0"),
            kind: kinds,
            metadata: fc.record({
              name: fc.oneof(fc.constantFrom("demo-bank", "demo-bank/dev", "nocr/main"), fc.string({ maxLength: 30 })),
            }),
            spec: json,
          }),
          { maxLength: 8 },
        ),
        (contents) => {
          const documents = contents.map((content, i) => ({ source: `fuzz.yaml#${i + 1}`, content: content as never }));
          const built = buildSnapshot(documents, { revision: 1, kinds: builtInConnectorKinds(), vars: {} });
          if (!built.ok) for (const problem of built.problems) expect(typeof problem.message).toBe("string");
        },
      ),
      RUNS,
    );
  });
});
