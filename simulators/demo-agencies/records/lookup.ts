// The three business answers every agency gives: a record, "no such record", or a refusal to disclose.
// The messages never repeat the identifier asked about: it is personal data.

export type Lookup<T> =
  | { readonly kind: "found"; readonly record: T }
  | { readonly kind: "not_found"; readonly message: string }
  | { readonly kind: "rejected"; readonly code: string; readonly message: string };

export function found<T>(record: T): Lookup<T> {
  return { kind: "found", record };
}

export function notFound(message: string): { readonly kind: "not_found"; readonly message: string } {
  return { kind: "not_found", message };
}

export function rejected(code: string, message: string): { readonly kind: "rejected"; readonly code: string; readonly message: string } {
  return { kind: "rejected", code, message };
}

/** The snapshot date of every simulated record: statuses and expiry dates are as of this day. */
export const AS_OF = "1404/07/01";

/** A Jalali date `YYYY/MM/DD`. */
export function jalali(year: number, month: number, day: number): string {
  return `${year}/${String(month).padStart(2, "0")}/${String(day).padStart(2, "0")}`;
}
