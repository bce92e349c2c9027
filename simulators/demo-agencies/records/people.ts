// Answers about people, from the agencies that keep them: the civil registry (alive status), the Central
// Bank's Shahab id, the conscription organisation, the passport police, the welfare database and social
// security. Every one starts from the civil registry's person (data.ts), so names, sex and birth dates
// agree across agencies.
import { jalaliMonthLength } from "../../../core/identifiers.ts";
import { DECEASED_PERSON_PREFIX, type Person, personByNationalCode } from "../data.ts";
import { AS_OF, found, jalali, type Lookup, notFound, rejected } from "./lookup.ts";
import { digits, oneOf, type Pick, picker } from "./pick.ts";

/** National codes with this prefix belong to people whose records no agency discloses (rejected). */
export const RESTRICTED_PERSON_PREFIX = "997";

/** The person behind a national code, or why there is no answer: unknown (999…) or restricted (997…). */
export function lookupPerson(nationalCode: string): Lookup<Person> {
  if (nationalCode.startsWith(RESTRICTED_PERSON_PREFIX))
    return rejected("RESTRICTED", "this person's records are restricted and are not disclosed through inquiries");
  const person = personByNationalCode(nationalCode);
  return person === undefined ? notFound("no person is registered under this national code") : found(person);
}

function birthYear(person: Person): number {
  return Number(person.birthDate.slice(0, 4));
}

function dateIn(pick: Pick, fromYear: number, toYear: number): string {
  const year = fromYear + pick(toYear - fromYear + 1);
  const month = 1 + pick(12);
  return jalali(year, month, 1 + pick(jalaliMonthLength(year, month)));
}

// ---------------------------------------------------------------------------------------------------------
// NOCR: alive status

export interface AliveStatus {
  readonly alive: boolean;
  /** Jalali, for people who have died. */
  readonly deathDate: string | null;
}

export function aliveStatus(nationalCode: string): Lookup<AliveStatus> {
  const person = lookupPerson(nationalCode);
  if (person.kind !== "found") return person;
  if (!nationalCode.startsWith(DECEASED_PERSON_PREFIX)) return found({ alive: true, deathDate: null });
  const pick = picker("nocr-death", nationalCode);
  return found({ alive: false, deathDate: dateIn(pick, Math.min(1403, birthYear(person.record) + 20), 1403) });
}

// ---------------------------------------------------------------------------------------------------------
// CBI: Shahab id (شناسه شهاب), the banking system's id of a person

export function shahabCode(nationalCode: string, birthDate: string): Lookup<{ readonly shahabCode: string }> {
  const person = lookupPerson(nationalCode);
  if (person.kind !== "found") return person;
  if (person.record.birthDate !== birthDate)
    return rejected("BIRTH_DATE_MISMATCH", "the birth date does not match the civil registry's record for this national code");
  // Individuals' Shahab ids begin with 1 and carry the national code; the last five digits are drawn.
  return found({ shahabCode: `1${nationalCode}${digits(picker("cbi-shahab", nationalCode), 5)}` });
}

// ---------------------------------------------------------------------------------------------------------
// Conscription organisation: military service status (men only)

export const MILITARY_STATUSES = {
  COMPLETED: "پایان خدمت",
  EXEMPT_PERMANENT: "معافیت دائم",
  EXEMPT_TEMPORARY: "معافیت موقت",
  SERVING: "در حال خدمت",
  ABSENTEE: "غایب",
  LIABLE: "مشمول",
  NOT_APPLICABLE: "غیر مشمول",
} as const;
export type MilitaryStatus = keyof typeof MILITARY_STATUSES;

export interface MilitaryService {
  readonly status: MilitaryStatus;
  readonly statusFa: string;
  /** The card's number (پایان خدمت or permanent exemption). */
  readonly cardNumber: string | null;
  /** End of a temporary exemption or of service. */
  readonly validUntil: string | null;
}

export function militaryService(nationalCode: string): Lookup<MilitaryService> {
  const person = lookupPerson(nationalCode);
  if (person.kind !== "found") return person;
  const answer = (status: MilitaryStatus, cardNumber: string | null, validUntil: string | null): Lookup<MilitaryService> =>
    found({ status, statusFa: MILITARY_STATUSES[status], cardNumber, validUntil });
  if (person.record.female) return answer("NOT_APPLICABLE", null, null);
  const pick = picker("nezam", nationalCode);
  const roll = pick(100);
  const young = birthYear(person.record) >= 1375;
  const card = `${1 + pick(9)}${digits(pick, 9)}`;
  if (roll < 20) return answer("EXEMPT_PERMANENT", card, null);
  if (young && roll < 30) return answer("EXEMPT_TEMPORARY", null, dateIn(pick, 1405, 1406));
  if (young && roll < 38) return answer("SERVING", null, dateIn(pick, 1405, 1405));
  if (young && roll < 46) return answer("LIABLE", null, null);
  if (roll >= 95) return answer("ABSENTEE", null, null);
  return answer("COMPLETED", card, null);
}

// ---------------------------------------------------------------------------------------------------------
// Passport police

export type PassportStatus = "valid" | "expired" | "revoked" | "not_issued";

export interface Passport {
  readonly status: PassportStatus;
  readonly passportNumber: string | null;
  readonly issuedOn: string | null;
  readonly expiresOn: string | null;
}

export function passport(nationalCode: string): Lookup<Passport> {
  const person = lookupPerson(nationalCode);
  if (person.kind !== "found") return person;
  const pick = picker("passport", nationalCode);
  const roll = pick(100);
  if (roll < 20) return found({ status: "not_issued", passportNumber: null, issuedOn: null, expiresOn: null });
  const number = `${oneOf(pick, ["A", "B", "E", "H", "K", "P", "U", "X"])}${digits(pick, 8)}`;
  // Ordinary passports are valid for seven years; `AS_OF` decides which are still valid.
  const issuedYear = roll < 75 ? 1398 + pick(6) : 1385 + pick(12);
  const month = 1 + pick(12);
  const day = 1 + pick(29);
  const issuedOn = jalali(issuedYear, month, day);
  const expiresOn = jalali(issuedYear + 7, month, day);
  const dead = nationalCode.startsWith(DECEASED_PERSON_PREFIX);
  const status: PassportStatus = dead || roll >= 95 ? "revoked" : expiresOn < AS_OF ? "expired" : "valid";
  return found({ status, passportNumber: number, issuedOn, expiresOn });
}

// ---------------------------------------------------------------------------------------------------------
// Welfare database: subsidy decile

export interface HouseholdDecile {
  readonly decile: number;
  readonly householdId: string;
  readonly householdSize: number;
  readonly headOfHousehold: boolean;
  /** Households in the top three deciles no longer receive the cash subsidy. */
  readonly subsidyEligible: boolean;
  readonly assessedOn: string;
}

export function householdDecile(nationalCode: string): Lookup<HouseholdDecile> {
  const person = lookupPerson(nationalCode);
  if (person.kind !== "found") return person;
  const pick = picker("welfare", nationalCode);
  const decile = 1 + pick(10);
  return found({
    decile,
    householdId: `${1 + pick(9)}${digits(pick, 11)}`,
    householdSize: 1 + pick(7),
    headOfHousehold: pick(3) === 0,
    subsidyEligible: decile <= 7,
    assessedOn: jalali(1404, 1 + pick(6), 1 + pick(30)),
  });
}

// ---------------------------------------------------------------------------------------------------------
// Social security: insurance history (needs the citizen's consent code) and insurance status

/** The one-time consent code the citizen received by SMS for this national code (fixed, for the demo). */
export function consentCodeFor(nationalCode: string): string {
  return digits(picker("sso-consent", nationalCode), 6);
}

const WORKSHOPS = [
  "شرکت صنایع غذایی بهار",
  "شرکت ساختمانی آبادگران",
  "فروشگاه زنجیره‌ای کوروش",
  "شرکت نرم‌افزاری پارس داده",
  "کارخانه نساجی یزدباف",
  "شرکت حمل و نقل راه آهن",
  "بیمارستان خصوصی مهر",
  "شرکت پخش دارویی سینا",
  "شرکت خودروسازی ایران‌خودرو",
  "شرکت فولاد مبارکه",
  "مجتمع آموزشی فرهنگ",
  "شرکت بازرگانی ستاره جنوب",
] as const;

export interface InsuranceRecord {
  readonly workshopCode: string;
  readonly workshopName: string;
  readonly fromDate: string;
  readonly toDate: string;
  readonly days: number;
  /** Monthly insured wage in rials. */
  readonly monthlyWage: number;
}

export interface InsuranceHistory {
  readonly insuranceNumber: string;
  readonly totalDays: number;
  readonly records: readonly InsuranceRecord[];
}

function insuranceNumber(nationalCode: string): string {
  return digits(picker("sso-number", nationalCode), 10);
}

export function insuranceHistory(nationalCode: string, consentCode: string | undefined): Lookup<InsuranceHistory> {
  if (consentCode === undefined || consentCode === "")
    return rejected("CONSENT_REQUIRED", "the citizen's consent code is required for insurance history");
  const person = lookupPerson(nationalCode);
  if (person.kind !== "found") return person;
  if (consentCode !== consentCodeFor(nationalCode))
    return rejected("CONSENT_INVALID", "the consent code is not valid for this citizen (wrong or expired)");
  const pick = picker("sso-history", nationalCode);
  const count = pick(5);
  const records: InsuranceRecord[] = [];
  let year = Math.max(1380, birthYear(person.record) + 18);
  for (let i = 0; i < count && year < 1404; i++) {
    const years = 1 + pick(6);
    const toYear = Math.min(1404, year + years);
    const days = (toYear - year) * 360 + pick(300);
    records.push({
      workshopCode: digits(pick, 10),
      workshopName: oneOf(pick, WORKSHOPS),
      fromDate: jalali(year, 1 + pick(6), 1 + pick(28)),
      toDate: jalali(toYear, 7 + pick(5), 1 + pick(28)),
      days,
      monthlyWage: (100 + pick(1900)) * 1_000_000,
    });
    year = toYear + 1;
  }
  return found({ insuranceNumber: insuranceNumber(nationalCode), totalDays: records.reduce((sum, r) => sum + r.days, 0), records });
}

export const INSURANCE_TYPES = ["اجباری", "مشاغل آزاد", "اختیاری", "بازنشسته"] as const;

export interface InsuranceStatus {
  readonly insured: boolean;
  readonly insuranceNumber: string;
  readonly insuranceType: string | null;
  /** The last month with a paid contribution, `YYYY/MM`. */
  readonly lastPaidMonth: string | null;
}

export function insuranceStatus(nationalCode: string): Lookup<InsuranceStatus> {
  const person = lookupPerson(nationalCode);
  if (person.kind !== "found") return person;
  const pick = picker("sso-status", nationalCode);
  const insured = !nationalCode.startsWith(DECEASED_PERSON_PREFIX) && pick(100) < 75;
  return found({
    insured,
    insuranceNumber: insuranceNumber(nationalCode),
    insuranceType: insured ? oneOf(pick, INSURANCE_TYPES) : null,
    lastPaidMonth: insured ? `1404/0${1 + pick(6)}` : null,
  });
}
