// Shahkar (شاهکار), the regulator's register of which national code each mobile line belongs to.
import { nationalCodeFromSeed } from "../../../core/identifiers.ts";
import { found, type Lookup, notFound, rejected } from "./lookup.ts";
import { RESTRICTED_PERSON_PREFIX } from "./people.ts";

/** Mobile numbers beginning with this are not assigned to any subscriber. */
export const UNASSIGNED_MOBILE_PREFIX = "0900";

/** The subscriber of a (normalised, `09XXXXXXXXX`) mobile number: `nationalCodeFromSeed(XXXXXXXXX)`. */
export function subscriberOf(mobile: string): string {
  return nationalCodeFromSeed(Number(mobile.slice(2)));
}

export function shahkarMatch(mobile: string, nationalCode: string): Lookup<{ readonly match: boolean }> {
  if (mobile.startsWith(UNASSIGNED_MOBILE_PREFIX)) return notFound("the mobile number is not assigned to any subscriber");
  if (nationalCode.startsWith(RESTRICTED_PERSON_PREFIX)) return rejected("RESTRICTED", "lines of this subscriber are not disclosed");
  return found({ match: subscriberOf(mobile) === nationalCode });
}
