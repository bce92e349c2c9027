// The company register of the Deeds and Real Estate Registration Organization (SSAA), by the legal
// entity's national id (شناسه ملی). A company's postal code is one Iran Post knows (data.ts).
import { jalaliMonthLength, postalCodeFromSeed } from "../../../core/identifiers.ts";
import { addressByPostalCode } from "../data.ts";
import { found, jalali, type Lookup, notFound, rejected } from "./lookup.ts";
import { oneOf, picker } from "./pick.ts";

/** Ids beginning with this are not registered. */
export const UNKNOWN_COMPANY_PREFIX = "199";
/** Ids beginning with this are of entities whose records are restricted (not disclosed). */
export const RESTRICTED_COMPANY_PREFIX = "197";
/** Ids beginning with this are of companies that have been dissolved. */
export const DISSOLVED_COMPANY_PREFIX = "198";

const LEGAL_FORMS = ["سهامی خاص", "سهامی عام", "مسئولیت محدود", "تعاونی", "مؤسسه غیرتجاری"] as const;
const NAME_FIRST = ["پارس", "آریا", "نوین", "سپهر", "البرز", "کیمیا", "مهر", "پیشگامان", "آفتاب", "زاگرس", "خلیج فارس", "دماوند"] as const;
const NAME_SECOND = ["تجارت", "صنعت", "فناوری اطلاعات", "ساختمان", "بازرگانی", "پخش", "انرژی", "داده‌پردازی", "حمل و نقل", "غذا"] as const;

export interface Company {
  readonly name: string;
  readonly legalForm: string;
  /** ACTIVE, DISSOLVED or IN_LIQUIDATION. */
  readonly status: "ACTIVE" | "DISSOLVED" | "IN_LIQUIDATION";
  readonly registrationNumber: string;
  readonly registrationDate: string;
  readonly registrationOffice: string;
  readonly postalCode: string;
  readonly address: string;
}

export function companyByNationalId(nationalId: string): Lookup<Company> {
  if (nationalId.startsWith(UNKNOWN_COMPANY_PREFIX)) return notFound("no legal entity is registered under this national id");
  if (nationalId.startsWith(RESTRICTED_COMPANY_PREFIX))
    return rejected("ACCESS_RESTRICTED", "this legal entity's records are restricted and are not disclosed through inquiries");
  const pick = picker("ssaa", nationalId);
  const legalForm = oneOf(pick, LEGAL_FORMS);
  const prefix = legalForm === "مؤسسه غیرتجاری" ? "مؤسسه" : "شرکت";
  const status = nationalId.startsWith(DISSOLVED_COMPANY_PREFIX) ? "DISSOLVED" : pick(20) === 0 ? "IN_LIQUIDATION" : "ACTIVE";
  // A few postal codes have no address on file; the register only holds ones that do.
  let seed = pick(1_000_000_000);
  let place = addressByPostalCode(postalCodeFromSeed(seed));
  while (place === undefined) place = addressByPostalCode(postalCodeFromSeed(++seed));
  const postalCode = postalCodeFromSeed(seed);
  const year = 1340 + pick(64);
  const month = 1 + pick(12);
  return found({
    name: `${prefix} ${oneOf(pick, NAME_FIRST)} ${oneOf(pick, NAME_SECOND)} (${legalForm})`,
    legalForm,
    status,
    registrationNumber: String(1000 + pick(600_000)),
    registrationDate: jalali(year, month, 1 + pick(jalaliMonthLength(year, month))),
    registrationOffice: place.city,
    postalCode,
    address: `${place.province}، ${place.city}، ${place.street}، پلاک ${place.number}`,
  });
}
