import { describe, expect, it } from "vitest";
import {
  IDENTIFIER_KINDS,
  type IdentifierResult,
  ibanBankCode,
  ibanFromSeed,
  isIdentifierKind,
  isJalaliLeapYear,
  jalaliMonthLength,
  legalEntityIdFromSeed,
  mobileFromSeed,
  nationalCodeFromSeed,
  normalizeDigits,
  parseIban,
  parseJalaliDate,
  parseLegalEntityId,
  parseMobile,
  parseNationalCode,
  parsePostalCode,
  postalCodeFromSeed,
} from "../../core/identifiers.ts";

function value(result: IdentifierResult): string | undefined {
  return result.ok ? result.value : undefined;
}

function problemOf(result: IdentifierResult): string | undefined {
  return result.ok ? undefined : result.problem;
}

/** Changes one digit (at `index`) to the next digit, mod 10. */
function changeDigit(text: string, index: number): string {
  const d = Number(text[index]);
  return `${text.slice(0, index)}${(d + 1) % 10}${text.slice(index + 1)}`;
}

describe("normalizeDigits", () => {
  it("maps Persian and Arabic-Indic digits to ASCII and trims", () => {
    expect(normalizeDigits("  ۰۱۲۳۴۵۶۷۸۹ ")).toBe("0123456789");
    expect(normalizeDigits("٠١٢٣٤٥٦٧٨٩")).toBe("0123456789");
    expect(normalizeDigits("IR۰۶")).toBe("IR06");
  });

  it("drops invisible direction marks copied from right-to-left text", () => {
    expect(normalizeDigits("\u200f۱۲۳\u200e")).toBe("123");
  });
});

describe("national code", () => {
  it("accepts valid codes and returns 10 digits", () => {
    expect(value(parseNationalCode("0012345679"))).toBe("0012345679");
    expect(value(parseNationalCode("1234567891"))).toBe("1234567891");
  });

  it("left-pads shorter input", () => {
    expect(value(parseNationalCode("12345679"))).toBe("0012345679");
  });

  it("accepts Persian digits, Arabic-Indic digits, spaces and dashes", () => {
    expect(value(parseNationalCode("۰۰۱۲۳۴۵۶۷۹"))).toBe("0012345679");
    expect(value(parseNationalCode("٠٠١٢٣٤٥٦٧٩"))).toBe("0012345679");
    expect(value(parseNationalCode(" 001-234567-9 "))).toBe("0012345679");
  });

  it("rejects a wrong check digit", () => {
    expect(problemOf(parseNationalCode("0012345678"))).toBe("checksum does not match");
    expect(parseNationalCode(changeDigit("0012345679", 4)).ok).toBe(false);
  });

  it("rejects all-equal digits even though their checksum holds", () => {
    for (let d = 0; d <= 9; d++) expect(problemOf(parseNationalCode(String(d).repeat(10)))).toBe("must not be all the same digit");
  });

  it("rejects non-digits, empty input and more than 10 digits", () => {
    expect(problemOf(parseNationalCode("00123456a9"))).toBe("must be digits only");
    expect(problemOf(parseNationalCode(""))).toBe("must be digits only");
    expect(problemOf(parseNationalCode("00123456790"))).toBe("must be at most 10 digits");
  });

  it("never echoes the input in a problem", () => {
    for (const input of ["0012345678", "00123456790", "123x", "5555555555"]) {
      expect(problemOf(parseNationalCode(input))).not.toContain(input);
    }
  });
});

describe("legal-entity national id", () => {
  it("accepts a valid id", () => {
    expect(value(parseLegalEntityId("10380284790"))).toBe("10380284790");
    expect(value(parseLegalEntityId("۱۰۳۸۰۲۸۴۷۹۰"))).toBe("10380284790");
  });

  it("rejects a wrong check digit or a changed digit", () => {
    expect(problemOf(parseLegalEntityId("10380284791"))).toBe("checksum does not match");
    expect(parseLegalEntityId(changeDigit("10380284790", 3)).ok).toBe(false);
  });

  it("requires exactly 11 digits (no padding)", () => {
    expect(problemOf(parseLegalEntityId("1038028479"))).toBe("must be 11 digits");
    expect(problemOf(parseLegalEntityId("103802847900"))).toBe("must be 11 digits");
  });
});

describe("postal code", () => {
  it("accepts valid codes, with or without the dash", () => {
    expect(value(parsePostalCode("1193653471"))).toBe("1193653471");
    expect(value(parsePostalCode("11936-53471"))).toBe("1193653471");
    expect(value(parsePostalCode("۱۱۹۳۶۵۳۴۷۱"))).toBe("1193653471");
  });

  it("rejects 0 or 2 in the route part, 5 in its last digit, 2 in the building part", () => {
    expect(parsePostalCode("1093653471").ok).toBe(false);
    expect(parsePostalCode("1293653471").ok).toBe(false);
    expect(parsePostalCode("1193553471").ok).toBe(false);
    expect(parsePostalCode("1193653472").ok).toBe(false);
  });

  it("rejects four equal leading digits and wrong lengths", () => {
    expect(parsePostalCode("1111653471").ok).toBe(false);
    expect(problemOf(parsePostalCode("119365347"))).toBe("must be 10 digits");
    expect(problemOf(parsePostalCode("11936534711"))).toBe("must be 10 digits");
  });
});

describe("IBAN", () => {
  const valid = "IR020540889862171595799372";

  it("accepts a valid IBAN and normalises case and spaces", () => {
    expect(value(parseIban(valid))).toBe(valid);
    expect(value(parseIban("ir02 0540 8898 6217 1595 7993 72"))).toBe(valid);
    expect(value(parseIban("IR۰۲۰۵۴۰۸۸۹۸۶۲۱۷۱۵۹۵۷۹۹۳۷۲"))).toBe(valid);
  });

  it("accepts the 24 digits without the IR prefix", () => {
    expect(value(parseIban(valid.slice(2)))).toBe(valid);
  });

  it("fails when any one digit changes", () => {
    for (let i = 2; i < valid.length; i++) {
      expect(problemOf(parseIban(changeDigit(valid, i))), `digit ${i}`).toBe("check digits do not match");
    }
  });

  it("rejects other countries and wrong lengths", () => {
    expect(problemOf(parseIban("DE89370400440532013000"))).toBe("must start with IR");
    expect(problemOf(parseIban("IR02054088986217159579937"))).toBe("must be IR followed by 24 digits");
  });

  it("gives the bank code of a valid IBAN only", () => {
    expect(ibanBankCode(valid)).toBe("054");
    expect(ibanBankCode(changeDigit(valid, 10))).toBeUndefined();
  });
});

describe("mobile", () => {
  it("normalises every common form to 09XXXXXXXXX", () => {
    for (const input of [
      "09123456789",
      "9123456789",
      "+989123456789",
      "989123456789",
      "00989123456789",
      "+98 912 345 6789",
      "0912-345-6789",
      "۰۹۱۲۳۴۵۶۷۸۹",
    ]) {
      expect(value(parseMobile(input)), input).toBe("09123456789");
    }
  });

  it("rejects landlines, wrong lengths and other countries", () => {
    expect(parseMobile("02112345678").ok).toBe(false);
    expect(parseMobile("0912345678").ok).toBe(false);
    expect(parseMobile("+449123456789").ok).toBe(false);
    expect(parseMobile("").ok).toBe(false);
  });
});

describe("Jalali date", () => {
  it("normalises separators, padding and digits", () => {
    expect(value(parseJalaliDate("1370/01/15"))).toBe("1370/01/15");
    expect(value(parseJalaliDate("1370-1-5"))).toBe("1370/01/05");
    expect(value(parseJalaliDate("۱۳۷۰/۰۱/۱۵"))).toBe("1370/01/15");
  });

  it("knows the leap years", () => {
    expect(value(parseJalaliDate("1399/12/30"))).toBe("1399/12/30");
    expect(problemOf(parseJalaliDate("1400/12/30"))).toBe("day does not exist in that month");
    expect(value(parseJalaliDate("1403/12/30"))).toBe("1403/12/30");
    expect(parseJalaliDate("1404/12/30").ok).toBe(false);
    const leaps = [];
    for (let y = 1370; y <= 1410; y++) if (isJalaliLeapYear(y)) leaps.push(y);
    expect(leaps).toEqual([1370, 1375, 1379, 1383, 1387, 1391, 1395, 1399, 1403, 1408]);
  });

  it("has 31-day months first, then 30, then Esfand", () => {
    expect(jalaliMonthLength(1400, 6)).toBe(31);
    expect(jalaliMonthLength(1400, 7)).toBe(30);
    expect(jalaliMonthLength(1400, 12)).toBe(29);
    expect(parseJalaliDate("1400/06/31").ok).toBe(true);
    expect(parseJalaliDate("1400/07/31").ok).toBe(false);
    expect(parseJalaliDate("1400/11/30").ok).toBe(true);
  });

  it("rejects impossible months, days, years and shapes", () => {
    expect(problemOf(parseJalaliDate("1400/13/01"))).toBe("month must be between 1 and 12");
    expect(problemOf(parseJalaliDate("1400/00/01"))).toBe("month must be between 1 and 12");
    expect(parseJalaliDate("1400/01/00").ok).toBe(false);
    expect(problemOf(parseJalaliDate("1100/01/01"))).toBe("year must be between 1200 and 1500");
    expect(parseJalaliDate("1400/01-01").ok).toBe(false);
    expect(parseJalaliDate("1400.01.01").ok).toBe(false);
    expect(parseJalaliDate("14000101").ok).toBe(false);
  });
});

describe("kinds by name", () => {
  it("maps each kind name to its parser", () => {
    expect(Object.keys(IDENTIFIER_KINDS).sort()).toEqual([
      "iban",
      "jalali-date",
      "legal-entity-id",
      "mobile",
      "national-code",
      "postal-code",
    ]);
    expect(value(IDENTIFIER_KINDS["national-code"]("12345679"))).toBe("0012345679");
    expect(value(IDENTIFIER_KINDS["jalali-date"]("1399-12-30"))).toBe("1399/12/30");
    expect(isIdentifierKind("iban")).toBe(true);
    expect(isIdentifierKind("toString")).toBe(false);
  });
});

describe("generators", () => {
  const N = 2_000;

  it("produce valid, distinct values", () => {
    const codes = new Set<string>();
    const postcodes = new Set<string>();
    const ibans = new Set<string>();
    for (let i = 0; i < N; i++) {
      const code = nationalCodeFromSeed(i);
      const postcode = postalCodeFromSeed(i);
      const iban = ibanFromSeed(i, "017");
      expect(value(parseNationalCode(code)), code).toBe(code);
      expect(value(parsePostalCode(postcode)), postcode).toBe(postcode);
      expect(value(parseIban(iban)), iban).toBe(iban);
      expect(ibanBankCode(iban)).toBe("017");
      expect(parseLegalEntityId(legalEntityIdFromSeed(i)).ok).toBe(true);
      expect(parseMobile(mobileFromSeed(i)).ok).toBe(true);
      codes.add(code);
      postcodes.add(postcode);
      ibans.add(iban);
    }
    expect(codes.size).toBe(N);
    expect(postcodes.size).toBe(N);
    expect(ibans.size).toBe(N);
  });

  it("are deterministic", () => {
    expect(nationalCodeFromSeed(42)).toBe(nationalCodeFromSeed(42));
    expect(postalCodeFromSeed(42)).toBe(postalCodeFromSeed(42));
    expect(ibanFromSeed(42, "056")).toBe(ibanFromSeed(42, "056"));
    expect(ibanFromSeed(42, "056")).not.toBe(ibanFromSeed(42, "057"));
  });

  it("reject bad arguments", () => {
    expect(() => nationalCodeFromSeed(1.5)).toThrow(RangeError);
    expect(() => ibanFromSeed(1, "17")).toThrow(RangeError);
  });
});
