// How `estelam status` and `estelam breakers` print the scoreboard: aligned columns a person reads in a
// terminal, worst news first.
import { timestampDate } from "@bufbuild/protobuf/wkt";
import {
  type AgencyScore,
  BreakerState,
  type EndpointBreaker,
  InquiryStatus,
  type InquiryTypeScore,
  type Scoreboard,
  ShareBucket,
} from "../gen/estelam/operator/v1/operator_pb.js";

export const STATUS_NAMES: Readonly<Record<InquiryStatus, string>> = {
  [InquiryStatus.UNSPECIFIED]: "unknown",
  [InquiryStatus.ONLINE]: "online",
  [InquiryStatus.DEGRADED]: "degraded",
  [InquiryStatus.OFFLINE]: "offline",
  [InquiryStatus.NOT_CONNECTED]: "not connected",
};
export const BREAKER_NAMES: Readonly<Record<BreakerState, string>> = {
  [BreakerState.UNSPECIFIED]: "-",
  [BreakerState.CLOSED]: "closed",
  [BreakerState.HALF_OPEN]: "half open",
  [BreakerState.OPEN]: "open",
};
export const BUCKET_NAMES: Readonly<Record<ShareBucket, string>> = {
  [ShareBucket.UNSPECIFIED]: "-",
  [ShareBucket.ABOVE_90]: "> 90 %",
  [ShareBucket.FROM_50_TO_90]: "50-90 %",
  [ShareBucket.BELOW_50]: "< 50 %",
  [ShareBucket.NONE]: "0 %",
};
const SEVERITY: Readonly<Record<InquiryStatus, number>> = {
  [InquiryStatus.OFFLINE]: 0,
  [InquiryStatus.DEGRADED]: 1,
  [InquiryStatus.NOT_CONNECTED]: 2,
  [InquiryStatus.ONLINE]: 3,
  [InquiryStatus.UNSPECIFIED]: 4,
};

/** Columns padded to their widest cell; numbers (cells of `right`) aligned right. */
export function table(rows: readonly (readonly string[])[], right: ReadonlySet<number> = new Set()): string {
  const widths: number[] = [];
  for (const row of rows) for (const [i, cell] of row.entries()) widths[i] = Math.max(widths[i] ?? 0, [...cell].length);
  return rows
    .map((row) =>
      row
        .map((cell, i) => {
          const pad = " ".repeat((widths[i] ?? 0) - [...cell].length);
          return right.has(i) ? pad + cell : cell + pad;
        })
        .join("  ")
        .trimEnd(),
    )
    .map((line) => `${line}\n`)
    .join("");
}

const ms = (v: number | undefined): string => (v === undefined ? "-" : v >= 1000 ? `${(v / 1000).toFixed(2)} s` : `${Math.round(v)} ms`);
const pct = (v: number | undefined, digits = 2): string => (v === undefined ? "-" : `${(v * 100).toFixed(digits)} %`);
const burn = (v: number | undefined): string => (v === undefined ? "-" : v.toFixed(1));
const when = (t: Parameters<typeof timestampDate>[0] | undefined): string =>
  t === undefined ? "-" : timestampDate(t).toISOString().replace("T", " ").slice(0, 19);

function typeRows(types: readonly InquiryTypeScore[]): string[][] {
  const sorted = [...types].sort((a, b) => SEVERITY[a.status] - SEVERITY[b.status] || a.id.localeCompare(b.id));
  return [
    ["INQUIRY TYPE", "STATUS", "TODAY", "SUCCESS", "P50", "P95", "P99", "OBJECTIVE", "BURN", "BREAKER"],
    ...sorted.map((t) => [
      t.id,
      STATUS_NAMES[t.status],
      String(t.volumeToday),
      pct(t.successRate),
      ms(t.p50Ms),
      ms(t.p95Ms),
      ms(t.p99Ms),
      `${t.objectives?.latencyP95Ms === undefined ? "" : `p95 ≤ ${t.objectives.latencyP95Ms} ms, `}p99 ≤ ${t.objectives?.latencyP99Ms ?? "-"} ms, ${pct(t.objectives?.successRate, 1)}`,
      t.errorBurn === undefined && t.latencyBurn === undefined ? "-" : burn(Math.max(t.errorBurn ?? 0, t.latencyBurn ?? 0)),
      BREAKER_NAMES[t.breaker],
    ]),
  ];
}

function agencyRows(agencies: readonly AgencyScore[]): string[][] {
  return [
    ["RANK", "AGENCY", "ONLINE", "SHARE", "BUCKET", "DAILY TREND (oldest first)"],
    ...agencies.map((a) => [
      String(a.rank),
      `${a.id} (${a.name?.en ?? a.id})`,
      `${a.online}/${a.inquiryTypes}`,
      pct(a.shareOnline, 0),
      BUCKET_NAMES[a.bucket],
      a.daily
        .slice(-7)
        .map((p) => `${Math.round(p.shareOnline * 100)}`)
        .join(" "),
    ]),
  ];
}

export function formatScoreboard(board: Scoreboard): string {
  const count = (s: InquiryStatus): number => board.inquiryTypes.filter((t) => t.status === s).length;
  const connected = board.inquiryTypes.length - count(InquiryStatus.NOT_CONNECTED);
  let text = `Scoreboard at ${when(board.generatedAt)} UTC — registry revision ${board.registryRevision}, window ${board.windowMinutes} min, instances: ${board.instances.join(", ") || "-"}\n`;
  text += `${count(InquiryStatus.ONLINE)} of ${board.inquiryTypes.length} inquiry types online (${connected} connected): ${count(InquiryStatus.DEGRADED)} degraded, ${count(InquiryStatus.OFFLINE)} offline, ${count(InquiryStatus.NOT_CONNECTED)} not connected\n\n`;
  text += table(typeRows(board.inquiryTypes), new Set([2, 3, 4, 5, 6, 8]));
  const why = board.inquiryTypes.filter((t) => t.status !== InquiryStatus.ONLINE && t.reasons.length > 0);
  if (why.length > 0) text += `\n${why.map((t) => `  ${t.id} ${STATUS_NAMES[t.status]}: ${t.reasons.join("; ")}\n`).join("")}`;
  text += `\nAgencies by share of their inquiry types online\n`;
  text += table(agencyRows(board.agencies), new Set([0, 3]));
  text += `\n${board.buckets.map((b) => `${BUCKET_NAMES[b.bucket]}: ${b.agencies}`).join("   ")}\n`;
  return text;
}

export function formatBreakers(breakers: readonly EndpointBreaker[]): string {
  const rows: string[][] = [["ENDPOINT", "STATE", "INQUIRY TYPES", "PER INSTANCE"]];
  for (const b of breakers)
    rows.push([
      b.endpoint,
      BREAKER_NAMES[b.state],
      b.inquiryTypes.join(", ") || "-",
      b.instances.map((i) => `${i.instance}: ${BREAKER_NAMES[i.state]}`).join(", ") || "-",
    ]);
  return table(rows);
}
