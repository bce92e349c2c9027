// Iranian identifiers: normalisers and validators used at the gateway edge (inquiry parameters) and by the
// agency simulators, plus deterministic generators of valid values for tests and benchmarks.
//
// Every parser takes what a person typed (Persian or Arabic-Indic digits, spaces, dashes) and returns a
// result instead of throwing: the canonical form, or a short reason. A reason never repeats the input,
// because the input is personal data and reasons end up in logs and error details.

export type IdentifierResult = { readonly ok: true; readonly value: string } | { readonly ok: false; readonly problem: string };

/** Normalises and validates one kind of identifier. */
export type IdentifierParser = (input: string) => IdentifierResult;

const PERSIAN_ZERO = 0x06f0; // ۰
const ARABIC_INDIC_ZERO = 0x0660; // ٠
// Direction marks and other invisible characters that ride along when text is copied out of RTL documents.
const INVISIBLES = /[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff]/g;
const SEPARATORS = /[\s\-\u2010-\u2015\u2212]/g;

function ok(value: string): IdentifierResult {
  return { ok: true, value };
}

function problem(text: string): IdentifierResult {
  return { ok: false, problem: text };
}

/** Maps Persian (۰–۹) and Arabic-Indic (٠–٩) digits to ASCII, drops invisible direction marks and trims. */
export function normalizeDigits(input: string): string {
  let out = "";
  for (const ch of input.replace(INVISIBLES, "")) {
    const code = ch.charCodeAt(0);
    if (code >= PERSIAN_ZERO && code <= PERSIAN_ZERO + 9) out += String.fromCharCode(48 + code - PERSIAN_ZERO);
    else if (code >= ARABIC_INDIC_ZERO && code <= ARABIC_INDIC_ZERO + 9) out += String.fromCharCode(48 + code - ARABIC_INDIC_ZERO);
    else out += ch;
  }
  return out.trim();
}

/** normalizeDigits, then removes the spaces and dashes people put inside long numbers. */
function compactDigits(input: string): string {
  return normalizeDigits(input).replace(SEPARATORS, "");
}

const DIGITS = /^\d+$/;

function allEqual(digits: string): boolean {
  return /^(\d)\1*$/.test(digits);
}

function digitAt(digits: string, i: number): number {
  return digits.charCodeAt(i) - 48;
}

// ---------------------------------------------------------------------------------------------------------
// National code (کد ملی)

function nationalCodeCheckDigit(first9: string): number {
  let sum = 0;
  for (let i = 0; i < 9; i++) sum += digitAt(first9, i) * (10 - i);
  const s = sum % 11;
  return s < 2 ? s : 11 - s;
}

/**
 * A person's national code: up to 10 digits (shorter input is left-padded with zeros, as happens when a
 * code travelled as a number), not all the same digit, with a matching check digit. Value: 10 digits.
 */
export function parseNationalCode(input: string): IdentifierResult {
  const digits = compactDigits(input);
  if (digits === "" || !DIGITS.test(digits)) return problem("must be digits only");
  if (digits.length > 10) return problem("must be at most 10 digits");
  const code = digits.padStart(10, "0");
  if (allEqual(code)) return problem("must not be all the same digit");
  if (nationalCodeCheckDigit(code.slice(0, 9)) !== digitAt(code, 9)) return problem("checksum does not match");
  return ok(code);
}

// ---------------------------------------------------------------------------------------------------------
// Legal-entity national id (شناسه ملی)

const LEGAL_ENTITY_WEIGHTS = [29, 27, 23, 19, 17] as const;

function legalEntityCheckDigit(first10: string): number {
  const k = digitAt(first10, 9) + 2;
  let sum = 0;
  for (let i = 0; i < 10; i++) sum += (k + digitAt(first10, i)) * (LEGAL_ENTITY_WEIGHTS[i % 5] ?? 0);
  const s = sum % 11;
  return s === 10 ? 0 : s;
}

/** A legal entity's national id: exactly 11 digits with a matching check digit. */
export function parseLegalEntityId(input: string): IdentifierResult {
  const digits = compactDigits(input);
  if (digits === "" || !DIGITS.test(digits)) return problem("must be digits only");
  if (digits.length !== 11) return problem("must be 11 digits");
  if (allEqual(digits)) return problem("must not be all the same digit");
  if (legalEntityCheckDigit(digits.slice(0, 10)) !== digitAt(digits, 10)) return problem("checksum does not match");
  return ok(digits);
}

// ---------------------------------------------------------------------------------------------------------
// Postal code (کد پستی)

// No 0 or 2 in the route part (they are easily misread as 5 and 3), no 5 in its last digit, no 2 in the
// building part, and the first four digits not all equal. Common practice rather than an official rule.
const POSTAL_CODE = /^(?!(\d)\1{3})[13-9]{4}[1346-9][013-9]{5}$/;

/** A 10-digit postal code (written `XXXXX-XXXXX` or in one piece). */
export function parsePostalCode(input: string): IdentifierResult {
  const digits = compactDigits(input);
  if (digits === "" || !DIGITS.test(digits)) return problem("must be digits only");
  if (digits.length !== 10) return problem("must be 10 digits");
  if (!POSTAL_CODE.test(digits)) return problem("is not a valid postal code (digits not allowed in these positions)");
  return ok(digits);
}

// ---------------------------------------------------------------------------------------------------------
// IBAN (شبا)

/** Remainder modulo 97 of a long decimal string, a digit at a time (no BigInt needed). */
function mod97(digits: string): number {
  let r = 0;
  for (let i = 0; i < digits.length; i++) r = (r * 10 + digitAt(digits, i)) % 97;
  return r;
}

// "IR" → I = 18, R = 27 when the country code moves to the end for the ISO 13616 check.
const IR_AS_DIGITS = "1827";

function ibanCheckDigits(bban: string): string {
  return String(98 - mod97(`${bban}${IR_AS_DIGITS}00`)).padStart(2, "0");
}

/**
 * An Iranian IBAN (Sheba): `IR` and 24 digits, ISO 13616 mod-97 check. Accepts lower case, spaces and
 * dashes, and the 24 digits alone (forms often print the `IR` prefix beside the input box). Value: upper
 * case, no spaces.
 */
export function parseIban(input: string): IdentifierResult {
  let text = compactDigits(input).toUpperCase();
  if (/^\d{24}$/.test(text)) text = `IR${text}`;
  if (!text.startsWith("IR")) return problem("must start with IR");
  if (!/^IR\d{24}$/.test(text)) return problem("must be IR followed by 24 digits");
  if (mod97(`${text.slice(4)}${IR_AS_DIGITS}${text.slice(2, 4)}`) !== 1) return problem("check digits do not match");
  return ok(text);
}

/** The 3-digit bank code of an IBAN (characters 5–7, e.g. `017` for Bank Melli); undefined if it is not a valid IBAN. */
export function ibanBankCode(input: string): string | undefined {
  const parsed = parseIban(input);
  return parsed.ok ? parsed.value.slice(4, 7) : undefined;
}

// ---------------------------------------------------------------------------------------------------------
// Mobile number

const MOBILE = /^(?:\+98|98|0098|0)?(9\d{9})$/;

/** An Iranian mobile number in any common form (`+98 912 …`, `0098…`, `912…`). Value: `09XXXXXXXXX`. */
export function parseMobile(input: string): IdentifierResult {
  const text = normalizeDigits(input).replace(/[\s\-\u2010-\u2015().]/g, "");
  if (text === "") return problem("must be a mobile number");
  const match = MOBILE.exec(text);
  if (match === null) return problem("must be an Iranian mobile number, 09XXXXXXXXX");
  return ok(`0${match[1] ?? ""}`);
}

// ---------------------------------------------------------------------------------------------------------
// Jalali (Solar Hijri) date

export const JALALI_MIN_YEAR = 1200;
export const JALALI_MAX_YEAR = 1500;

// Years at which the 33-year leap cycle restarts (Borkowski's arithmetic for the Iranian calendar, as used
// by jalaali-js); valid for years -61 to 3177 and in agreement with the astronomical calendar there.
const CYCLE_BREAKS = [-61, 9, 38, 199, 426, 686, 756, 818, 1111, 1181, 1210, 1635, 2060, 2097, 2192, 2262, 2324, 2394, 2456, 3178] as const;

/** Whether a Jalali year has 366 days (Esfand has 30 days), e.g. 1399 and 1403. */
export function isJalaliLeapYear(year: number): boolean {
  if (!Number.isInteger(year) || year < (CYCLE_BREAKS[0] ?? 0) || year >= (CYCLE_BREAKS[CYCLE_BREAKS.length - 1] ?? 0)) {
    throw new RangeError("Jalali year out of the supported range -61..3177");
  }
  let start: number = CYCLE_BREAKS[0];
  let jump = 0;
  for (let i = 1; i < CYCLE_BREAKS.length; i++) {
    const next = CYCLE_BREAKS[i] ?? 0;
    jump = next - start;
    if (year < next) break;
    start = next;
  }
  let n = year - start;
  if (jump - n < 6) n = n - jump + Math.floor((jump + 4) / 33) * 33;
  // Position in the cycle: every fourth year is leap, counted from the cycle's start.
  return (((n + 1) % 33) - 1) % 4 === 0;
}

/** Days in a Jalali month: 31 for months 1–6, 30 for 7–11, 29 for Esfand (30 in a leap year). */
export function jalaliMonthLength(year: number, month: number): number {
  if (month <= 6) return 31;
  if (month <= 11) return 30;
  return isJalaliLeapYear(year) ? 30 : 29;
}

const JALALI_DATE = /^(\d{4})([/-])(\d{1,2})\2(\d{1,2})$/;

/**
 * A Jalali date `YYYY/MM/DD` (also `-` as the separator, single-digit month or day, Persian digits), year
 * 1200–1500. Value: `YYYY/MM/DD`, zero-padded.
 */
export function parseJalaliDate(input: string): IdentifierResult {
  const match = JALALI_DATE.exec(normalizeDigits(input));
  if (match === null) return problem("must be a Jalali date written YYYY/MM/DD");
  const year = Number(match[1]);
  const month = Number(match[3]);
  const day = Number(match[4]);
  if (year < JALALI_MIN_YEAR || year > JALALI_MAX_YEAR) return problem(`year must be between ${JALALI_MIN_YEAR} and ${JALALI_MAX_YEAR}`);
  if (month < 1 || month > 12) return problem("month must be between 1 and 12");
  if (day < 1 || day > jalaliMonthLength(year, month)) return problem("day does not exist in that month");
  return ok(`${year}/${String(month).padStart(2, "0")}/${String(day).padStart(2, "0")}`);
}

// ---------------------------------------------------------------------------------------------------------
// Kinds by name: the catalogue names a parameter's type, e.g. `"type": "national-code"`.

export const IDENTIFIER_KINDS = Object.freeze({
  "national-code": parseNationalCode,
  "legal-entity-id": parseLegalEntityId,
  "postal-code": parsePostalCode,
  iban: parseIban,
  mobile: parseMobile,
  "jalali-date": parseJalaliDate,
} satisfies Record<string, IdentifierParser>);

export type IdentifierKind = keyof typeof IDENTIFIER_KINDS;

export function isIdentifierKind(name: string): name is IdentifierKind {
  return Object.hasOwn(IDENTIFIER_KINDS, name);
}

// ---------------------------------------------------------------------------------------------------------
// Generators: deterministic, valid, and distinct for distinct seeds (within each generator's range). The
// seed is scrambled by an invertible affine map so that consecutive seeds give unrelated-looking values.

function seedOf(n: number, name: string): bigint {
  if (!Number.isSafeInteger(n)) throw new RangeError(`${name}: the seed must be a safe integer`);
  return BigInt(n);
}

const multipliers = new Map<bigint, bigint>();

function gcd(a: bigint, b: bigint): bigint {
  while (b !== 0n) [a, b] = [b, a % b];
  return a;
}

function scramble(seed: bigint, modulus: bigint): bigint {
  // Multiplying by a number coprime to the modulus is a bijection on [0, modulus); one near modulus/φ
  // spreads neighbouring seeds across the whole range.
  let a = multipliers.get(modulus);
  if (a === undefined) {
    a = (modulus * 618_033_988_749_894_848n) / 10n ** 18n;
    while (gcd(a, modulus) !== 1n) a++;
    multipliers.set(modulus, a);
  }
  const m = ((seed % modulus) + modulus) % modulus;
  return (m * a + (modulus * 271_828_182_845_904_523n) / 10n ** 18n) % modulus;
}

/** Maps an index into [0, limit - skipped.length) onto [0, limit), skipping the (sorted) `skipped` values. */
function skipValues(index: number, skipped: readonly number[]): number {
  let value = index;
  for (const s of skipped) if (s <= value) value++;
  return value;
}

// Nine equal digits always get that same digit as their check digit, i.e. an all-equal national code.
const REPEATED_NINE = Array.from({ length: 10 }, (_, d) => d * 111_111_111);

/** A valid national code, deterministic in `n`; different seeds below 999,999,990 give different codes. */
export function nationalCodeFromSeed(n: number): string {
  const index = Number(scramble(seedOf(n, "nationalCodeFromSeed"), 999_999_990n));
  const first9 = String(skipValues(index, REPEATED_NINE)).padStart(9, "0");
  return `${first9}${nationalCodeCheckDigit(first9)}`;
}

/** A valid legal-entity national id, deterministic in `n`. */
export function legalEntityIdFromSeed(n: number): string {
  // Leading digit 1 like the ids issued today; the remaining nine digits come from the seed.
  const first10 = `1${String(scramble(seedOf(n, "legalEntityIdFromSeed"), 1_000_000_000n)).padStart(9, "0")}`;
  return `${first10}${legalEntityCheckDigit(first10)}`;
}

const ROUTE_DIGITS = "13456789"; // allowed in postal-code positions 1–4
const ROUTE_LAST_DIGITS = "1346789"; // position 5
const BUILDING_DIGITS = "013456789"; // positions 6–10
// Base-8 values of the first four digits when all four are equal (0000, 1111, … in base 8).
const REPEATED_ROUTE = Array.from({ length: 8 }, (_, d) => d * 585);

/** A valid postal code, deterministic in `n`; different seeds give different codes (range ≈ 1.69·10⁹). */
export function postalCodeFromSeed(n: number): string {
  const routeCount = 8 ** 4 - REPEATED_ROUTE.length;
  const capacity = BigInt(routeCount * 7 * 9 ** 5);
  let rest = Number(scramble(seedOf(n, "postalCodeFromSeed"), capacity));
  let building = "";
  for (let i = 0; i < 5; i++) {
    building = BUILDING_DIGITS.charAt(rest % 9) + building;
    rest = Math.floor(rest / 9);
  }
  const fifth = ROUTE_LAST_DIGITS.charAt(rest % 7);
  rest = Math.floor(rest / 7);
  let route4 = skipValues(rest, REPEATED_ROUTE);
  let route = "";
  for (let i = 0; i < 4; i++) {
    route = ROUTE_DIGITS.charAt(route4 % 8) + route;
    route4 = Math.floor(route4 / 8);
  }
  return `${route}${fifth}${building}`;
}

/**
 * A valid IBAN of the given 3-digit bank code, deterministic in `n`: `IR`, check digits, the bank code,
 * `0`, and an 18-digit account number derived from the seed (different seeds give different IBANs).
 */
export function ibanFromSeed(n: number, bankCode: string): string {
  if (!/^\d{3}$/.test(bankCode)) throw new RangeError("ibanFromSeed: the bank code must be 3 digits");
  const account = String(scramble(seedOf(n, "ibanFromSeed"), 10n ** 18n)).padStart(18, "0");
  const bban = `${bankCode}0${account}`;
  return `IR${ibanCheckDigits(bban)}${bban}`;
}

/** A valid mobile number `09XXXXXXXXX`, deterministic in `n`. */
export function mobileFromSeed(n: number): string {
  return `09${String(scramble(seedOf(n, "mobileFromSeed"), 1_000_000_000n)).padStart(9, "0")}`;
}
