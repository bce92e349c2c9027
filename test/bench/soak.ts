// `npm run bench -- --soak 30m`: whether the gateway's memory stays flat under steady load. The figures are
// sampled while an open-loop load runs; after a warm-up (the first fifth, at most five minutes) a
// least-squares line is fitted to each series, and the memory is called flat when the line's rise over the
// measured window stays within 5 % of the series' mean (or 8 MiB, whichever is larger): a steady leak of
// even a few hundred bytes an inquiry shows as a rise well above that over half an hour.

/** A duration as `--soak` takes it: `90`, `90s`, `10m`, `1h`, `1h30m`; returns seconds. */
export function parseDuration(text: string): number {
  const trimmed = text.trim().toLowerCase();
  if (/^\d+$/.test(trimmed)) return Number(trimmed);
  const match = /^(?:(\d+)h)?(?:(\d+)m)?(?:(\d+)s)?$/.exec(trimmed);
  if (match === null || trimmed === "") throw new Error(`'${text}' is not a duration (e.g. 30s, 10m, 30m, 1h)`);
  const [, h, m, s] = match;
  return Number(h ?? 0) * 3600 + Number(m ?? 0) * 60 + Number(s ?? 0);
}

export interface MemorySample {
  /** Seconds since the soak's load started. */
  readonly atSeconds: number;
  readonly rssBytes: number;
  readonly heapUsedBytes: number;
  /**
   * Where the memory is, shown beside the verdict and not judged: the main thread's heap size, each other
   * thread's heap size (the embedded database's, the audit shipper's), by name.
   */
  readonly parts?: Readonly<Record<string, number>>;
}

export interface LineFit {
  /** Units per second. */
  readonly slope: number;
  readonly intercept: number;
}

/** Ordinary least squares of y on x; a slope of 0 for fewer than two distinct x. */
export function fitLine(xs: readonly number[], ys: readonly number[]): LineFit {
  const n = Math.min(xs.length, ys.length);
  if (n === 0) return { slope: 0, intercept: 0 };
  let sx = 0;
  let sy = 0;
  for (let i = 0; i < n; i++) {
    sx += xs[i] as number;
    sy += ys[i] as number;
  }
  const mx = sx / n;
  const my = sy / n;
  let sxy = 0;
  let sxx = 0;
  for (let i = 0; i < n; i++) {
    const dx = (xs[i] as number) - mx;
    sxy += dx * ((ys[i] as number) - my);
    sxx += dx * dx;
  }
  const slope = sxx === 0 ? 0 : sxy / sxx;
  return { slope, intercept: my - slope * mx };
}

export interface SeriesVerdict {
  readonly meanBytes: number;
  /** The fitted line's slope, in MiB an hour. */
  readonly slopeMiBPerHour: number;
  /** How much the fitted line rises over the measured window, in bytes. */
  readonly riseBytes: number;
  /** The rise allowed: 5 % of the mean, at least 8 MiB. */
  readonly allowedBytes: number;
  readonly flat: boolean;
}

export interface SoakVerdict {
  readonly warmupSeconds: number;
  /** Samples after the warm-up, the ones judged. */
  readonly samples: number;
  readonly windowSeconds: number;
  readonly rss: SeriesVerdict;
  readonly heapUsed: SeriesVerdict;
  /** The same line fitted to each part (MemorySample.parts) present in every judged sample; not judged. */
  readonly parts: ReadonlyArray<{ readonly name: string; readonly series: SeriesVerdict }>;
  readonly flat: boolean;
}

const MIB = 1024 * 1024;
const MIN_ALLOWED_BYTES = 8 * MIB;
const ALLOWED_SHARE = 0.05;

/** The warm-up left out of the judgement: the first fifth of the soak, at most five minutes. */
export function soakWarmupSeconds(durationSeconds: number): number {
  return Math.min(300, durationSeconds / 5);
}

function judge(xs: readonly number[], ys: readonly number[], windowSeconds: number): SeriesVerdict {
  const { slope } = fitLine(xs, ys);
  const meanBytes = ys.length === 0 ? 0 : ys.reduce((a, b) => a + b, 0) / ys.length;
  const riseBytes = slope * windowSeconds;
  const allowedBytes = Math.max(MIN_ALLOWED_BYTES, ALLOWED_SHARE * meanBytes);
  return { meanBytes, slopeMiBPerHour: (slope * 3600) / MIB, riseBytes, allowedBytes, flat: riseBytes <= allowedBytes };
}

/** Judges the samples of a soak of `durationSeconds`: is memory flat after the warm-up? */
export function judgeSoak(samples: readonly MemorySample[], durationSeconds: number): SoakVerdict {
  const warmupSeconds = soakWarmupSeconds(durationSeconds);
  const kept = samples.filter((s) => s.atSeconds >= warmupSeconds);
  const xs = kept.map((s) => s.atSeconds);
  const windowSeconds = xs.length < 2 ? 0 : (xs[xs.length - 1] as number) - (xs[0] as number);
  const rss = judge(
    xs,
    kept.map((s) => s.rssBytes),
    windowSeconds,
  );
  const heapUsed = judge(
    xs,
    kept.map((s) => s.heapUsedBytes),
    windowSeconds,
  );
  const names = Object.keys(kept[0]?.parts ?? {}).filter((name) => kept.every((s) => s.parts?.[name] !== undefined));
  const parts = names.map((name) => ({
    name,
    series: judge(
      xs,
      kept.map((s) => s.parts?.[name] ?? 0),
      windowSeconds,
    ),
  }));
  return {
    warmupSeconds,
    samples: kept.length,
    windowSeconds,
    rss,
    heapUsed,
    parts,
    flat: kept.length >= 3 && rss.flat && heapUsed.flat,
  };
}

function mib(bytes: number): string {
  return (bytes / MIB).toFixed(1);
}

export function formatSoakVerdict(v: SoakVerdict): string {
  const width = Math.max(10, ...v.parts.map((p) => p.name.length + 2));
  const line = (name: string, s: SeriesVerdict): string =>
    `${name.padEnd(width)}${mib(s.meanBytes).padStart(10)}${s.slopeMiBPerHour.toFixed(2).padStart(14)}${mib(s.riseBytes).padStart(12)}`;
  const row = (name: string, s: SeriesVerdict): string =>
    `${line(name, s)}${mib(s.allowedBytes).padStart(12)}   ${s.flat ? "flat" : "GROWING"}`;
  return [
    `memory after a ${v.warmupSeconds.toFixed(0)} s warm-up: ${v.samples} samples over ${v.windowSeconds.toFixed(0)} s, least-squares line`,
    "",
    `${"".padEnd(width)}${"mean MiB".padStart(10)}${"MiB / hour".padStart(14)}${"rise MiB".padStart(12)}${"allowed".padStart(12)}`,
    row("RSS", v.rss),
    row("heap used", v.heapUsed),
    ...(v.parts.length === 0 ? [] : ["where the memory is (not judged):", ...v.parts.map((p) => line(p.name, p.series))]),
    "",
    `memory ${v.flat ? "flat" : "NOT flat"}${v.samples < 3 ? " (too few samples after the warm-up to judge: soak longer or sample more often)" : ""}`,
  ].join("\n");
}
