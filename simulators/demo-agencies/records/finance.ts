// The Central Bank's other answers: whether an IBAN belongs to a person, Sayad cheques and the cheque
// credit colour of a person. The IBAN-owner answer itself lives in data.ts.
import { jalaliMonthLength, nationalCodeFromSeed, parseNationalCode } from "../../../core/identifiers.ts";
import { BANKS } from "../data.ts";
import { found, jalali, type Lookup, notFound, rejected } from "./lookup.ts";
import { lookupPerson } from "./people.ts";
import { digits, oneOf, picker } from "./pick.ts";

/**
 * The national code of an account's owner: the IBAN's last ten digits when they form a valid national
 * code (so a demo can build an IBAN for anyone, see `ibanOfPerson`), otherwise one drawn from the hash.
 */
export function ibanOwnerNationalCode(iban: string): string {
  const tail = parseNationalCode(iban.slice(-10));
  if (tail.ok) return tail.value;
  const pick = picker("cbi-owner", iban);
  return nationalCodeFromSeed(pick(1_000_000_000));
}

/** An IBAN at `bankCode` whose owner is `nationalCode` (check digits computed as ISO 13616 says). */
export function ibanOfPerson(nationalCode: string, bankCode: string): string {
  const bban = `${bankCode}0${"0".repeat(8)}${nationalCode}`;
  let r = 0;
  for (const ch of `${bban}182700`) r = (r * 10 + Number(ch)) % 97;
  return `IR${String(98 - r).padStart(2, "0")}${bban}`;
}

export function ibanMatch(nationalCode: string, birthDate: string, iban: string): Lookup<{ readonly match: boolean }> {
  const bank = BANKS.get(iban.slice(4, 7));
  if (bank === undefined) return notFound("no bank is registered under this IBAN's bank code");
  if (!bank.discloses) return rejected("NOT_DISCLOSED", `accounts at ${bank.englishName} are not checked through this inquiry`);
  const person = lookupPerson(nationalCode);
  if (person.kind !== "found") return person;
  return found({ match: ibanOwnerNationalCode(iban) === nationalCode && person.record.birthDate === birthDate });
}

// ---------------------------------------------------------------------------------------------------------
// Sayad cheques (چک صیادی)

/** A Sayad id: exactly 16 digits (Persian digits, spaces and dashes accepted). */
export function parseSayadId(input: string): { ok: true; value: string } | { ok: false; problem: string } {
  const text = input.replace(/[\u06f0-\u06f9]/g, (d) => String(d.charCodeAt(0) - 0x06f0)).replace(/[\s-]/g, "");
  if (!/^\d{16}$/.test(text)) return { ok: false, problem: "must be 16 digits" };
  return { ok: true, value: text };
}

export const CHEQUE_STATUSES = ["USABLE", "CASHED", "BOUNCED", "CANCELLED"] as const;

export interface SayadCheque {
  readonly status: (typeof CHEQUE_STATUSES)[number];
  /** Rials. */
  readonly amount: number;
  readonly dueDate: string;
  readonly bankCode: string;
  readonly bankName: string;
  readonly branchCode: string;
}

/** Sayad ids beginning with this were never issued. */
export const UNISSUED_SAYAD_PREFIX = "0000";
/** Sayad ids beginning with this are under a judicial seizure order: not disclosed. */
export const SEIZED_SAYAD_PREFIX = "9999";

const CHEQUE_BANKS = [...BANKS.values()].filter((bank) => bank.discloses);

export function sayadCheque(sayadId: string): Lookup<SayadCheque> {
  if (sayadId.startsWith(UNISSUED_SAYAD_PREFIX)) return notFound("no cheque has been issued under this Sayad id");
  if (sayadId.startsWith(SEIZED_SAYAD_PREFIX))
    return rejected("CHEQUE_SEIZED", "this cheque is under a judicial seizure order and its details are not disclosed");
  const pick = picker("sayad-cheque", sayadId);
  const roll = pick(100);
  const status = roll < 55 ? "USABLE" : roll < 80 ? "CASHED" : roll < 92 ? "BOUNCED" : "CANCELLED";
  const bank = oneOf(pick, CHEQUE_BANKS);
  const year = 1403 + pick(3);
  const month = 1 + pick(12);
  return found({
    status,
    amount: (10 + pick(50_000)) * 100_000,
    dueDate: jalali(year, month, 1 + pick(jalaliMonthLength(year, month))),
    bankCode: bank.code,
    bankName: bank.name,
    branchCode: digits(pick, 4),
  });
}

export const CREDIT_COLOURS = { WHITE: "سفید", YELLOW: "زرد", ORANGE: "نارنجی", BROWN: "قهوه‌ای", RED: "قرمز" } as const;
export type CreditColour = keyof typeof CREDIT_COLOURS;

export interface CreditStatus {
  readonly colour: CreditColour;
  readonly colourFa: string;
  readonly bouncedCheques: number;
  /** Rials, of the cheques still bounced. */
  readonly bouncedAmount: number;
}

export function creditStatus(nationalCode: string): Lookup<CreditStatus> {
  const person = lookupPerson(nationalCode);
  if (person.kind !== "found") return person;
  const pick = picker("sayad-credit", nationalCode);
  const roll = pick(100);
  // The colours follow the number of bounced cheques, as the Central Bank's scale does.
  const [colour, bounced]: [CreditColour, number] =
    roll < 75
      ? ["WHITE", 0]
      : roll < 85
        ? ["YELLOW", 1]
        : roll < 92
          ? ["ORANGE", 2 + pick(3)]
          : roll < 97
            ? ["BROWN", 5 + pick(6)]
            : ["RED", 11 + pick(10)];
  return found({ colour, colourFa: CREDIT_COLOURS[colour], bouncedCheques: bounced, bouncedAmount: bounced * (5 + pick(200)) * 1_000_000 });
}
