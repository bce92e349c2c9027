// The answer guards count what arrives without parsing it, across chunk boundaries, and are not fooled by
// brackets, quotes or tags inside strings; results in memory are checked to be plain, bounded JSON.
import { create, fromBinary, type JsonObject, type JsonValue, toBinary } from "@bufbuild/protobuf";
import { describe, expect, it } from "vitest";
import { AnswerLimitError, createJsonGuard, shapeProblem } from "../../connectors/answer-limits.ts";
import { RESULT_LIMITS } from "../../connectors/breaker.ts";
import { createXmlGuard, parseXml } from "../../connectors/xml.ts";
import { Answer, InquireResponseSchema } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";

const LIMITS = { maxBytes: 1 << 20, maxDepth: 4, maxKeys: 10 };

function feed(guard: { feed(chunk: Uint8Array): void }, text: string, chunkSize: number): void {
  const bytes = Buffer.from(text);
  for (let i = 0; i < bytes.length; i += chunkSize) guard.feed(bytes.subarray(i, i + chunkSize));
}

describe("the JSON guard", () => {
  it("counts depth and keys outside strings only, whatever the chunking", () => {
    const text = JSON.stringify({ a: "[[[[[{{{{,,,,::::", b: { c: { d: [1, 2] } }, e: 'say "[" \\' });
    for (const size of [1, 2, 3, 7, 1000]) expect(() => feed(createJsonGuard(LIMITS), text, size)).not.toThrow();
  });

  it("stops at the first level or key too many", () => {
    expect(() => feed(createJsonGuard(LIMITS), "[[[[[1]]]]]", 1)).toThrow(
      new AnswerLimitError("answered JSON nested more than 4 levels deep"),
    );
    expect(() =>
      feed(createJsonGuard(LIMITS), JSON.stringify(Object.fromEntries(Array.from({ length: 11 }, (_, i) => [`k${i}`, i]))), 5),
    ).toThrow(/more than 10 keys and elements/);
    expect(() => feed(createJsonGuard({ ...LIMITS, maxBytes: 8 }), '{"a":"123456"}', 4)).toThrow(/more than 8 bytes/);
  });
});

describe("the XML guard and parser", () => {
  it("counts elements and nesting, not text, comments or attributes that look like tags", () => {
    const xml = '<?xml version="1.0"?><!-- <a><b><c> --><e a="<x>"><f>1 &lt; 2</f><g/><g/></e>';
    for (const size of [1, 3, 1000]) expect(() => feed(createXmlGuard(LIMITS), xml, size)).not.toThrow();
    expect(() => feed(createXmlGuard(LIMITS), "<a><b><c><d><e/></d></c></b></a>", 2)).toThrow(/nested more than 4 levels deep/);
    expect(() => feed(createXmlGuard(LIMITS), `<a>${"<b/>".repeat(10)}</a>`, 2)).toThrow(/more than 10 XML elements/);
  });

  it("refuses any DTD before parsing, so no entity is expanded", () => {
    expect(() => parseXml('<!DOCTYPE x [<!ENTITY a "b">]><x>&a;</x>', () => false)).toThrow(/DTD, which is refused/);
    expect(parseXml("<x><y>&amp;</y></x>", () => false)).toEqual({ x: { y: "&amp;" } });
  });
});

describe("results in memory", () => {
  it("must be plain JSON within the limits", () => {
    expect(shapeProblem({ a: [1, "x", true, null, { b: {} }] }, LIMITS)).toBeUndefined();
    expect(shapeProblem({ a: { b: { c: { d: {} } } } }, LIMITS)).toBe("is nested more than 4 levels deep");
    expect(shapeProblem({ a: Array.from({ length: 11 }, () => 0) }, LIMITS)).toBe("has more than 10 keys and elements");
    expect(shapeProblem({ a: 1n }, LIMITS)).toBe("holds a bigint value, which is not JSON");
    expect(shapeProblem({ a: Number.NaN }, LIMITS)).toBe("holds a number JSON cannot carry");
    expect(shapeProblem({ a: new Date() }, LIMITS)).toBe("holds an object that is not plain JSON");
    expect(shapeProblem({ a: undefined }, LIMITS)).toBe("holds a missing value, which is not JSON");
  });
});

describe("the results the breaker passes", () => {
  // The inquiry service encodes an answer once, when it is sent: every result within RESULT_LIMITS must encode,
  // and decode in the caller's protobuf runtime (recursion limit 100).
  it("encode into the caller's response, and decode there, at the deepest and widest the limits allow", () => {
    let nested: JsonValue = "bottom";
    for (let level = 1; level < RESULT_LIMITS.maxDepth; level++) nested = level % 2 === 0 ? [nested] : { level: nested };
    const deep: JsonObject = { nested };
    const wide: JsonObject = Object.fromEntries(Array.from({ length: RESULT_LIMITS.maxKeys }, (_, i) => [`k${i}`, "\ud800 lone"]));
    const encode = (result: JsonObject): Uint8Array =>
      toBinary(InquireResponseSchema, create(InquireResponseSchema, { answer: Answer.FOUND, result }));
    expect(shapeProblem(deep, RESULT_LIMITS)).toBeUndefined();
    expect(fromBinary(InquireResponseSchema, encode(deep)).result).toEqual(deep);
    expect(shapeProblem(wide, RESULT_LIMITS)).toBeUndefined();
    expect(Object.keys(fromBinary(InquireResponseSchema, encode(wide)).result ?? {})).toEqual(Object.keys(wide));
    let deeper: JsonValue = "bottom";
    for (let level = 0; level < RESULT_LIMITS.maxDepth; level++) deeper = { level: deeper };
    expect(shapeProblem({ deeper }, RESULT_LIMITS)).toBe(`is nested more than ${RESULT_LIMITS.maxDepth} levels deep`);
  });
});
