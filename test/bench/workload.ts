// The inquiries both paths send: a fixed, repeatable mix of the three demo inquiry types with a different
// valid subject in every inquiry. Each inquiry carries what the gateway is asked (type, purpose, params) and
// what the agency is asked for it (path and JSON body), so the direct path sends exactly the agency request
// the gateway would make.
import { ibanFromSeed, nationalCodeFromSeed, postalCodeFromSeed } from "../../core/identifiers.ts";

export interface BenchInquiry {
  readonly inquiryType: string;
  readonly purpose: string;
  readonly params: Readonly<Record<string, string>>;
  /** The demo agencies' path for this inquiry type (the catalogue's binding). */
  readonly agencyPath: string;
}

// Banks the demo Central Bank knows; an account at the Central Bank itself (010) is refused (422), which
// a small share of inquiries asks about on purpose so that every kind of business answer is exercised.
const BANK_CODES = [
  "011",
  "012",
  "013",
  "014",
  "015",
  "016",
  "017",
  "018",
  "019",
  "021",
  "053",
  "054",
  "055",
  "056",
  "057",
  "058",
  "059",
  "061",
  "062",
  "066",
] as const;

/** Share of each inquiry type, in twentieths: identity match 10, address 5, IBAN owner 5. */
const MIX = [
  "nocr",
  "nocr",
  "nocr",
  "nocr",
  "nocr",
  "nocr",
  "nocr",
  "nocr",
  "nocr",
  "nocr",
  "post",
  "post",
  "post",
  "post",
  "post",
  "cbi",
  "cbi",
  "cbi",
  "cbi",
  "cbi",
] as const;

/** A small deterministic generator (mulberry32) so the mix is the same on every run and machine. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (state + 0x6d2b79f5) >>> 0;
    let t = state;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4_294_967_296;
  };
}

/** The inquiry with index `n` of a run; `n` also seeds its subject, so different indexes ask about different subjects. */
function inquiryAt(n: number, draw: () => number): BenchInquiry {
  const kind = MIX[Math.floor(draw() * MIX.length)] ?? "nocr";
  switch (kind) {
    case "nocr": {
      // Any valid date will do: the answer is then mostly "no match", which costs the same to produce.
      const birthDate = `${1320 + (n % 65)}/${String(1 + (n % 12)).padStart(2, "0")}/${String(1 + (n % 28)).padStart(2, "0")}`;
      return {
        inquiryType: "nocr.identity-match.v1",
        purpose: "kyc.account-opening",
        params: { national_code: nationalCodeFromSeed(n), birth_date: birthDate },
        agencyPath: "/nocr/identity-match",
      };
    }
    case "post":
      return {
        inquiryType: "post.address-by-postcode.v1",
        purpose: "kyc.address-verification",
        params: { postal_code: postalCodeFromSeed(n) },
        agencyPath: "/post/address-by-postcode",
      };
    case "cbi": {
      const bank = draw() < 0.02 ? "010" : (BANK_CODES[Math.floor(draw() * BANK_CODES.length)] ?? "017");
      return {
        inquiryType: "cbi.iban-owner.v1",
        purpose: "payment.beneficiary-check",
        params: { iban: ibanFromSeed(n, bank) },
        agencyPath: "/cbi/iban-owner",
      };
    }
  }
}

/** `count` inquiries whose subjects are seeded from `firstSeed` on. */
export function buildWorkload(count: number, firstSeed: number): BenchInquiry[] {
  const draw = random(firstSeed + 0x5eed);
  return Array.from({ length: count }, (_, i) => inquiryAt(firstSeed + i, draw));
}

/** Share of each inquiry type in a workload, e.g. `{ "nocr.identity-match.v1": 0.5, ... }`. */
export function workloadMix(workload: readonly BenchInquiry[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const inquiry of workload) counts[inquiry.inquiryType] = (counts[inquiry.inquiryType] ?? 0) + 1;
  return Object.fromEntries(Object.entries(counts).map(([type, n]) => [type, Math.round((n / workload.length) * 1000) / 1000]));
}
