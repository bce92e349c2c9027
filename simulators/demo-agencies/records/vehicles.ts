// Vehicles, from the traffic police (fines, driving licences, ownership) and the Central Insurance's
// register of third-party policies. A vehicle is named by its plate or its VIN.
import { jalaliMonthLength, normalizeDigits } from "../../../core/identifiers.ts";
import { found, jalali, type Lookup, notFound, rejected } from "./lookup.ts";
import { lookupPerson } from "./people.ts";
import { digits, oneOf, type Pick, picker } from "./pick.ts";

// ---------------------------------------------------------------------------------------------------------
// Plates and VINs

/** Letters of civilian plates. */
const CIVILIAN_LETTERS = ["ب", "ج", "د", "س", "ص", "ط", "ق", "ل", "م", "ن", "و", "ه", "ی", "ع", "ت", "الف", "ک", "گ", "ژ"] as const;
/** Letters of police (پ), IRGC (ث), army (ش) and defence ministry (ز) plates: their vehicles are not disclosed. */
export const RESTRICTED_PLATE_LETTERS = ["پ", "ث", "ش", "ز"] as const;
const PLATE = /^([1-9]\d)(الف|[بپتثجدزسشصطعقکگلمنوهیژ]|D|S)([1-9]\d{2})([1-9]\d)$/u;

/** An Iranian plate: two digits, a letter, three digits and the two-digit province code. */
export interface Plate {
  readonly twoDigits: string;
  readonly letter: string;
  readonly threeDigits: string;
  readonly provinceCode: string;
}

/** `12ب345-67`: the form the agencies exchange (two digits, letter, three digits, dash, province code). */
export function plateText(plate: Plate): string {
  return `${plate.twoDigits}${plate.letter}${plate.threeDigits}-${plate.provinceCode}`;
}

/**
 * Reads a plate written as people write it: `12ب345-67`, `12 ب 345 ایران 67`, with Persian digits or
 * Arabic letter forms (ي, ك). The reason never repeats the input.
 */
export function parsePlate(input: string): { ok: true; value: Plate } | { ok: false; problem: string } {
  const text = normalizeDigits(input)
    .replace(/ي/g, "ی")
    .replace(/ك/g, "ک")
    .replace(/ایران/g, "")
    .replace(/[\s\-|_\u200c]/g, "");
  const match = PLATE.exec(text);
  if (match === null) return { ok: false, problem: "must be a plate: two digits, a letter, three digits and a province code" };
  const [, twoDigits = "", letter = "", threeDigits = "", provinceCode = ""] = match;
  return { ok: true, value: { twoDigits, letter, threeDigits, provinceCode } };
}

/** A VIN: 17 letters and digits, without I, O or Q. */
export function parseVin(input: string): { ok: true; value: string } | { ok: false; problem: string } {
  const text = normalizeDigits(input).toUpperCase().replace(/[\s-]/g, "");
  if (!/^[A-HJ-NPR-Z0-9]{17}$/.test(text)) return { ok: false, problem: "must be 17 letters and digits (no I, O or Q)" };
  return { ok: true, value: text };
}

export type Vehicle = { readonly plate: Plate } | { readonly vin: string };

/** Plates whose three-digit part is this are not registered to any vehicle. */
export const UNREGISTERED_PLATE_DIGITS = "999";
/** VINs ending with this are not registered. */
export const UNREGISTERED_VIN_SUFFIX = "000000";
/** VINs beginning with this belong to the armed forces: not disclosed. */
export const RESTRICTED_VIN_PREFIX = "ZZZ";

function vehicleKey(vehicle: Vehicle): string {
  return "plate" in vehicle ? plateText(vehicle.plate) : vehicle.vin;
}

/** Whether the vehicle is registered and may be disclosed; undefined when it may. */
function vehicleRefusal(vehicle: Vehicle): Lookup<never> | undefined {
  if ("plate" in vehicle) {
    if ((RESTRICTED_PLATE_LETTERS as readonly string[]).includes(vehicle.plate.letter))
      return rejected("RESTRICTED_VEHICLE", "police and military vehicles are not disclosed through inquiries");
    if (vehicle.plate.threeDigits === UNREGISTERED_PLATE_DIGITS) return notFound("no vehicle is registered under this plate");
    return undefined;
  }
  if (vehicle.vin.startsWith(RESTRICTED_VIN_PREFIX))
    return rejected("RESTRICTED_VEHICLE", "police and military vehicles are not disclosed through inquiries");
  if (vehicle.vin.endsWith(UNREGISTERED_VIN_SUFFIX)) return notFound("no vehicle is registered under this VIN");
  return undefined;
}

function dateIn(pick: Pick, fromYear: number, toYear: number): string {
  const year = fromYear + pick(toYear - fromYear + 1);
  const month = 1 + pick(12);
  return jalali(year, month, 1 + pick(jalaliMonthLength(year, month)));
}

// ---------------------------------------------------------------------------------------------------------
// Traffic fines

const OFFENCES = [
  { code: "2002", description: "عبور از چراغ قرمز", amount: 10_000_000 },
  { code: "2003", description: "سرعت غیرمجاز (بیش از ۳۰ تا ۵۰ کیلومتر)", amount: 6_000_000 },
  { code: "2030", description: "سرعت غیرمجاز (تا ۳۰ کیلومتر)", amount: 1_500_000 },
  { code: "2056", description: "توقف در محل ممنوع", amount: 500_000 },
  { code: "2065", description: "عدم استفاده از کمربند ایمنی", amount: 1_000_000 },
  { code: "2077", description: "استفاده از تلفن همراه هنگام رانندگی", amount: 1_000_000 },
  { code: "2096", description: "تردد در محدوده طرح ترافیک بدون مجوز", amount: 1_000_000 },
  { code: "2127", description: "سبقت غیرمجاز", amount: 4_000_000 },
] as const;

const CITIES = ["تهران", "مشهد", "اصفهان", "شیراز", "تبریز", "کرج", "قم", "اهواز", "رشت", "یزد"] as const;

export interface TrafficFine {
  readonly serialNumber: string;
  readonly offenceCode: string;
  readonly description: string;
  readonly amount: number;
  /** Jalali date and time, `YYYY/MM/DD HH:MM`. */
  readonly occurredAt: string;
  readonly city: string;
  readonly billId: string;
  readonly paymentId: string;
}

export interface TrafficFines {
  readonly totalAmount: number;
  readonly fines: readonly TrafficFine[];
}

export function trafficFines(vehicle: Vehicle): Lookup<TrafficFines> {
  const refusal = vehicleRefusal(vehicle);
  if (refusal !== undefined) return refusal;
  const pick = picker("rahvar-fines", vehicleKey(vehicle));
  const fines: TrafficFine[] = [];
  for (let i = pick(7); i > 0; i--) {
    const offence = oneOf(pick, OFFENCES);
    fines.push({
      serialNumber: digits(pick, 12),
      offenceCode: offence.code,
      description: offence.description,
      amount: offence.amount,
      occurredAt: `${dateIn(pick, 1403, 1404)} ${String(pick(24)).padStart(2, "0")}:${String(pick(60)).padStart(2, "0")}`,
      city: oneOf(pick, CITIES),
      billId: digits(pick, 13),
      paymentId: digits(pick, 10),
    });
  }
  return found({ totalAmount: fines.reduce((sum, fine) => sum + fine.amount, 0), fines });
}

// ---------------------------------------------------------------------------------------------------------
// Driving licences

export const LICENCE_STATUSES = ["VALID", "EXPIRED", "SUSPENDED", "REVOKED"] as const;
const LICENCE_CLASSES = ["پایه یکم", "پایه دوم", "پایه سوم", "موتورسیکلت"] as const;

export interface DrivingLicence {
  readonly licenceNumber: string;
  readonly status: (typeof LICENCE_STATUSES)[number];
  readonly licenceClass: string;
  readonly issuedOn: string;
  readonly expiresOn: string;
  readonly negativePoints: number;
}

/** The licence number of a person, or undefined for the one in eight who has no licence. */
export function licenceNumberFor(nationalCode: string): string | undefined {
  const pick = picker("rahvar-licence", nationalCode);
  if (pick(8) === 0) return undefined;
  return `${1 + pick(9)}${digits(pick, 9)}`;
}

export function drivingLicence(nationalCode: string, licenceNumber: string): Lookup<DrivingLicence> {
  const person = lookupPerson(nationalCode);
  if (person.kind !== "found") return person;
  if (licenceNumberFor(nationalCode) !== licenceNumber)
    return notFound("no driving licence with this number is registered to this national code");
  const pick = picker("rahvar-licence-details", nationalCode);
  const roll = pick(100);
  const status = roll < 72 ? "VALID" : roll < 87 ? "EXPIRED" : roll < 96 ? "SUSPENDED" : "REVOKED";
  const issuedYear = status === "EXPIRED" ? 1380 + pick(14) : 1395 + pick(9);
  const month = 1 + pick(12);
  const day = 1 + pick(29);
  return found({
    licenceNumber,
    status,
    licenceClass: oneOf(pick, LICENCE_CLASSES),
    issuedOn: jalali(issuedYear, month, day),
    expiresOn: jalali(issuedYear + 10, month, day),
    negativePoints: status === "SUSPENDED" ? 30 + pick(10) : pick(25),
  });
}

// ---------------------------------------------------------------------------------------------------------
// Vehicle ownership

const MODELS = [
  "پژو ۲۰۶",
  "پژو ۴۰۵",
  "سمند",
  "پراید ۱۳۱",
  "دنا پلاس",
  "تیبا",
  "کوییک",
  "شاهین",
  "ساینا",
  "رانا",
  "هایما S7",
  "تارا",
] as const;
const COLOURS = ["سفید", "مشکی", "نقره‌ای", "خاکستری", "آبی", "قرمز"] as const;
const VIN_CHARS = "ABCDEFGHJKLMNPRSTUVWXYZ0123456789";

export interface OwnedVehicle {
  readonly plate: string;
  readonly model: string;
  readonly year: number;
  readonly colour: string;
  readonly vin: string;
}

export interface VehicleOwnership {
  readonly vehicles: readonly OwnedVehicle[];
  /** When a plate was asked about: whether it is one of the person's vehicles. */
  readonly isOwner: boolean | null;
}

function drawnPlate(pick: Pick): Plate {
  return {
    twoDigits: String(10 + pick(90)),
    letter: oneOf(pick, CIVILIAN_LETTERS),
    threeDigits: String(100 + pick(899)),
    provinceCode: String(10 + pick(90)),
  };
}

/** The vehicles registered to a person (zero to three). */
export function vehiclesOf(nationalCode: string): readonly OwnedVehicle[] {
  const pick = picker("rahvar-vehicles", nationalCode);
  const vehicles: OwnedVehicle[] = [];
  for (let i = pick(4); i > 0; i--) {
    // Iran Khodro and Saipa VINs begin with NAA and NAS.
    let vin = oneOf(pick, ["NAAM", "NAAN", "NASB", "NAPS"]);
    while (vin.length < 17) vin += VIN_CHARS.charAt(pick(VIN_CHARS.length));
    vehicles.push({
      plate: plateText(drawnPlate(pick)),
      model: oneOf(pick, MODELS),
      year: 1385 + pick(19),
      colour: oneOf(pick, COLOURS),
      vin,
    });
  }
  return vehicles;
}

export function vehicleOwnership(nationalCode: string, plate: Plate | undefined): Lookup<VehicleOwnership> {
  const person = lookupPerson(nationalCode);
  if (person.kind !== "found") return person;
  const vehicles = vehiclesOf(nationalCode);
  return found({ vehicles, isOwner: plate === undefined ? null : vehicles.some((v) => v.plate === plateText(plate)) });
}

// ---------------------------------------------------------------------------------------------------------
// Third-party insurance (Central Insurance)

const INSURERS = [
  "بیمه ایران",
  "بیمه آسیا",
  "بیمه البرز",
  "بیمه دانا",
  "بیمه پارسیان",
  "بیمه ملت",
  "بیمه سامان",
  "بیمه کوثر",
  "بیمه معلم",
  "بیمه رازی",
] as const;

export const POLICY_STATUSES = ["VALID", "EXPIRED", "NONE"] as const;

export interface PolicyClaim {
  readonly date: string;
  /** `PROPERTY` (مالی) or `BODILY` (جانی). */
  readonly kind: "PROPERTY" | "BODILY";
  readonly amount: number;
}

export interface ThirdPartyPolicy {
  readonly status: (typeof POLICY_STATUSES)[number];
  readonly insurer: string | null;
  readonly policyNumber: string | null;
  readonly startsOn: string | null;
  readonly endsOn: string | null;
  /** Years without a claim, which set the no-claim discount. */
  readonly noClaimYears: number;
  readonly claims: readonly PolicyClaim[];
}

export function thirdPartyPolicy(vehicle: Vehicle): Lookup<ThirdPartyPolicy> {
  const refusal = vehicleRefusal(vehicle);
  if (refusal !== undefined) return refusal;
  const pick = picker("centinsur", vehicleKey(vehicle));
  const roll = pick(100);
  if (roll >= 92)
    return found({ status: "NONE", insurer: null, policyNumber: null, startsOn: null, endsOn: null, noClaimYears: 0, claims: [] });
  const status = roll < 75 ? "VALID" : "EXPIRED";
  // Policies run one year; `AS_OF` (1404/07/01) sits inside the valid ones.
  const startYear = status === "VALID" ? 1403 + pick(2) : 1400 + pick(3);
  const month = status === "VALID" && startYear === 1404 ? 1 + pick(6) : 1 + pick(12);
  const startMonth = status === "VALID" && startYear === 1403 ? Math.max(month, 8) : month;
  const day = 1 + pick(29);
  const claims: PolicyClaim[] = [];
  for (let i = pick(3); i > 0; i--)
    claims.push({ date: dateIn(pick, 1398, 1403), kind: pick(5) === 0 ? "BODILY" : "PROPERTY", amount: (20 + pick(2000)) * 1_000_000 });
  return found({
    status,
    insurer: oneOf(pick, INSURERS),
    policyNumber: `${startYear}/${digits(pick, 3)}/${digits(pick, 8)}`,
    startsOn: jalali(startYear, startMonth, day),
    endsOn: jalali(startYear + 1, startMonth, day),
    noClaimYears: claims.length > 0 ? pick(3) : pick(15),
    claims,
  });
}
