// The conformance kit: what every connector must do, checked against the connector's own agency. A
// connector module exports `conformance.start()`, which starts the agency it talks to (a simulator the
// author ships) and returns the options to reach it, params it answers, and handles to make it slow or
// fail. `estelam connector test <module>` runs these checks and prints one line per check.
import type { JsonObject } from "@bufbuild/protobuf";
import { EstelamError } from "../core/errors.ts";
import type { Connector, ConnectorAnswer, ConnectorFactory } from "./connector.ts";
import { startUpstreamDeadline } from "./deadline.ts";

/** The agency a connector's conformance run talks to, as its author starts it. */
export interface ConformanceAgency {
  /** Endpoint options that reach the agency. */
  readonly endpoint: unknown;
  /** Operation options of one inquiry the agency answers. */
  readonly operation: unknown;
  /** Params the agency answers with a business answer. */
  readonly params: JsonObject;
  /** Makes every answer take `ms` longer (0 = back to normal). */
  delay(ms: number): void | Promise<void>;
  /** Makes the agency fail (down, or its own error) until `recover`. */
  fail(): void | Promise<void>;
  recover(): void | Promise<void>;
  close(): Promise<void>;
}

export interface ConformanceFixture {
  start(): Promise<ConformanceAgency>;
}

export interface CheckResult {
  readonly name: string;
  readonly ok: boolean;
  readonly detail: string;
  readonly ms: number;
}

const FAULTS = new Set(["AGENCY_UNAVAILABLE", "AGENCY_BAD_RESPONSE"]);
/** How late after its deadline or cancel a call may still end. */
const SLACK_MS = 250;

function reasonOf(error: unknown): string {
  return error instanceof EstelamError ? error.reason : `a ${error instanceof Error ? error.name : typeof error} (not a catalogue error)`;
}

function isAnswer(value: unknown): value is ConnectorAnswer {
  if (typeof value !== "object" || value === null) return false;
  const a = value as Record<string, unknown>;
  if (a.answer === "found") return typeof a.result === "object" && a.result !== null && !Array.isArray(a.result);
  return (a.answer === "not_found" || a.answer === "rejected") && typeof a.message === "string";
}

function settle<T>(promise: Promise<T>, withinMs: number): Promise<{ value?: T; error?: unknown; ms: number; timedOut: boolean }> {
  const started = performance.now();
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<{ timedOut: true }>((resolve) => {
    timer = setTimeout(() => resolve({ timedOut: true }), withinMs);
  });
  return Promise.race([
    promise.then(
      (value) => ({ value, timedOut: false }),
      (error: unknown) => ({ error, timedOut: false }),
    ),
    timeout,
  ]).then((r) => {
    clearTimeout(timer);
    return { ...(r as { value?: T; error?: unknown }), timedOut: r.timedOut, ms: performance.now() - started };
  });
}

/** Runs every check against a freshly started agency; `report` hears each result as it is known. */
export async function runConformance(
  factory: ConnectorFactory,
  fixture: ConformanceFixture,
  report: (result: CheckResult) => void = () => undefined,
): Promise<readonly CheckResult[]> {
  const results: CheckResult[] = [];
  const check = async (name: string, run: () => Promise<string>): Promise<boolean> => {
    const started = performance.now();
    let result: CheckResult;
    try {
      result = { name, ok: true, detail: await run(), ms: performance.now() - started };
    } catch (error) {
      result = { name, ok: false, detail: error instanceof Error ? error.message : String(error), ms: performance.now() - started };
    }
    results.push(result);
    report(result);
    return result.ok;
  };

  const agency = await fixture.start();
  let connector: Connector | undefined;
  try {
    let operation: unknown;
    await check("options: an unknown option is refused, naming it", async () => {
      const refused = factory.validateEndpoint({ notAnOption: 1 }, "spec.options");
      if (refused.ok) throw new Error("validateEndpoint accepted { notAnOption: 1 }");
      const named = refused.issues.find((i) => i.path === "spec.options.notAnOption");
      if (named === undefined)
        throw new Error(`no issue names spec.options.notAnOption (issues: ${JSON.stringify(refused.issues).slice(0, 300)})`);
      return `${named.path}: ${named.message}`;
    });
    const created = await check("options: the agency's endpoint and operation options are accepted", async () => {
      const endpoint = factory.validateEndpoint(agency.endpoint, "spec.options");
      if (!endpoint.ok) throw new Error(endpoint.issues.map((i) => `${i.path}: ${i.message}`).join("; "));
      const op = factory.validateOperation(agency.operation, "spec.endpoints[0].operation");
      if (!op.ok) throw new Error(op.issues.map((i) => `${i.path}: ${i.message}`).join("; "));
      operation = op.options;
      connector = factory.create(endpoint.options, { agency: "conformance", endpoint: "main" });
      if (connector.kind !== factory.kind) throw new Error(`the connector says kind '${connector.kind}', its factory '${factory.kind}'`);
      return "created";
    });
    if (!created || connector === undefined) return results;
    const c = connector;
    const call = (timeoutMs: number, callerSignal: AbortSignal = new AbortController().signal) => {
      const deadline = startUpstreamDeadline(timeoutMs, undefined, callerSignal);
      const request = {
        inquiryId: "00000000-0000-7000-8000-000000000000",
        inquiryType: "conformance.check.v1",
        requester: "conformance",
        purpose: "conformance.check",
        params: agency.params,
        signal: deadline.signal,
        deadline: deadline.deadline,
      };
      return c.call(request, operation).finally(() => deadline.dispose());
    };

    await check("warm: opens and checks the agency within 2 s", async () => {
      if (c.warm === undefined) return "the connector does not warm (allowed)";
      const r = await settle(c.warm(AbortSignal.timeout(2_000)), 2_500);
      if (r.timedOut) throw new Error("warm did not end");
      if (r.error !== undefined) throw new Error(`warm failed: ${(r.error as Error).message}`);
      return "warmed";
    });

    await check("call: the agency's answer is a business answer", async () => {
      const r = await settle(call(5_000), 6_000);
      if (r.error !== undefined) throw new Error(`failed with ${reasonOf(r.error)}: ${(r.error as Error).message}`);
      if (!isAnswer(r.value)) throw new Error(`not a ConnectorAnswer: ${JSON.stringify(r.value)?.slice(0, 200)}`);
      return r.value.answer;
    });

    await check("concurrency: 32 calls at once all answer", async () => {
      const all = await settle(Promise.all(Array.from({ length: 32 }, () => call(5_000))), 6_000);
      if (all.timedOut) throw new Error("not all calls ended within 6 s");
      if (all.error !== undefined) throw new Error(`a call failed with ${reasonOf(all.error)}`);
      if (!(all.value ?? []).every(isAnswer)) throw new Error("an answer is not a ConnectorAnswer");
      return `${Math.round(all.ms)} ms for 32`;
    });

    await check("deadline: an agency slower than the deadline → DEADLINE_EXCEEDED at the deadline", async () => {
      await agency.delay(3_000);
      try {
        const r = await settle(call(300), 300 + 2_000);
        if (r.timedOut) throw new Error("the call ignored its deadline");
        if (r.error === undefined) throw new Error("the call answered after its deadline");
        if (reasonOf(r.error) !== "DEADLINE_EXCEEDED") throw new Error(`failed with ${reasonOf(r.error)}, not DEADLINE_EXCEEDED`);
        if (r.ms > 300 + SLACK_MS) throw new Error(`ended ${Math.round(r.ms - 300)} ms after the deadline`);
        return `ended after ${Math.round(r.ms)} ms`;
      } finally {
        await agency.delay(0);
      }
    });

    await check("abort: a caller that goes away → CANCELLED at once", async () => {
      await agency.delay(3_000);
      try {
        const caller = new AbortController();
        setTimeout(() => caller.abort(new EstelamError("CANCELLED", "the caller cancelled")), 100);
        const r = await settle(call(5_000, caller.signal), 2_000);
        if (r.timedOut) throw new Error("the call ignored its abort signal");
        if (r.error === undefined) throw new Error("the call answered after it was cancelled");
        if (reasonOf(r.error) !== "CANCELLED") throw new Error(`failed with ${reasonOf(r.error)}, not CANCELLED`);
        if (r.ms > 100 + SLACK_MS) throw new Error(`ended ${Math.round(r.ms - 100)} ms after the cancel`);
        return `ended after ${Math.round(r.ms)} ms`;
      } finally {
        await agency.delay(0);
      }
    });

    await check("errors: a failing agency → AGENCY_UNAVAILABLE or AGENCY_BAD_RESPONSE", async () => {
      await agency.fail();
      try {
        const r = await settle(call(2_000), 3_000);
        if (r.timedOut) throw new Error("the call did not end");
        if (r.error === undefined) throw new Error(`the failing agency's answer was passed on: ${JSON.stringify(r.value)?.slice(0, 200)}`);
        if (!FAULTS.has(reasonOf(r.error))) throw new Error(`failed with ${reasonOf(r.error)}`);
        return `${reasonOf(r.error)}: ${(r.error as Error).message}`;
      } finally {
        await agency.recover();
      }
    });

    await check("close: closes within 2 s, after its last call", async () => {
      const inFlight = call(2_000).catch(() => undefined);
      await inFlight;
      const r = await settle(c.close(), 2_000);
      connector = undefined;
      if (r.timedOut) throw new Error("close did not end");
      if (r.error !== undefined) throw new Error(`close failed: ${(r.error as Error).message}`);
      return "closed";
    });
  } finally {
    await connector?.close().catch(() => undefined);
    await agency.close();
  }
  return results;
}
