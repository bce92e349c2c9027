// Per-agency counters, the same for every face: what arrived, what was answered (by HTTP status, or by
// gRPC status name for gRPC agencies), and what was dropped, left hanging or abandoned by the client.
import { AGENCIES, type AgencyName } from "./agencies.ts";

export interface AgencyStats {
  /** Requests that reached one of the agency's paths or methods. */
  readonly received: number;
  /** Answers sent, by HTTP status (`{"200": 41, "404": 2}`) or gRPC status name (`{"OK": 3}`). */
  readonly answered: Readonly<Record<string, number>>;
  /** Connections destroyed without an answer (mode `down`). */
  readonly dropped: number;
  /** Requests left unanswered (mode `hang`, `stall-headers`). */
  readonly hung: number;
  /** Requests whose client went away before the answer was due (e.g. during injected latency). */
  readonly abandoned: number;
}

export type DemoStats = Readonly<Record<AgencyName, AgencyStats>>;

export interface StatsCounter {
  received(agency: AgencyName): void;
  answered(agency: AgencyName, status: number | string): void;
  dropped(agency: AgencyName): void;
  hung(agency: AgencyName): void;
  abandoned(agency: AgencyName): void;
  snapshot(): DemoStats;
  reset(): void;
}

type Mutable = { received: number; answered: Record<string, number>; dropped: number; hung: number; abandoned: number };

function empty(): Record<AgencyName, Mutable> {
  return Object.fromEntries(AGENCIES.map((a) => [a, { received: 0, answered: {}, dropped: 0, hung: 0, abandoned: 0 }])) as Record<
    AgencyName,
    Mutable
  >;
}

export function createStatsCounter(): StatsCounter {
  let counters = empty();
  return {
    received: (agency) => void counters[agency].received++,
    answered(agency, status) {
      const answered = counters[agency].answered;
      answered[status] = (answered[status] ?? 0) + 1;
    },
    dropped: (agency) => void counters[agency].dropped++,
    hung: (agency) => void counters[agency].hung++,
    abandoned: (agency) => void counters[agency].abandoned++,
    snapshot() {
      return Object.fromEntries(AGENCIES.map((a) => [a, { ...counters[a], answered: { ...counters[a].answered } }])) as Record<
        AgencyName,
        AgencyStats
      >;
    },
    reset() {
      counters = empty();
    },
  };
}
