import { describe, expect, it } from "vitest";
import { newInquiryId, newTrackingCode, parseTrackingCode } from "../../gateway/ids.ts";

describe("inquiry ids", () => {
  it("are UUIDv7 carrying the time, unique and time-ordered", () => {
    const ids = Array.from({ length: 2000 }, (_, i) => newInquiryId(1_700_000_000_000 + i));
    expect(new Set(ids).size).toBe(ids.length);
    for (const id of ids) expect(id).toMatch(/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
    expect([...ids].sort()).toEqual(ids);
    expect(Number.parseInt(ids[0]?.replace(/-/g, "").slice(0, 12) ?? "", 16)).toBe(1_700_000_000_000);
  });
});

describe("tracking codes", () => {
  it("look like XXXX-XXXX-XXXX in Crockford base 32 and parse back", () => {
    const codes = Array.from({ length: 2000 }, () => newTrackingCode());
    expect(new Set(codes).size).toBe(codes.length);
    for (const code of codes) {
      expect(code).toMatch(/^[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}-[0-9A-HJKMNP-TV-Z]{4}$/);
      expect(parseTrackingCode(code)).toBe(code);
    }
  });

  it("accept what a person types (lower case, no dashes, O for 0) and catch typos", () => {
    const code = "7K3M-9QX2-4HB" + "0";
    const valid =
      parseTrackingCode(code) ??
      Array.from("0123456789ABCDEFGHJKMNPQRSTVWXYZ")
        .map((c) => `7K3M-9QX2-4HB${c}`)
        .find((c) => parseTrackingCode(c) !== undefined);
    expect(valid).toBeDefined();
    const good = valid as string;
    expect(parseTrackingCode(good.toLowerCase().replace(/-/g, " "))).toBe(good);
    const typo = good.replace("K", "X");
    expect(parseTrackingCode(typo)).toBeUndefined();
    const swapped = `${good[1]}${good[0]}${good.slice(2)}`;
    expect(parseTrackingCode(swapped)).toBeUndefined();
    expect(parseTrackingCode("123")).toBeUndefined();
  });
});
