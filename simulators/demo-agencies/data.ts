// The demo agencies' "records": every answer is derived from the identifier asked about (a SHA-256 of it),
// so the same input always gives the same person, address or account, on every machine, with no database.
// The few rules that decide *whether* a record exists are simple prefixes, documented in README.md, so
// that demos and tests can ask for each kind of answer on purpose.
import { jalaliMonthLength } from "../../core/identifiers.ts";
import { oneOf, picker } from "./records/pick.ts";

// ---------------------------------------------------------------------------------------------------------
// Civil registry (NOCR)

export const MALE_NAMES = [
  "محمد",
  "علی",
  "حسین",
  "رضا",
  "مهدی",
  "امیر",
  "حسن",
  "سعید",
  "مجید",
  "احمد",
  "محسن",
  "حمید",
  "مصطفی",
  "جواد",
  "علیرضا",
  "امیرحسین",
  "محمدرضا",
  "سجاد",
  "مرتضی",
  "بهروز",
  "فرهاد",
  "کامران",
  "داریوش",
  "بابک",
  "پرویز",
  "کیوان",
  "آرش",
  "سیاوش",
  "مازیار",
  "پویا",
  "ابوالفضل",
  "عباس",
  "هادی",
  "ناصر",
  "کاوه",
  "بهرام",
  "اکبر",
  "یوسف",
  "ایمان",
  "میلاد",
] as const;

export const FEMALE_NAMES = [
  "فاطمه",
  "زهرا",
  "مریم",
  "زینب",
  "معصومه",
  "سارا",
  "نرگس",
  "لیلا",
  "مهسا",
  "الهام",
  "سمیرا",
  "مینا",
  "شیرین",
  "نازنین",
  "پریسا",
  "نیلوفر",
  "آزاده",
  "فرشته",
  "طاهره",
  "سمانه",
  "ریحانه",
  "هانیه",
  "کوثر",
  "یگانه",
  "ستاره",
  "مهناز",
  "رویا",
  "شهره",
  "پروین",
  "گلناز",
  "محدثه",
  "الناز",
  "بهاره",
  "ترانه",
] as const;

export const FAMILY_NAMES = [
  "محمدی",
  "حسینی",
  "احمدی",
  "رضایی",
  "موسوی",
  "کریمی",
  "جعفری",
  "صادقی",
  "رحیمی",
  "هاشمی",
  "قاسمی",
  "کاظمی",
  "حیدری",
  "نوری",
  "عباسی",
  "ابراهیمی",
  "سلطانی",
  "زارعی",
  "مرادی",
  "اکبری",
  "کرمانی",
  "تهرانی",
  "شیرازی",
  "اصفهانی",
  "تبریزی",
  "یزدانی",
  "طاهری",
  "فراهانی",
  "نجفی",
  "جلالی",
  "شریفی",
  "امینی",
  "بهرامی",
  "خسروی",
  "میرزایی",
  "پورمحمدی",
  "قربانی",
  "سلیمانی",
  "مختاری",
  "فاضلی",
  "نیک‌نام",
  "کیانی",
  "افشار",
  "رستمی",
  "صفوی",
  "ملکی",
  "یوسفی",
  "عزیزی",
  "طالبی",
  "منصوری",
] as const;

export interface Person {
  readonly female: boolean;
  readonly firstName: string;
  readonly lastName: string;
  readonly fatherName: string;
  /** Jalali, `YYYY/MM/DD`. */
  readonly birthDate: string;
  readonly alive: boolean;
}

/** National codes with this prefix have no record at the registry. */
export const UNKNOWN_PERSON_PREFIX = "999";
/** National codes with this prefix belong to people who have died. */
export const DECEASED_PERSON_PREFIX = "998";

/** The person registered under a (valid, normalised) national code, or undefined if there is none. */
export function personByNationalCode(nationalCode: string): Person | undefined {
  if (nationalCode.startsWith(UNKNOWN_PERSON_PREFIX)) return undefined;
  const pick = picker("nocr", nationalCode);
  const female = pick(2) === 1;
  const year = 1320 + pick(66); // 1320–1385
  const month = 1 + pick(12);
  const day = 1 + pick(jalaliMonthLength(year, month));
  return {
    female,
    firstName: oneOf(pick, female ? FEMALE_NAMES : MALE_NAMES),
    lastName: oneOf(pick, FAMILY_NAMES),
    fatherName: oneOf(pick, MALE_NAMES),
    birthDate: `${year}/${String(month).padStart(2, "0")}/${String(day).padStart(2, "0")}`,
    alive: !nationalCode.startsWith(DECEASED_PERSON_PREFIX),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Iran Post

interface Place {
  readonly province: string;
  readonly city: string;
}

// Provincial capitals by the first two digits of the postal code. Plausible, not the official allocation.
const PLACES_BY_PREFIX: ReadonlyMap<string, Place> = new Map([
  ["31", { province: "البرز", city: "کرج" }],
  ["34", { province: "قزوین", city: "قزوین" }],
  ["35", { province: "سمنان", city: "سمنان" }],
  ["37", { province: "قم", city: "قم" }],
  ["38", { province: "مرکزی", city: "اراک" }],
  ["41", { province: "گیلان", city: "رشت" }],
  ["45", { province: "زنجان", city: "زنجان" }],
  ["48", { province: "مازندران", city: "ساری" }],
  ["49", { province: "گلستان", city: "گرگان" }],
  ["51", { province: "آذربایجان شرقی", city: "تبریز" }],
  ["56", { province: "اردبیل", city: "اردبیل" }],
  ["57", { province: "آذربایجان غربی", city: "ارومیه" }],
  ["61", { province: "خوزستان", city: "اهواز" }],
  ["65", { province: "همدان", city: "همدان" }],
  ["66", { province: "کردستان", city: "سنندج" }],
  ["67", { province: "کرمانشاه", city: "کرمانشاه" }],
  ["68", { province: "لرستان", city: "خرم‌آباد" }],
  ["69", { province: "ایلام", city: "ایلام" }],
  ["71", { province: "فارس", city: "شیراز" }],
  ["75", { province: "بوشهر", city: "بوشهر" }],
  ["76", { province: "کرمان", city: "کرمان" }],
  ["79", { province: "هرمزگان", city: "بندرعباس" }],
  ["81", { province: "اصفهان", city: "اصفهان" }],
  ["88", { province: "چهارمحال و بختیاری", city: "شهرکرد" }],
  ["89", { province: "یزد", city: "یزد" }],
  ["91", { province: "خراسان رضوی", city: "مشهد" }],
  ["94", { province: "خراسان شمالی", city: "بجنورد" }],
  ["97", { province: "خراسان جنوبی", city: "بیرجند" }],
  ["98", { province: "سیستان و بلوچستان", city: "زاهدان" }],
]);

// Otherwise by the first digit (the postal region).
const PLACES_BY_REGION: ReadonlyMap<string, Place> = new Map([
  ["1", { province: "تهران", city: "تهران" }],
  ["3", { province: "البرز", city: "کرج" }],
  ["4", { province: "مازندران", city: "ساری" }],
  ["5", { province: "آذربایجان شرقی", city: "تبریز" }],
  ["6", { province: "خوزستان", city: "اهواز" }],
  ["7", { province: "فارس", city: "شیراز" }],
  ["8", { province: "اصفهان", city: "اصفهان" }],
  ["9", { province: "خراسان رضوی", city: "مشهد" }],
]);

const STREETS = [
  "خیابان امام خمینی",
  "خیابان آزادی",
  "خیابان انقلاب",
  "خیابان فردوسی",
  "خیابان حافظ",
  "خیابان سعدی",
  "خیابان طالقانی",
  "خیابان شریعتی",
  "خیابان مطهری",
  "خیابان بهشتی",
  "بلوار کشاورز",
  "بلوار معلم",
  "بلوار پاسداران",
  "خیابان ولیعصر",
  "خیابان امام رضا",
  "خیابان باهنر",
  "خیابان رجایی",
  "خیابان بهار",
  "بلوار جمهوری",
  "خیابان نواب",
] as const;

const ALLEYS = [
  "کوچه یاس",
  "کوچه نسترن",
  "کوچه لاله",
  "کوچه اقاقیا",
  "کوچه ارغوان",
  "کوچه شقایق",
  "کوچه بنفشه",
  "کوچه مریم",
  "کوچه نرگس",
  "کوچه سرو",
  "کوچه چنار",
  "کوچه گلستان",
  "کوچه دوم",
  "کوچه سوم",
  "کوچه پنجم",
  "بن‌بست مهر",
  "بن‌بست بهار",
] as const;

export interface Address {
  readonly province: string;
  readonly city: string;
  readonly street: string;
  /** Building number (پلاک). */
  readonly number: number;
  /** 0 is the ground floor. */
  readonly floor: number;
  readonly unit: number;
}

/** Postal codes whose building part (the last five digits) begins with this have no address on file. */
export const UNKNOWN_BUILDING_PREFIX = "00";

/** The address of a (valid, normalised) postal code, or undefined if there is none. */
export function addressByPostalCode(postalCode: string): Address | undefined {
  if (postalCode.slice(5).startsWith(UNKNOWN_BUILDING_PREFIX)) return undefined;
  const place = PLACES_BY_PREFIX.get(postalCode.slice(0, 2)) ?? PLACES_BY_REGION.get(postalCode.slice(0, 1));
  if (place === undefined) return undefined;
  const pick = picker("post", postalCode);
  const floor = pick(8);
  return {
    province: place.province,
    city: place.city,
    street: `${oneOf(pick, STREETS)}، ${oneOf(pick, ALLEYS)}`,
    number: 1 + pick(250),
    floor,
    unit: floor * 2 + 1 + pick(2),
  };
}

// ---------------------------------------------------------------------------------------------------------
// Central Bank (CBI)

export interface Bank {
  /** Three-digit code, as in characters 5–7 of the IBAN. */
  readonly code: string;
  readonly name: string;
  readonly englishName: string;
  /** Whether account owners at this bank are disclosed through the IBAN-owner inquiry. */
  readonly discloses: boolean;
}

const BANK_LIST: readonly Bank[] = [
  { code: "010", name: "بانک مرکزی جمهوری اسلامی ایران", englishName: "Central Bank of Iran", discloses: false },
  { code: "011", name: "بانک صنعت و معدن", englishName: "Bank of Industry and Mine", discloses: true },
  { code: "012", name: "بانک ملت", englishName: "Bank Mellat", discloses: true },
  { code: "013", name: "بانک رفاه کارگران", englishName: "Refah Bank", discloses: true },
  { code: "014", name: "بانک مسکن", englishName: "Bank Maskan", discloses: true },
  { code: "015", name: "بانک سپه", englishName: "Bank Sepah", discloses: true },
  { code: "016", name: "بانک کشاورزی", englishName: "Bank Keshavarzi", discloses: true },
  { code: "017", name: "بانک ملی ایران", englishName: "Bank Melli Iran", discloses: true },
  { code: "018", name: "بانک تجارت", englishName: "Tejarat Bank", discloses: true },
  { code: "019", name: "بانک صادرات ایران", englishName: "Bank Saderat Iran", discloses: true },
  { code: "020", name: "بانک توسعه صادرات ایران", englishName: "Export Development Bank of Iran", discloses: true },
  { code: "021", name: "پست بانک ایران", englishName: "Post Bank of Iran", discloses: true },
  { code: "022", name: "بانک توسعه تعاون", englishName: "Tose'e Ta'avon Bank", discloses: true },
  { code: "053", name: "بانک کارآفرین", englishName: "Karafarin Bank", discloses: true },
  { code: "054", name: "بانک پارسیان", englishName: "Parsian Bank", discloses: true },
  { code: "055", name: "بانک اقتصاد نوین", englishName: "EN Bank (Eghtesad Novin)", discloses: true },
  { code: "056", name: "بانک سامان", englishName: "Saman Bank", discloses: true },
  { code: "057", name: "بانک پاسارگاد", englishName: "Bank Pasargad", discloses: true },
  { code: "058", name: "بانک سرمایه", englishName: "Sarmayeh Bank", discloses: true },
  { code: "059", name: "بانک سینا", englishName: "Sina Bank", discloses: true },
  { code: "060", name: "بانک قرض‌الحسنه مهر ایران", englishName: "Mehr Iran Bank", discloses: true },
  { code: "061", name: "بانک شهر", englishName: "City Bank (Shahr)", discloses: true },
  { code: "062", name: "بانک آینده", englishName: "Ayandeh Bank", discloses: true },
  { code: "064", name: "بانک گردشگری", englishName: "Tourism Bank", discloses: true },
  { code: "066", name: "بانک دی", englishName: "Day Bank", discloses: true },
  { code: "069", name: "بانک ایران زمین", englishName: "Iran Zamin Bank", discloses: true },
  { code: "070", name: "بانک قرض‌الحسنه رسالت", englishName: "Resalat Bank", discloses: true },
  { code: "078", name: "بانک خاورمیانه", englishName: "Middle East Bank", discloses: true },
];

export const BANKS: ReadonlyMap<string, Bank> = new Map(BANK_LIST.map((bank) => [bank.code, bank]));

export type AccountStatus = "active" | "blocked" | "closed";

export interface Account {
  readonly bank: Bank;
  readonly ownerName: string;
  readonly status: AccountStatus;
}

export type AccountLookup =
  | { readonly kind: "found"; readonly account: Account }
  | { readonly kind: "unknown_bank" }
  | { readonly kind: "not_disclosed"; readonly bank: Bank };

/** The account behind a (valid, normalised) IBAN. About 90 % are active, 6 % blocked, 4 % closed. */
export function accountByIban(iban: string): AccountLookup {
  const bank = BANKS.get(iban.slice(4, 7));
  if (bank === undefined) return { kind: "unknown_bank" };
  if (!bank.discloses) return { kind: "not_disclosed", bank };
  const pick = picker("cbi", iban);
  const female = pick(2) === 1;
  const ownerName = `${oneOf(pick, female ? FEMALE_NAMES : MALE_NAMES)} ${oneOf(pick, FAMILY_NAMES)}`;
  const roll = pick(100);
  const status: AccountStatus = roll < 90 ? "active" : roll < 96 ? "blocked" : "closed";
  return { kind: "found", account: { bank, ownerName, status } };
}
