import { mkdtemp, readFile, writeFile } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { builtInConnectorKinds } from "../../connectors/kinds.ts";
import { createFileRegistryStore } from "../../registry/file-store.ts";
import { buildSnapshot } from "../../registry/load.ts";
import { CatalogueError, createRegistry } from "../../registry/registry.ts";

const DEMO = resolve(import.meta.dirname, "../../registry/catalogues/demo.json");
const kinds = builtInConnectorKinds();

async function demoDocument(): Promise<Record<string, unknown>> {
  const store = createFileRegistryStore({ path: DEMO, vars: { DEMO_AGENCIES_URL: "http://127.0.0.1:9" } });
  return (await store.read()) as Record<string, unknown>;
}

describe("catalogue validation", () => {
  it("accepts the demo catalogue and exposes its entries", async () => {
    const built = buildSnapshot(await demoDocument(), kinds);
    if (!built.ok) throw new Error(JSON.stringify(built.issues));
    const s = built.snapshot;
    expect([...s.inquiryTypes.keys()]).toEqual(
      expect.arrayContaining(["nocr.identity-match.v1", "post.address-by-postcode.v1", "cbi.iban-owner.v1"]),
    );
    expect(s.bindings.get("nocr.identity-match.v1")?.endpoint.key).toBe("nocr/main");
    expect(s.bindings.has("nocr.alive-status.v1")).toBe(false);
    expect(s.grant("demo-bank", "cbi.iban-owner.v1")?.purposes.has("payment.beneficiary-check")).toBe(true);
    expect(s.grant("counter-office", "cbi.iban-owner.v1")).toBeUndefined();
    expect(Object.isFrozen(s)).toBe(true);
  });

  it("rejects a bad catalogue naming every bad entry, not just the first", async () => {
    const doc = await demoDocument();
    const types = doc.inquiryTypes as Array<Record<string, unknown>>;
    (types[0] as Record<string, unknown>).agency = "nobody";
    (types[2] as Record<string, unknown>).params = { postal_code: { type: "postcode" } };
    (doc.bindings as Array<Record<string, unknown>>).push({
      inquiryType: "cbi.iban-owner.v1",
      agency: "cbi",
      endpoint: "backup",
      operation: { path: "x" },
    });
    (doc.grants as Array<Record<string, unknown>>).push({ requester: "demo-bank", inquiryType: "nocr.unknown.v1", purposes: [] });
    (doc.agencies as Array<Record<string, unknown>>).push({ id: "nocr", name: { fa: "تکراری", en: "duplicate" }, colour: "red" });
    const built = buildSnapshot(doc, kinds);
    expect(built.ok).toBe(false);
    if (built.ok) return;
    const paths = built.issues.map((i) => `${i.path}: ${i.message}`);
    expect(paths).toEqual(
      expect.arrayContaining([
        expect.stringMatching(/^inquiryTypes\[0\]\(nocr\.identity-match\.v1\)\.agency: unknown agency 'nobody'/),
        expect.stringMatching(/^inquiryTypes\[2\]\(post\.address-by-postcode\.v1\)\.params\.postal_code\.type: must be one of/),
        expect.stringMatching(/^bindings\[3\]\(cbi\.iban-owner\.v1\)\.endpoint: agency 'cbi' has no endpoint 'backup'/),
        expect.stringMatching(/^grants\[7\]\(demo-bank\)\.inquiryType: unknown inquiry type 'nocr\.unknown\.v1'/),
        expect.stringMatching(/^grants\[7\]\(demo-bank\)\.purposes: must list at least one purpose code/),
        expect.stringMatching(/^agencies\[6\]\(nocr\)\.colour: unknown key/),
        expect.stringMatching(/^agencies\[6\]\(nocr\): duplicate id/),
      ]),
    );
  });

  it("validates connector options through the connector kind", async () => {
    const doc = await demoDocument();
    const agencies = doc.agencies as Array<{ endpoints?: Array<Record<string, unknown>> }>;
    (agencies[1]?.endpoints?.[0] as Record<string, unknown>).options = { baseUrl: "ftp://post.example", connections: -1 };
    (agencies[2]?.endpoints?.[0] as Record<string, unknown>).kind = "carrier-pigeon";
    const built = buildSnapshot(doc, kinds);
    expect(built.ok).toBe(false);
    if (built.ok) return;
    const text = built.issues.map((i) => `${i.path}: ${i.message}`).join("\n");
    expect(text).toContain("agencies[1](post).endpoints[0](main).options.baseUrl: must be an http:// or https:// URL");
    expect(text).toContain("agencies[1](post).endpoints[0](main).options.connections: must be an integer");
    expect(text).toContain("agencies[2](cbi).endpoints[0](main).kind: unknown connector kind 'carrier-pigeon'");
  });

  it("stops start-up with a CatalogueError listing the problems, and names unset variables", async () => {
    const dir = await mkdtemp(join(tmpdir(), "estelam-catalogue-"));
    const text = await readFile(DEMO, "utf8");
    // The demo catalogue has defaults for its variables, so it loads with none set.
    await expect(createRegistry({ store: createFileRegistryStore({ path: DEMO, vars: {} }), kinds })).resolves.toBeDefined();

    const unset = join(dir, "unset.json");
    // biome-ignore lint/suspicious/noTemplateCurlyInString: the catalogue's own ${NAME} references.
    await writeFile(unset, text.replace("${DEMO_AGENCIES_URL:-http://127.0.0.1:8090}", "${NOCR_URL}"));
    await expect(createRegistry({ store: createFileRegistryStore({ path: unset, vars: {} }), kinds })).rejects.toThrow(
      /catalogue\.agencies\[0\]\.endpoints\[0\]\.options\.baseUrl: variable \$\{NOCR_URL\} is not set/,
    );

    const broken = join(dir, "broken.json");
    await writeFile(
      broken,
      text.replace('"timeoutMs": 2000', '"timeoutMs": "fast"').replace('"kyc.address-verification"', '"KYC Address"'),
    );
    const failure = await createRegistry({ store: createFileRegistryStore({ path: broken }), kinds }).catch((e: unknown) => e);
    expect(failure).toBeInstanceOf(CatalogueError);
    expect((failure as CatalogueError).issues.map((i) => i.path)).toEqual([
      "inquiryTypes[2](post.address-by-postcode.v1).timeoutMs",
      "grants[2](demo-bank).purposes[0]",
    ]);

    const notJson = join(dir, "not-json.json");
    await writeFile(notJson, "{ agencies: [");
    await expect(createRegistry({ store: createFileRegistryStore({ path: notJson }), kinds })).rejects.toThrow(/is not valid JSON/);
    await expect(createRegistry({ store: createFileRegistryStore({ path: join(dir, "missing.json") }), kinds })).rejects.toThrow(
      /cannot be read/,
    );
  });

  it("swaps a new snapshot in whole and keeps the old one when the new catalogue is bad", async () => {
    const dir = await mkdtemp(join(tmpdir(), "estelam-catalogue-"));
    const file = join(dir, "catalogue.json");
    const text = await readFile(DEMO, "utf8");
    await writeFile(file, text);
    const registry = await createRegistry({ store: createFileRegistryStore({ path: file }), kinds });
    const first = registry.current();
    const swaps: string[] = [];
    registry.onSwap((next, previous) => swaps.push(`${previous?.version} -> ${next.version}`));

    await writeFile(file, text.replace('"version": "demo-2026.11"', '"version": "demo-2026.12"'));
    await registry.reload();
    expect(registry.current().version).toBe("demo-2026.12");
    expect(first.version).toBe("demo-2026.11"); // the old snapshot is untouched

    await writeFile(file, text.replace('"version": "demo-2026.11"', '"version": ""'));
    await expect(registry.reload()).rejects.toBeInstanceOf(CatalogueError);
    expect(registry.current().version).toBe("demo-2026.12");
    expect(swaps).toEqual(["demo-2026.11 -> demo-2026.12"]);
  });
});
