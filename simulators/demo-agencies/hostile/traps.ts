// Counters of the traps hostile answers set: fetches of the XXE canary (an XML parser resolved an
// external entity) and visits to the pages redirects lead to (a client followed a redirect).
import { AGENCIES, type AgencyName, isAgencyName } from "../agencies.ts";

export interface TrapCounts {
  /** Fetches of the canary an `xxe` answer names, by agency. */
  readonly xxeFetches: Readonly<Record<AgencyName, number>>;
  /** Visits to where a `redirect` answer pointed, by agency. */
  readonly redirectsFollowed: Readonly<Record<AgencyName, number>>;
}

export interface TrapCounter {
  xxeFetched(agency: string): void;
  redirectFollowed(agency: string): void;
  snapshot(): TrapCounts;
  reset(): void;
}

function zeros(): Record<AgencyName, number> {
  return Object.fromEntries(AGENCIES.map((a) => [a, 0])) as Record<AgencyName, number>;
}

export function createTrapCounter(): TrapCounter {
  let xxe = zeros();
  let redirects = zeros();
  return {
    xxeFetched(agency) {
      if (isAgencyName(agency)) xxe[agency]++;
    },
    redirectFollowed(agency) {
      if (isAgencyName(agency)) redirects[agency]++;
    },
    snapshot: () => ({ xxeFetches: { ...xxe }, redirectsFollowed: { ...redirects } }),
    reset() {
      xxe = zeros();
      redirects = zeros();
    },
  };
}
