// Validates a whole set of registry documents into an immutable RegistrySnapshot. Every problem is
// collected with its document's source, `Kind/name` and the path inside it, instead of stopping at the
// first: a bad set is rejected as a whole. Unknown keys are problems everywhere, so a typo never silently
// falls back to a default. JSON Schemas are compiled here, once per revision.
import { createHash } from "node:crypto";
import type { JsonObject } from "@bufbuild/protobuf";
import type {
  Agency,
  Binding,
  BreakerSettings,
  ConsentTier,
  Contact,
  Credential,
  DataClassification,
  Endpoint,
  EndpointKinds,
  Grant,
  InquiryType,
  LocalizedText,
  Problem,
  RegistrySnapshot,
  Route,
  SnapshotResult,
  SubUnit,
} from "./catalogue.ts";
import { API_VERSION, canonicalJson, documentKey, identify, isKind, KINDS, type Kind, type RegistryDocument } from "./documents.ts";
import { interpolate, type Vars } from "./interpolate.ts";
import { createSchemaCompiler } from "./params.ts";

const AGENCY_ID = /^[a-z][a-z0-9-]{1,31}$/;
const LOCAL_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
const GRANT_LOCAL_NAME = /^[a-z0-9][a-z0-9.\-/]{0,126}$/;
const INQUIRY_TYPE_ID = /^([a-z][a-z0-9-]{1,31})\.[a-z][a-z0-9-]{0,63}\.v[1-9][0-9]{0,2}$/;
const PURPOSE = /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;
const LABEL_KEY = /^[a-z0-9]([a-z0-9._/-]{0,61}[a-z0-9])?$/;

export const DEFAULT_BREAKER: BreakerSettings = {
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  resetTimeoutMs: 5_000,
  rollingWindowMs: 10_000,
  maxConcurrent: 512,
};
export const DEFAULT_TIMEOUT_MS = 5_000;
export const DEFAULT_LATENCY_OBJECTIVE_MS = 500;
export const DEFAULT_SUCCESS_RATE_OBJECTIVE = 0.99;
const CONSENT_TIERS: readonly ConsentTier[] = ["agency", "one-time-code", "citizen"];
const CLASSIFICATIONS: readonly DataClassification[] = ["public", "internal", "confidential", "secret"];

type Obj = Record<string, unknown>;

/** Checks one document, recording problems with its source and identity. */
class Checker {
  document = "";
  private readonly problems: Problem[];
  readonly source: string;

  constructor(problems: Problem[], source: string) {
    this.problems = problems;
    this.source = source;
  }

  issue(path: string, message: string): void {
    this.problems.push({ source: this.source, document: this.document, path, message });
  }

  object(value: unknown, path: string, keys: readonly string[]): Obj | undefined {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.issue(path, "must be an object");
      return undefined;
    }
    for (const key of Object.keys(value)) if (!keys.includes(key)) this.issue(join(path, key), `unknown key (allowed: ${keys.join(", ")})`);
    return value as Obj;
  }

  list(value: unknown, path: string): unknown[] {
    if (value === undefined) return [];
    if (!Array.isArray(value)) {
      this.issue(path, "must be a list");
      return [];
    }
    return value;
  }

  string(obj: Obj, key: string, path: string, options: { required?: boolean; pattern?: RegExp; hint?: string; max?: number } = {}): string {
    const value = obj[key];
    const at = join(path, key);
    if (value === undefined && options.required === false) return "";
    if (typeof value !== "string" || value.length === 0) {
      this.issue(at, options.required === false ? "must be a non-empty string" : "is required (a non-empty string)");
      return "";
    }
    if (value.length > (options.max ?? 1000)) this.issue(at, `must be at most ${options.max ?? 1000} characters`);
    else if (options.pattern !== undefined && !options.pattern.test(value))
      this.issue(at, `'${value}' is not valid${options.hint === undefined ? "" : `: ${options.hint}`}`);
    return value;
  }

  number(obj: Obj, key: string, path: string, fallback: number, min: number, max: number, integer = true): number {
    const value = obj[key];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max || (integer && !Number.isInteger(value))) {
      this.issue(join(path, key), `must be ${integer ? "a whole number" : "a number"} from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  boolean(obj: Obj, key: string, path: string, fallback: boolean): boolean {
    const value = obj[key];
    if (value === undefined) return fallback;
    if (typeof value !== "boolean") {
      this.issue(join(path, key), "must be true or false");
      return fallback;
    }
    return value;
  }

  oneOf<T extends string>(obj: Obj, key: string, path: string, allowed: readonly T[], fallback: T): T {
    const value = obj[key];
    if (value === undefined) return fallback;
    if (typeof value !== "string" || !(allowed as readonly string[]).includes(value)) {
      this.issue(join(path, key), `must be one of ${allowed.join(", ")}`);
      return fallback;
    }
    return value as T;
  }

  text(obj: Obj, key: string, path: string, required = true): LocalizedText {
    const value = obj[key];
    if (value === undefined && !required) return { fa: "", en: "" };
    const o = this.object(value, join(path, key), ["fa", "en"]);
    if (o === undefined) return { fa: "", en: "" };
    const at = join(path, key);
    return { fa: this.string(o, "fa", at, { required }), en: this.string(o, "en", at, { required }) };
  }

  stringMap(value: unknown, path: string): void {
    if (value === undefined) return;
    const o = this.object(value, path, Object.keys(value ?? {}));
    if (o === undefined) return;
    for (const [k, v] of Object.entries(o)) {
      if (!LABEL_KEY.test(k)) this.issue(join(path, k), "keys are lowercase letters, digits, '.', '_', '-' and '/'");
      if (typeof v !== "string") this.issue(join(path, k), "must be a string");
    }
  }
}

function join(path: string, key: string): string {
  return path === "" ? key : `${path}.${key}`;
}

/** A document that passed the envelope checks, with its spec's `${NAME}` references filled in. */
interface Entry {
  readonly c: Checker;
  readonly name: string;
  readonly spec: Obj;
  /** `<agency>` part of an agency-scoped name, when the name has that shape. */
  readonly scope: string;
}

/** Splits an agency-scoped name `<agency>/<local>`; reports it when the shape is wrong. */
function scoped(entry: { c: Checker; name: string }, local: RegExp, example: string): { agency: string; local: string } | undefined {
  const slash = entry.name.indexOf("/");
  const agency = slash < 0 ? "" : entry.name.slice(0, slash);
  const rest = slash < 0 ? "" : entry.name.slice(slash + 1);
  if (!AGENCY_ID.test(agency) || !local.test(rest)) {
    entry.c.issue("metadata.name", `'${entry.name}' is not valid: expected <agency>/<name>, e.g. ${example}`);
    return undefined;
  }
  return { agency, local: rest };
}

function breakerSettings(c: Checker, raw: unknown, path: string): BreakerSettings {
  if (raw === undefined) return DEFAULT_BREAKER;
  const o = c.object(raw, path, Object.keys(DEFAULT_BREAKER));
  if (o === undefined) return DEFAULT_BREAKER;
  return {
    errorThresholdPercentage: c.number(o, "errorThresholdPercentage", path, DEFAULT_BREAKER.errorThresholdPercentage, 1, 100),
    volumeThreshold: c.number(o, "volumeThreshold", path, DEFAULT_BREAKER.volumeThreshold, 1, 1_000_000),
    resetTimeoutMs: c.number(o, "resetTimeoutMs", path, DEFAULT_BREAKER.resetTimeoutMs, 10, 3_600_000),
    rollingWindowMs: c.number(o, "rollingWindowMs", path, DEFAULT_BREAKER.rollingWindowMs, 100, 3_600_000),
    maxConcurrent: c.number(o, "maxConcurrent", path, DEFAULT_BREAKER.maxConcurrent, 1, 1_000_000),
  };
}

export interface BuildOptions {
  /** The revision number the snapshot will carry. */
  readonly revision: number;
  /** The connector kinds whose endpoints and operations may appear. */
  readonly kinds: EndpointKinds;
  /** Variables for `${NAME}` references: this gateway instance's environment. */
  readonly vars: Vars;
}

/**
 * A stable text of a kind's resolved options, for telling whether two builds of an endpoint differ: object
 * keys sorted, sets, maps, URLs and bytes by their contents; anything else by its type. Bounded in depth.
 */
function fingerprint(value: unknown, depth = 0): string {
  if (depth > 32) return "…";
  if (typeof value === "bigint") return `${value}n`;
  if (value === null || typeof value !== "object") return typeof value === "function" ? "fn" : (JSON.stringify(value) ?? String(value));
  if (value instanceof URL) return JSON.stringify(value.href);
  if (ArrayBuffer.isView(value)) return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
  if (Array.isArray(value) || value instanceof Set) return `[${[...value].map((v) => fingerprint(v, depth + 1)).join(",")}]`;
  if (value instanceof Map)
    return `M[${[...value].map(([k, v]) => `${fingerprint(k, depth + 1)}:${fingerprint(v, depth + 1)}`).join(",")}]`;
  const keys = Object.keys(value).sort();
  return `{${keys.map((k) => `${JSON.stringify(k)}:${fingerprint((value as Record<string, unknown>)[k], depth + 1)}`).join(",")}}`;
}

const SCALAR_TYPES: ReadonlySet<unknown> = new Set(["string", "number", "integer", "boolean"]);

/**
 * Whether params valid under `schema` always hold text, a number or a boolean at `dotPath`: every step is
 * `required` on the way, and the last is typed as scalars only (no null, object or list).
 */
function requiresScalar(schema: JsonObject, dotPath: string): boolean {
  let at: unknown = schema;
  for (const step of dotPath.split(".")) {
    if (typeof at !== "object" || at === null) return false;
    const { required, properties } = at as { required?: unknown; properties?: unknown };
    if (!Array.isArray(required) || !required.includes(step)) return false;
    at = typeof properties === "object" && properties !== null ? (properties as Record<string, unknown>)[step] : undefined;
  }
  const type = typeof at === "object" && at !== null ? (at as { type?: unknown }).type : undefined;
  const types = Array.isArray(type) ? type : [type];
  return types.length > 0 && types.every((t) => SCALAR_TYPES.has(t));
}

/** Validates a whole set of documents. */
export function buildSnapshot(documents: readonly RegistryDocument[], options: BuildOptions): SnapshotResult {
  const problems: Problem[] = [];
  const byKind = new Map<Kind, Entry[]>(KINDS.map((k) => [k, []]));
  const seen = new Map<string, string>();

  // The envelope: apiVersion, kind, metadata, spec.
  for (const document of documents) {
    const c = new Checker(problems, document.source);
    const claimed = identify(document.content);
    if (isKind(claimed.kind) && claimed.name !== "") c.document = documentKey(claimed.kind, claimed.name);
    const top = c.object(document.content, "", ["apiVersion", "kind", "metadata", "spec"]);
    if (top === undefined) continue;
    if (top.apiVersion !== API_VERSION) c.issue("apiVersion", `must be ${API_VERSION}`);
    const kind = top.kind;
    if (!isKind(kind)) {
      c.issue("kind", `must be one of ${KINDS.join(", ")}`);
      continue;
    }
    const metadata = c.object(top.metadata, "metadata", ["name", "labels", "annotations"]);
    if (metadata === undefined) continue;
    const name = c.string(metadata, "name", "metadata", { max: 200 });
    if (name === "") continue;
    c.document = documentKey(kind, name);
    c.stringMap(metadata.labels, "metadata.labels");
    c.stringMap(metadata.annotations, "metadata.annotations");
    const key = documentKey(kind, name);
    const earlier = seen.get(key);
    if (earlier !== undefined) {
      c.issue("", `is given twice (also at ${earlier})`);
      continue;
    }
    seen.set(key, document.source);
    if (typeof top.spec !== "object" || top.spec === null || Array.isArray(top.spec)) {
      c.issue("spec", "is required (an object)");
      continue;
    }
    const issues: Array<{ path: string; message: string }> = [];
    const spec = interpolate(top.spec, options.vars, "spec", issues) as Obj;
    for (const issue of issues) c.issue(issue.path, issue.message);
    const slash = name.indexOf("/");
    byKind.get(kind)?.push({ c, name, spec, scope: slash < 0 ? "" : name.slice(0, slash) });
  }
  const entries = (kind: Kind): readonly Entry[] => byKind.get(kind) ?? [];

  // Agencies.
  const agencies = new Map<string, Agency>();
  for (const e of entries("Agency")) {
    const { c, spec } = e;
    if (!AGENCY_ID.test(e.name)) c.issue("metadata.name", `'${e.name}' is not valid: lowercase letters, digits and '-', 2–32 characters`);
    const o = c.object(spec, "spec", ["name", "status", "contacts", "subUnits"]);
    if (o === undefined) continue;
    const contacts: Contact[] = c.list(o.contacts, "spec.contacts").flatMap((raw, i) => {
      const path = `spec.contacts[${i}]`;
      const x = c.object(raw, path, ["name", "role", "email", "phone"]);
      if (x === undefined) return [];
      const contact = {
        name: c.string(x, "name", path),
        role: c.string(x, "role", path, { required: false }),
        email: c.string(x, "email", path, { required: false, pattern: /^[^\s@]+@[^\s@]+$/, hint: "an e-mail address" }),
        phone: c.string(x, "phone", path, { required: false, pattern: /^\+?[0-9 ()-]{5,20}$/, hint: "a phone number" }),
      };
      if (contact.email === "" && contact.phone === "") c.issue(path, "needs an email or a phone");
      return [contact];
    });
    const subUnits = new Map<string, SubUnit>();
    c.list(o.subUnits, "spec.subUnits").forEach((raw, i) => {
      const path = `spec.subUnits[${i}]`;
      const x = c.object(raw, path, ["id", "name"]);
      if (x === undefined) return;
      const id = c.string(x, "id", path, { pattern: LOCAL_NAME, hint: "lowercase letters, digits and '-'" });
      if (subUnits.has(id)) c.issue(`${path}.id`, `duplicate sub-unit '${id}'`);
      subUnits.set(id, { id, name: c.text(x, "name", path) });
    });
    agencies.set(e.name, {
      id: e.name,
      name: c.text(o, "name", "spec"),
      status: c.oneOf(o, "status", "spec", ["active", "suspended"], "active"),
      contacts,
      subUnits,
    });
  }
  const knownAgency = (e: Entry, agency: string): boolean => {
    if (agencies.has(agency)) return true;
    e.c.issue("metadata.name", `unknown agency '${agency}' (no Agency/${agency} document)`);
    return false;
  };
  const knownSubUnit = (c: Checker, agency: string, subUnit: string, path: string): void => {
    if (subUnit !== "" && agencies.get(agency)?.subUnits.has(subUnit) === false)
      c.issue(path, `agency '${agency}' has no sub-unit '${subUnit}'`);
  };

  // Credentials.
  const credentialsByHash = new Map<string, Credential>();
  const credentialsByFingerprint = new Map<string, Credential>();
  const credentialsBySubject = new Map<string, Credential>();
  let admins = 0;
  for (const e of entries("Credential")) {
    const { c, spec } = e;
    const id = scoped(e, LOCAL_NAME, "demo-bank/dev");
    const o = c.object(spec, "spec", ["subUnit", "role", "apiKeySha256", "certificate"]);
    if (id === undefined || o === undefined || !knownAgency(e, id.agency)) continue;
    const subUnit = c.string(o, "subUnit", "spec", { required: false });
    knownSubUnit(c, id.agency, subUnit, "spec.subUnit");
    const role = c.oneOf(o, "role", "spec", ["agency", "admin"], "agency");
    let apiKeySha256: string | undefined;
    if (o.apiKeySha256 !== undefined) {
      apiKeySha256 = c.string(o, "apiKeySha256", "spec", { pattern: SHA256_HEX, hint: "the lowercase hex SHA-256 of the API key" });
      const other = credentialsByHash.get(apiKeySha256);
      if (other !== undefined) c.issue("spec.apiKeySha256", `the same key is registered for Credential/${other.id}`);
    }
    let certificate: Credential["certificate"];
    if (o.certificate !== undefined) {
      const x = c.object(o.certificate, "spec.certificate", ["subject", "sha256Fingerprint"]);
      if (x !== undefined) {
        const subject = c.string(x, "subject", "spec.certificate", { required: false });
        const fingerprint = c.string(x, "sha256Fingerprint", "spec.certificate", {
          required: false,
          pattern: /^([0-9a-f]{2}:){31}[0-9a-f]{2}$|^[0-9a-f]{64}$/,
          hint: "64 lowercase hex digits (colons allowed)",
        });
        if (subject === "" && fingerprint === "") c.issue("spec.certificate", "needs a subject or a sha256Fingerprint");
        certificate = { subject: subject || undefined, sha256Fingerprint: fingerprint.replace(/:/g, "") || undefined };
      }
    }
    if ((apiKeySha256 === undefined) === (certificate === undefined)) c.issue("spec", "needs exactly one of apiKeySha256 and certificate");
    const credential: Credential = { id: e.name, agency: id.agency, subUnit: subUnit || undefined, role, apiKeySha256, certificate };
    if (apiKeySha256 !== undefined && !credentialsByHash.has(apiKeySha256)) credentialsByHash.set(apiKeySha256, credential);
    const fingerprint = certificate?.sha256Fingerprint?.toLowerCase();
    if (fingerprint !== undefined) {
      const other = credentialsByFingerprint.get(fingerprint);
      if (other !== undefined)
        c.issue("spec.certificate.sha256Fingerprint", `the same certificate is registered for Credential/${other.id}`);
      else credentialsByFingerprint.set(fingerprint, credential);
    }
    if (certificate?.subject !== undefined) {
      const other = credentialsBySubject.get(certificate.subject);
      if (other !== undefined) c.issue("spec.certificate.subject", `the same subject is registered for Credential/${other.id}`);
      else credentialsBySubject.set(certificate.subject, credential);
    }
    if (role === "admin" && agencies.get(id.agency)?.status === "active") admins += 1;
  }

  // Endpoints.
  const endpoints = new Map<string, Endpoint>();
  for (const e of entries("Endpoint")) {
    const { c, spec } = e;
    const id = scoped(e, LOCAL_NAME, "nocr/main");
    const o = c.object(spec, "spec", ["kind", "module", "options", "breaker"]);
    if (id === undefined || o === undefined) continue;
    knownAgency(e, id.agency);
    const kind = c.string(o, "kind", "spec");
    // A third-party kind comes from the module the document names; it must give the kind the document says.
    const module = o.module === undefined ? "" : c.string(o, "module", "spec", { max: 1000 });
    let moduleProblem = false;
    if (module !== "") {
      const loaded = options.kinds.load?.(module) ?? { ok: false as const, message: "connector modules are not allowed here" };
      if (!loaded.ok) {
        c.issue("spec.module", loaded.message);
        moduleProblem = true;
      } else if (kind !== "" && loaded.kind !== kind) {
        c.issue("spec.kind", `module '${module}' gives connector kind '${loaded.kind}', not '${kind}'`);
        moduleProblem = true;
      }
    }
    const factory = kind === "" || moduleProblem ? undefined : options.kinds.get(kind);
    if (kind !== "" && factory === undefined && !moduleProblem)
      c.issue(
        "spec.kind",
        `unknown connector kind '${kind}' (known: ${options.kinds.names().join(", ")}; or name a module in spec.module)`,
      );
    let validated: unknown;
    let valid = false;
    if (factory !== undefined) {
      const checked = factory.validateEndpoint(o.options, "spec.options");
      if (checked.ok) {
        validated = checked.options;
        valid = true;
      } else for (const issue of checked.issues) c.issue(issue.path, issue.message);
    }
    const breaker = breakerSettings(c, o.breaker, "spec.breaker");
    if (!valid) continue;
    // The connection is named by what it was built from: the document, and the options the kind resolved
    // from it, which hold the contents of the files it names (a renewed certificate is a new connection).
    const digest = createHash("sha256")
      .update(canonicalJson(spec as JsonObject))
      .update(fingerprint(validated))
      .digest("hex");
    endpoints.set(e.name, {
      key: e.name,
      agency: id.agency,
      name: id.local,
      kind,
      module: module === "" ? undefined : module,
      options: validated,
      breaker,
      connection: `${e.name}@${digest.slice(0, 16)}`,
    });
  }

  // Inquiry types.
  const compiler = createSchemaCompiler();
  const inquiryTypes = new Map<string, InquiryType>();
  for (const e of entries("InquiryType")) {
    const { c, spec } = e;
    const agency = INQUIRY_TYPE_ID.exec(e.name)?.[1];
    if (agency === undefined) {
      c.issue("metadata.name", `'${e.name}' is not valid: expected <agency>.<name>.v<version>, e.g. nocr.identity-match.v1`);
      continue;
    }
    const o = c.object(spec, "spec", [
      "title",
      "description",
      "params",
      "result",
      "timeoutMs",
      "objectives",
      "consent",
      "classification",
      "legalBasis",
      "cache",
      "audit",
    ]);
    if (o === undefined) continue;
    if (!agencies.has(agency)) c.issue("metadata.name", `unknown agency '${agency}' (the agency that answers comes first in the id)`);
    const issues: Array<{ path: string; message: string }> = [];
    const params = o.params === undefined ? undefined : compiler.params(o.params, "spec.params", issues);
    if (o.params === undefined) c.issue("spec.params", "is required (a JSON Schema of type object)");
    const result = o.result === undefined ? undefined : compiler.result(o.result, "spec.result", issues);
    for (const issue of issues) c.issue(issue.path, issue.message);
    const timeoutMs = c.number(o, "timeoutMs", "spec", DEFAULT_TIMEOUT_MS, 1, 600_000);
    const objectives =
      o.objectives === undefined ? {} : (c.object(o.objectives, "spec.objectives", ["latencyMs", "latencyP95Ms", "successRate"]) ?? {});
    const latencyObjectiveMs = c.number(objectives, "latencyMs", "spec.objectives", DEFAULT_LATENCY_OBJECTIVE_MS, 1, 600_000);
    if (latencyObjectiveMs > timeoutMs) c.issue("spec.objectives.latencyMs", "must not exceed timeoutMs");
    // Optional: a 95th-percentile target besides the 99th's; unset, only the p99 objective is judged.
    const latencyP95ObjectiveMs =
      objectives.latencyP95Ms === undefined ? undefined : c.number(objectives, "latencyP95Ms", "spec.objectives", 0, 1, latencyObjectiveMs);
    const successRateObjective = c.number(objectives, "successRate", "spec.objectives", DEFAULT_SUCCESS_RATE_OBJECTIVE, 0, 1, false);
    const cache = o.cache === undefined ? {} : (c.object(o.cache, "spec.cache", ["allowed", "ttlSeconds"]) ?? {});
    const cacheAllowed = c.boolean(cache, "allowed", "spec.cache", false);
    const ttlSeconds = c.number(cache, "ttlSeconds", "spec.cache", 0, 0, 31 * 24 * 3600);
    if (cacheAllowed && ttlSeconds === 0) c.issue("spec.cache.ttlSeconds", "must be set (at least 1) when answers may be cached");
    const audit = o.audit === undefined ? {} : (c.object(o.audit, "spec.audit", ["payloads", "whenAuditUnavailable"]) ?? {});
    const type: InquiryType | undefined =
      params === undefined
        ? undefined
        : {
            id: e.name,
            agency,
            title: c.text(o, "title", "spec"),
            description: c.text(o, "description", "spec", false),
            paramsSchema: o.params as JsonObject,
            resultSchema: o.result as JsonObject | undefined,
            result,
            params,
            timeoutMs,
            latencyObjectiveMs,
            latencyP95ObjectiveMs,
            successRateObjective,
            consent: c.oneOf(o, "consent", "spec", CONSENT_TIERS, "agency"),
            classification: c.oneOf(o, "classification", "spec", CLASSIFICATIONS, "confidential"),
            legalBasis: c.string(o, "legalBasis", "spec", { required: false, max: 2000 }),
            cache: { allowed: cacheAllowed, ttlSeconds },
            audit: {
              payloads: c.oneOf(audit, "payloads", "spec.audit", ["digest", "encrypted"], "digest"),
              whenAuditUnavailable: c.oneOf(audit, "whenAuditUnavailable", "spec.audit", ["refuse", "answer"], "refuse"),
            },
          };
    if (type !== undefined) inquiryTypes.set(e.name, type);
  }

  // Bindings: which endpoints answer an inquiry type. The binding is named after the inquiry type.
  const bindings = new Map<string, Binding>();
  for (const e of entries("Binding")) {
    const { c, spec } = e;
    const type = inquiryTypes.get(e.name);
    // An inquiry type that is given but has problems of its own is reported there, not again here.
    if (type === undefined && !entries("InquiryType").some((x) => x.name === e.name))
      c.issue("metadata.name", `unknown inquiry type '${e.name}' (a binding is named after its inquiry type)`);
    const o = c.object(spec, "spec", ["endpoints"]);
    if (o === undefined) continue;
    const list = c.list(o.endpoints, "spec.endpoints");
    if (list.length === 0) c.issue("spec.endpoints", "must list at least one endpoint");
    const routes: Route[] = [];
    const used = new Set<string>();
    list.forEach((raw, i) => {
      const path = `spec.endpoints[${i}]`;
      const x = c.object(raw, path, ["endpoint", "operation", "priority", "weight"]);
      if (x === undefined) return;
      const name = c.string(x, "endpoint", path);
      const priority = c.number(x, "priority", path, 0, 0, 1000);
      const weight = c.number(x, "weight", path, 100, 1, 10_000);
      if (used.has(name)) c.issue(`${path}.endpoint`, `endpoint '${name}' is listed twice`);
      used.add(name);
      const endpoint = endpoints.get(name);
      if (name !== "" && endpoint === undefined && !entries("Endpoint").some((x) => x.name === name)) {
        c.issue(`${path}.endpoint`, `unknown endpoint '${name}' (no Endpoint/${name} document)`);
      }
      if (endpoint === undefined) return;
      if (type !== undefined && endpoint.agency !== type.agency)
        c.issue(`${path}.endpoint`, `inquiry type '${type.id}' is answered by its owner '${type.agency}', not by '${endpoint.agency}'`);
      const factory = options.kinds.get(endpoint.kind);
      if (factory === undefined) return;
      const checked = factory.validateOperation(x.operation, `${path}.operation`);
      if (!checked.ok) {
        for (const issue of checked.issues) c.issue(issue.path, issue.message);
        return;
      }
      if (type !== undefined)
        for (const needed of factory.requiredParams?.(checked.options) ?? [])
          if (!requiresScalar(type.paramsSchema, needed.param))
            c.issue(
              `${path}.operation.${needed.option}`,
              `names param '${needed.param}', which inquiry type '${type.id}' does not require as text, a number or a boolean: an inquiry without it could not be sent (list it in the type's params 'required' with such a type, or name it where it may be left out)`,
            );
      routes.push({ endpoint, operation: checked.options, priority, weight });
    });
    if (type !== undefined && routes.length > 0) {
      routes.sort((a, b) => a.priority - b.priority);
      bindings.set(type.id, { inquiryType: type.id, routes });
    }
  }

  // Grants: who may ask what, for which purposes. Deny by default.
  const grants = new Map<string, Grant>();
  const grantsByAgency = new Map<string, Grant[]>();
  for (const e of entries("Grant")) {
    const { c, spec } = e;
    const id = scoped(e, GRANT_LOCAL_NAME, "demo-bank/nocr.identity-match.v1");
    const o = c.object(spec, "spec", ["inquiryType", "subUnit", "purposes", "quota"]);
    if (id === undefined || o === undefined) continue;
    knownAgency(e, id.agency);
    const inquiryType = c.string(o, "inquiryType", "spec");
    if (inquiryType !== "" && !inquiryTypes.has(inquiryType) && !entries("InquiryType").some((x) => x.name === inquiryType))
      c.issue("spec.inquiryType", `unknown inquiry type '${inquiryType}'`);
    const subUnit = c.string(o, "subUnit", "spec", { required: false });
    knownSubUnit(c, id.agency, subUnit, "spec.subUnit");
    const purposes = c.list(o.purposes, "spec.purposes");
    if (purposes.length === 0) c.issue("spec.purposes", "must list at least one purpose code");
    purposes.forEach((p, j) => {
      if (typeof p !== "string" || p.length > 100 || !PURPOSE.test(p))
        c.issue(`spec.purposes[${j}]`, "must be a purpose code such as kyc.account-opening");
    });
    const quota = o.quota === undefined ? {} : (c.object(o.quota, "spec.quota", ["perSecond", "perDay"]) ?? {});
    const grant: Grant = {
      name: e.name,
      requester: id.agency,
      subUnit: subUnit || undefined,
      inquiryType,
      purposes: new Set(purposes.filter((p): p is string => typeof p === "string")),
      quota: {
        perSecond: quota.perSecond === undefined ? undefined : c.number(quota, "perSecond", "spec.quota", 0, 1, 1_000_000),
        perDay: quota.perDay === undefined ? undefined : c.number(quota, "perDay", "spec.quota", 0, 1, 1_000_000_000),
      },
    };
    const key = grantKey(id.agency, grant.subUnit, inquiryType);
    const other = grants.get(key);
    if (other !== undefined)
      c.issue("", `grants the same as Grant/${other.name} (${id.agency}${grant.subUnit ? `/${grant.subUnit}` : ""} → ${inquiryType})`);
    else {
      grants.set(key, grant);
      grantsByAgency.set(id.agency, [...(grantsByAgency.get(id.agency) ?? []), grant]);
    }
  }

  // Someone must be able to change the registry after this revision.
  if (admins === 0 && documents.length > 0) {
    problems.push({
      source: "",
      document: "",
      path: "",
      message: "the registry must keep at least one admin credential (Credential with role: admin) of an active agency",
    });
  }

  if (problems.length > 0) return { ok: false, problems };
  const snapshot: RegistrySnapshot = {
    revision: options.revision,
    agencies,
    inquiryTypes,
    endpoints,
    bindings,
    credentialByKeySha256: (hash) => credentialsByHash.get(hash),
    // A credential that names both the subject and the fingerprint accepts only a certificate with both.
    credentialByCertificate(subject, sha256Hex) {
      const pinned = credentialsByFingerprint.get(sha256Hex.toLowerCase());
      if (pinned !== undefined)
        return pinned.certificate?.subject === undefined || pinned.certificate.subject === subject ? pinned : undefined;
      const named = credentialsBySubject.get(subject);
      return named?.certificate?.sha256Fingerprint === undefined ? named : undefined;
    },
    grant: (requester, subUnit, inquiryType) =>
      (subUnit === undefined ? undefined : grants.get(grantKey(requester, subUnit, inquiryType))) ??
      grants.get(grantKey(requester, undefined, inquiryType)),
    grantsFor(requester, subUnit) {
      const own = grantsByAgency.get(requester) ?? [];
      const byType = new Map<string, Grant>();
      for (const grant of own) if (grant.subUnit === undefined && !byType.has(grant.inquiryType)) byType.set(grant.inquiryType, grant);
      if (subUnit !== undefined) for (const grant of own) if (grant.subUnit === subUnit) byType.set(grant.inquiryType, grant);
      return [...byType.values()].sort((a, b) => (a.inquiryType < b.inquiryType ? -1 : 1));
    },
  };
  return { ok: true, snapshot: Object.freeze(snapshot) };
}

function grantKey(requester: string, subUnit: string | undefined, inquiryType: string): string {
  return `${requester}\u0000${subUnit ?? ""}\u0000${inquiryType}`;
}
