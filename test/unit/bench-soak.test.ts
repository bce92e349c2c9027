// The soak's arithmetic: durations as --soak takes them, the least-squares line, and when memory is flat.
import { describe, expect, it } from "vitest";
import { parseBenchOptions, UsageError } from "../bench/options.ts";
import { fitLine, formatSoakVerdict, judgeSoak, type MemorySample, parseDuration, soakWarmupSeconds } from "../bench/soak.ts";

const MIB = 1024 * 1024;

/** Samples every 10 s over `seconds`: RSS and heap as functions of time, with a saw-tooth like a GC's. */
function samples(seconds: number, rss: (t: number) => number, heap: (t: number) => number): MemorySample[] {
  const out: MemorySample[] = [];
  for (let t = 0; t <= seconds; t += 10) out.push({ atSeconds: t, rssBytes: rss(t), heapUsedBytes: heap(t) });
  return out;
}

describe("soak durations", () => {
  it("reads seconds, minutes, hours and their combinations", () => {
    expect(parseDuration("30s")).toBe(30);
    expect(parseDuration("10m")).toBe(600);
    expect(parseDuration("30m")).toBe(1800);
    expect(parseDuration("1h")).toBe(3600);
    expect(parseDuration("1h30m")).toBe(5400);
    expect(parseDuration("90")).toBe(90);
  });

  it("refuses what is not a duration", () => {
    for (const text of ["", "m", "10 minutes", "-5s", "1.5m", "5d"]) expect(() => parseDuration(text)).toThrow(/not a duration/);
  });

  it("is an option of the bench, bounded", () => {
    expect(parseBenchOptions(["--soak", "30m"]).soakSeconds).toBe(1800);
    // The run's time limit leaves room for the whole soak.
    expect(parseBenchOptions(["--soak", "30m"]).maxSeconds).toBe(2400);
    expect(parseBenchOptions([]).maxSeconds).toBe(900);
    expect(parseBenchOptions(["--soak", "2m", "--sample-seconds", "5"]).sampleSeconds).toBe(5);
    expect(() => parseBenchOptions(["--soak", "5s"])).toThrow(UsageError);
    expect(() => parseBenchOptions(["--soak", "soon"])).toThrow(/--soak: 'soon' is not a duration/);
  });
});

describe("whether memory is flat", () => {
  it("fits a line by least squares", () => {
    const fit = fitLine([0, 1, 2, 3], [1, 3, 5, 7]);
    expect(fit.slope).toBeCloseTo(2);
    expect(fit.intercept).toBeCloseTo(1);
    expect(fitLine([5, 5], [1, 2]).slope).toBe(0);
  });

  it("leaves the warm-up out: a fifth of the soak, at most five minutes", () => {
    expect(soakWarmupSeconds(120)).toBe(24);
    expect(soakWarmupSeconds(1800)).toBe(300);
  });

  it("calls memory that rises in the warm-up and then saw-tooths around a level flat", () => {
    const verdict = judgeSoak(
      samples(
        1800,
        (t) => (t < 200 ? 150 * MIB + t * MIB : 350 * MIB + ((t / 10) % 3) * 4 * MIB),
        (t) => 80 * MIB + ((t / 10) % 5) * 6 * MIB,
      ),
      1800,
    );
    expect(verdict.warmupSeconds).toBe(300);
    expect(verdict.samples).toBe(151);
    expect(verdict.rss.flat).toBe(true);
    expect(verdict.heapUsed.flat).toBe(true);
    expect(verdict.flat).toBe(true);
  });

  it("calls a steady leak growing, even under the noise", () => {
    // 40 MiB an hour of heap: 20 MiB over the 25 measured minutes, above 8 MiB and 5 % of ~100 MiB.
    const leak = (40 * MIB) / 3600;
    const verdict = judgeSoak(
      samples(
        1800,
        () => 300 * MIB,
        (t) => 90 * MIB + leak * t + ((t / 10) % 5) * 6 * MIB,
      ),
      1800,
    );
    expect(verdict.heapUsed.flat).toBe(false);
    expect(Math.abs(verdict.heapUsed.slopeMiBPerHour - 40)).toBeLessThan(3);
    expect(verdict.rss.flat).toBe(true);
    expect(verdict.flat).toBe(false);
  });

  it("does not judge from fewer than three samples after the warm-up", () => {
    expect(
      judgeSoak(
        samples(
          20,
          () => MIB,
          () => MIB,
        ),
        20,
      ).flat,
    ).toBe(false);
  });

  it("shows where RSS went: a line for each part every judged sample has, which never changes the verdict", () => {
    // RSS rises 60 MiB in one step at 1200 s; the database thread's heap takes the same step, the main heap stays.
    const step = (t: number): number => (t < 1200 ? 0 : 60 * MIB);
    const judged = samples(
      1800,
      (t) => 800 * MIB + step(t),
      () => 100 * MIB,
    ).map((s) => ({
      ...s,
      parts: {
        "main heap": 200 * MIB,
        "database heap": 30 * MIB + step(s.atSeconds),
        // Missing from one judged sample (the thread was starting again): not fitted.
        ...(s.atSeconds === 900 ? {} : { "shipper heap": 40 * MIB }),
      },
    }));
    const verdict = judgeSoak(judged, 1800);
    expect(verdict.rss.flat).toBe(false);
    expect(verdict.parts.map((p) => p.name)).toEqual(["main heap", "database heap"]);
    const [main, database] = verdict.parts;
    expect(Math.abs(main?.series.riseBytes ?? Number.NaN)).toBeLessThan(MIB);
    expect((database?.series.riseBytes ?? 0) / MIB).toBeCloseTo(verdict.rss.riseBytes / MIB, 5);
    const text = formatSoakVerdict(verdict);
    // A part's row has its mean, slope and rise, and no bound or verdict.
    expect(text).toMatch(/^database heap +\d+\.\d +\d+\.\d\d +\d+\.\d$/m);
    expect(text).toContain("where the memory is (not judged):");
    expect(text).not.toContain("shipper heap");
    // Without parts, the same samples give the same verdict and no such lines.
    const bare = judgeSoak(
      judged.map(({ parts: _, ...s }) => s),
      1800,
    );
    expect(bare.flat).toBe(verdict.flat);
    expect(bare.parts).toEqual([]);
    expect(formatSoakVerdict(bare)).not.toContain("where the memory is");
  });
});
