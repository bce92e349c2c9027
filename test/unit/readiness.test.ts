// Readiness: the one answer behind /readyz and gRPC health. A watcher (a health Watch stream, the gateway's
// own "ready" / "not ready" log line) hears the current answer once when it starts watching, then each change
// once, never a repeat of an answer it already has.
import { afterEach, describe, expect, it } from "vitest";
import { createReadiness, type Readiness } from "../../gateway/readiness.ts";

const opened: Readiness[] = [];
afterEach(() => {
  for (const readiness of opened.splice(0)) readiness.close();
});

function readinessOf(state: { audit: boolean; registry: boolean | "throws" }): Readiness {
  const readiness = createReadiness([
    { name: "audit", ready: () => state.audit, detail: () => (state.audit ? undefined : "the journal is full") },
    {
      name: "registry",
      ready: () => {
        if (state.registry === "throws") throw new Error("the registry store is away");
        return state.registry;
      },
    },
  ]);
  opened.push(readiness);
  return readiness;
}

describe("readiness", () => {
  it("tells a new watcher the current answer once, and each later change once", () => {
    const state: { audit: boolean; registry: boolean | "throws" } = { audit: true, registry: true };
    const readiness = readinessOf(state);
    const heard: boolean[] = [];
    readiness.onChange((ready) => heard.push(ready));
    expect(heard).toEqual([true]);

    readiness.evaluate();
    readiness.evaluate();
    expect(heard).toEqual([true]);

    state.audit = false;
    expect(readiness.evaluate()).toEqual({
      ready: false,
      checks: { audit: "not_ready", registry: "ready" },
      details: { audit: "the journal is full" },
    });
    readiness.evaluate();
    state.audit = true;
    readiness.evaluate();
    expect(heard).toEqual([true, false, true]);
  });

  it("a second watcher hears only the current answer, and the first hears nothing new", () => {
    const state: { audit: boolean; registry: boolean | "throws" } = { audit: false, registry: true };
    const readiness = readinessOf(state);
    const first: boolean[] = [];
    const second: boolean[] = [];
    readiness.onChange((ready) => first.push(ready));
    readiness.onChange((ready) => second.push(ready));
    expect(first).toEqual([false]);
    expect(second).toEqual([false]);
  });

  it("counts a check that throws as not ready, without stopping the others", () => {
    const state: { audit: boolean; registry: boolean | "throws" } = { audit: true, registry: "throws" };
    const readiness = readinessOf(state);
    expect(readiness.evaluate()).toEqual({ ready: false, checks: { audit: "ready", registry: "not_ready" }, details: {} });
    state.registry = true;
    expect(readiness.evaluate().ready).toBe(true);
  });
});
