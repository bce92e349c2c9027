// biome-ignore-all lint/suspicious/noTemplateCurlyInString: the documents' own ${NAME} references.
// A set of registry documents is validated whole: the demo documents give a snapshot with every entry, and a
// bad set is refused with every problem named by its source, document and path.
import { resolve } from "node:path";
import { describe, expect, it } from "vitest";
import { builtInConnectorKinds } from "../../connectors/kinds.ts";
import { buildSnapshot } from "../../registry/build.ts";
import { formatProblem } from "../../registry/catalogue.ts";
import { parseDocuments, type RegistryDocument, readDocuments } from "../../registry/documents.ts";

const DEMO = resolve(import.meta.dirname, "../../registry/catalogues/demo");
const kinds = builtInConnectorKinds();

async function demo(): Promise<RegistryDocument[]> {
  const read = await readDocuments(DEMO);
  expect(read.problems).toEqual([]);
  return read.documents;
}

function doc(kind: string, name: string, spec: unknown, source = "extra.yaml#1"): RegistryDocument {
  return { source, content: { apiVersion: "estelam.ir/v1", kind, metadata: { name }, spec } as RegistryDocument["content"] };
}

function build(documents: readonly RegistryDocument[], vars: Record<string, string> = {}) {
  return buildSnapshot(documents, { revision: 7, kinds, vars });
}

function problems(documents: readonly RegistryDocument[], vars: Record<string, string> = {}): string[] {
  const built = build(documents, vars);
  if (built.ok) throw new Error("the set was accepted");
  return built.problems.map(formatProblem);
}

describe("registry documents", () => {
  it("build the demo registry into a snapshot with every entry", async () => {
    const built = build(await demo(), { DEMO_AGENCIES_URL: "http://127.0.0.1:9" });
    if (!built.ok) throw new Error(built.problems.map(formatProblem).join("\n"));
    const s = built.snapshot;
    expect(s.revision).toBe(7);
    expect(s.inquiryTypes.size).toBeGreaterThanOrEqual(19);
    expect([...s.inquiryTypes.keys()]).toEqual(
      expect.arrayContaining(["cbi.iban-owner.v1", "nocr.alive-status.v1", "nocr.identity-match.v1", "post.address-by-postcode.v1"]),
    );
    expect(s.bindings.get("nocr.identity-match.v1")?.routes.map((r) => r.endpoint.key)).toEqual(["nocr/main"]);
    // Registered but not online: no binding.
    expect(s.inquiryTypes.has("nocr.marital-status.v1")).toBe(true);
    expect(s.bindings.has("nocr.marital-status.v1")).toBe(false);
    expect(new Set([...s.endpoints.values()].map((e) => e.kind))).toEqual(new Set(["http-json", "soap", "grpc"]));
    expect(s.grant("demo-bank", undefined, "cbi.iban-owner.v1")?.purposes.has("payment.beneficiary-check")).toBe(true);
    expect(s.grant("counter-office", undefined, "cbi.iban-owner.v1")).toBeUndefined();
    const asked = s.grantsFor("demo-bank", undefined).map((g) => g.inquiryType);
    expect(asked).toEqual([...asked].sort());
    expect(asked).toEqual(expect.arrayContaining(["cbi.iban-owner.v1", "nocr.alive-status.v1", "nocr.identity-match.v1"]));
    const type = s.inquiryTypes.get("post.address-by-postcode.v1");
    expect(type).toMatchObject({ agency: "post", timeoutMs: 2000, latencyObjectiveMs: 150, cache: { allowed: true, ttlSeconds: 86400 } });
    // Defaults the documents leave out.
    expect(s.inquiryTypes.get("nocr.alive-status.v1")).toMatchObject({
      consent: "agency",
      classification: "confidential",
      successRateObjective: 0.99,
      audit: { payloads: "digest", whenAuditUnavailable: "refuse" },
    });
    expect(s.endpoints.get("nocr/main")?.connection).toMatch(/^nocr\/main@[0-9a-f]{16}$/);
    expect(Object.isFrozen(s)).toBe(true);
  });

  it("refuse a bad set naming every problem with its source, document and path, not just the first", async () => {
    const documents = await demo();
    documents.push(
      doc("InquiryType", "nobody.thing.v1", { title: { fa: "x", en: "x" }, params: { type: "object" } }, "bad.yaml#1"),
      doc(
        "InquiryType",
        "post.parcel.v1",
        { title: { fa: "x", en: "x" }, params: { type: "object", properties: { code: { type: "string", format: "postcode" } } } },
        "bad.yaml#2",
      ),
      doc("Binding", "post.parcel.v1", { endpoints: [{ endpoint: "post/backup", operation: { path: "/x" } }] }, "bad.yaml#3"),
      doc("Grant", "demo-bank/nowhere", { inquiryType: "nocr.unknown.v1", purposes: [] }, "bad.yaml#4"),
      doc("Agency", "nocr", { name: { fa: "تکراری", en: "duplicate" } }, "bad.yaml#5"),
      doc("Agency", "mci", { name: { fa: "همراه اول", en: "MCI" }, colour: "red" }, "bad.yaml#6"),
      doc("Endpoint", "mci/main", { kind: "carrier-pigeon" }, "bad.yaml#7"),
      doc("Endpoint", "mci/backup", { kind: "http-json", options: { baseUrl: "ftp://mci.example", connections: -1 } }, "bad.yaml#8"),
    );
    expect(problems(documents)).toEqual(
      expect.arrayContaining([
        "bad.yaml#1 InquiryType/nobody.thing.v1 metadata.name: unknown agency 'nobody' (the agency that answers comes first in the id)",
        expect.stringMatching(
          /^bad\.yaml#2 InquiryType\/post\.parcel\.v1 spec\.params\.properties\.code\.format: unknown format "postcode"/,
        ),
        "bad.yaml#3 Binding/post.parcel.v1 spec.endpoints[0].endpoint: unknown endpoint 'post/backup' (no Endpoint/post/backup document)",
        "bad.yaml#4 Grant/demo-bank/nowhere spec.inquiryType: unknown inquiry type 'nocr.unknown.v1'",
        "bad.yaml#4 Grant/demo-bank/nowhere spec.purposes: must list at least one purpose code",
        expect.stringMatching(/^bad\.yaml#5 Agency\/nocr: is given twice \(also at .*nocr\.yaml#1\)$/),
        expect.stringMatching(/^bad\.yaml#6 Agency\/mci spec\.colour: unknown key/),
        "bad.yaml#7 Endpoint/mci/main spec.kind: unknown connector kind 'carrier-pigeon' (known: http-json, soap, grpc; or name a module in spec.module)",
        "bad.yaml#8 Endpoint/mci/backup spec.options.baseUrl: must be an http:// or https:// URL",
        "bad.yaml#8 Endpoint/mci/backup spec.options.connections: must be >= 1",
      ]),
    );
  });

  it("refuse a binding whose HTTP path names a param the inquiry type does not require", async () => {
    const documents = (await demo()).map((d) => {
      const { kind, metadata, spec } = d.content as { kind: string; metadata: { name: string }; spec: Record<string, unknown> };
      if (metadata.name !== "passport.passport-status.v1") return d;
      const copy = structuredClone(spec) as {
        params: { properties: Record<string, unknown>; required: string[] };
        endpoints: Array<{ operation: { path: string; query?: Record<string, string> } }>;
      };
      if (kind === "InquiryType") {
        copy.params.properties.series = { type: "string", pattern: "^[A-Z]$" };
        copy.params.properties.office = { type: ["string", "null"] };
        copy.params.required.push("office");
      }
      if (kind === "Binding") {
        copy.endpoints[0]!.operation.path = "/citizens/{national_code}/passport/{series}/{holder.name}/{office}";
        // Optional params may fill the query: one left out is not sent.
        copy.endpoints[0]!.operation.query = { series: "{series}" };
      }
      return { ...d, content: { ...d.content, spec: copy } } as RegistryDocument;
    });
    const found = problems(documents, { DEMO_AGENCIES_URL: "http://127.0.0.1:9" });
    expect(found.filter((p) => p.includes("Binding/passport.passport-status.v1"))).toEqual([
      expect.stringMatching(
        /Binding\/passport\.passport-status\.v1 spec\.endpoints\[0\]\.operation\.path: names param 'series', which inquiry type 'passport\.passport-status\.v1' does not require/,
      ),
      expect.stringMatching(/spec\.endpoints\[0\]\.operation\.path: names param 'holder\.name', which inquiry type/),
      // Required, but it may be null: a path cannot hold it either.
      expect.stringMatching(/spec\.endpoints\[0\]\.operation\.path: names param 'office', which inquiry type/),
    ]);
  });

  it("check the envelope: apiVersion, kind, names and the spec", () => {
    const found = problems([
      {
        source: "a.yaml#1",
        content: { apiVersion: "v1", kind: "Agency", metadata: { name: "Bad Name" }, spec: { name: { fa: "x", en: "x" } } },
      },
      { source: "a.yaml#2", content: { apiVersion: "estelam.ir/v1", kind: "Pod", metadata: { name: "x" }, spec: {} } },
      { source: "a.yaml#3", content: { apiVersion: "estelam.ir/v1", kind: "Credential", metadata: { name: "no-slash" }, spec: {} } },
      { source: "a.yaml#4", content: { apiVersion: "estelam.ir/v1", kind: "Grant", metadata: { name: "x/y" } } },
    ]);
    expect(found).toEqual(
      expect.arrayContaining([
        "a.yaml#1 Agency/Bad Name apiVersion: must be estelam.ir/v1",
        "a.yaml#1 Agency/Bad Name metadata.name: 'Bad Name' is not valid: lowercase letters, digits and '-', 2–32 characters",
        "a.yaml#2 kind: must be one of Agency, Credential, Endpoint, InquiryType, Binding, Grant",
        "a.yaml#3 Credential/no-slash metadata.name: 'no-slash' is not valid: expected <agency>/<name>, e.g. demo-bank/dev",
        "a.yaml#4 Grant/x/y spec: is required (an object)",
      ]),
    );
  });

  it("keep at least one admin credential, so the registry can always be changed again", async () => {
    const documents = (await demo()).filter((d) => d.content.kind !== "Credential" || !JSON.stringify(d.content).includes('"admin"'));
    expect(problems(documents)).toContain(
      "the registry must keep at least one admin credential (Credential with role: admin) of an active agency",
    );
  });

  it("fill ${NAME} references from the instance's environment, but never with the gateway's own settings", async () => {
    const documents = await demo();
    documents.push(
      doc("Endpoint", "post/backup", {
        kind: "http-json",
        options: { baseUrl: "${POST_BACKUP_URL}", headers: { "x-key": "${ESTELAM_AUDIT_KEY}" } },
      }),
    );
    const found = problems(documents);
    expect(found).toContain(
      "extra.yaml#1 Endpoint/post/backup spec.options.baseUrl: variable ${POST_BACKUP_URL} is not set on this gateway instance",
    );
    expect(found).toContain(
      "extra.yaml#1 Endpoint/post/backup spec.options.headers.x-key: ${ESTELAM_AUDIT_KEY} refers to a setting of the gateway itself, which documents may not read",
    );
    const ok = build(
      documents.slice(0, -1).concat(doc("Endpoint", "post/backup", { kind: "http-json", options: { baseUrl: "${POST_BACKUP_URL}" } })),
      {
        POST_BACKUP_URL: "http://10.0.0.1:8443/post",
      },
    );
    if (!ok.ok) throw new Error(ok.problems.map(formatProblem).join("\n"));
    expect((ok.snapshot.endpoints.get("post/backup")!.options as { baseUrl: URL }).baseUrl.href).toBe("http://10.0.0.1:8443/post");
  });

  it("let a grant be limited to an agency's sub-unit", async () => {
    const documents = await demo();
    const bank = documents.find((d) => d.content.kind === "Agency" && JSON.stringify(d.content).includes('"demo-bank"'));
    (bank?.content.spec as Record<string, unknown>).subUnits = [{ id: "branch-1021", name: { fa: "شعبه ۱۰۲۱", en: "Branch 1021" } }];
    documents.push(
      doc("Grant", "demo-bank/branch-1021-tax", { inquiryType: "cbi.iban-owner.v1", subUnit: "branch-1021", purposes: ["tax.lookup"] }),
    );
    const built = build(documents);
    if (!built.ok) throw new Error(built.problems.map(formatProblem).join("\n"));
    expect([...(built.snapshot.grant("demo-bank", "branch-1021", "cbi.iban-owner.v1")?.purposes ?? [])]).toEqual(["tax.lookup"]);
    expect([...(built.snapshot.grant("demo-bank", undefined, "cbi.iban-owner.v1")?.purposes ?? [])]).toEqual(["payment.beneficiary-check"]);
    expect([...(built.snapshot.grant("demo-bank", "branch-9", "cbi.iban-owner.v1")?.purposes ?? [])]).toEqual([
      "payment.beneficiary-check",
    ]);
  });

  it("read YAML with several documents per file and JSON lists, naming bad YAML by file and line", () => {
    const yaml = parseDocuments("a: 1\n---\n# only a comment\n---\nb: [1, 2\n", "x.yaml");
    expect(yaml.documents.map((d) => d.source)).toEqual(["x.yaml#1"]);
    expect(yaml.problems[0]?.source).toMatch(/^x\.yaml:\d+$/);
    expect(yaml.problems[0]?.message).toMatch(/^is not valid YAML\/JSON/);
    const json = parseDocuments('[{"kind":"Agency"},{"kind":"Grant"}]', "y.json");
    expect(json.documents.map((d) => d.source)).toEqual(["y.json#1", "y.json#2"]);
    expect(parseDocuments("a: .inf", "z.yaml").problems.map((p) => p.message)).toEqual(["a: is not a finite number"]);
  });
});
