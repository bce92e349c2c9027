// Validates a whole catalogue document into an immutable RegistrySnapshot, collecting every problem with
// the path of the bad entry instead of stopping at the first: a bad catalogue is rejected as a whole.
import type {
  Agency,
  Binding,
  BreakerSettings,
  CatalogueIssue,
  Credential,
  Endpoint,
  EndpointKinds,
  Grant,
  InquiryType,
  LocalizedText,
  RegistrySnapshot,
  SnapshotResult,
} from "./catalogue.ts";
import { createParamsValidator, parseParamSpecs } from "./params.ts";

const AGENCY_ID = /^[a-z][a-z0-9-]{1,31}$/;
const ENDPOINT_NAME = /^[a-z][a-z0-9-]{0,31}$/;
const INQUIRY_TYPE_ID = /^([a-z][a-z0-9-]{1,31})\.[a-z][a-z0-9-]{0,63}\.v[1-9][0-9]{0,2}$/;
const PURPOSE = /^[a-z][a-z0-9-]*(\.[a-z0-9-]+)*$/;
const SHA256_HEX = /^[0-9a-f]{64}$/;

export const DEFAULT_BREAKER: BreakerSettings = {
  errorThresholdPercentage: 50,
  volumeThreshold: 10,
  resetTimeoutMs: 5_000,
  rollingWindowMs: 10_000,
  maxConcurrent: 512,
};
export const DEFAULT_TIMEOUT_MS = 5_000;
export const DEFAULT_LATENCY_OBJECTIVE_MS = 500;

type Obj = Record<string, unknown>;

class Checker {
  readonly issues: CatalogueIssue[] = [];

  issue(path: string, message: string): void {
    this.issues.push({ path, message });
  }

  object(value: unknown, path: string, keys: readonly string[]): Obj | undefined {
    if (typeof value !== "object" || value === null || Array.isArray(value)) {
      this.issue(path, "must be an object");
      return undefined;
    }
    const allowed = new Set(keys);
    for (const key of Object.keys(value)) if (!allowed.has(key)) this.issue(`${path}.${key}`, `unknown key (allowed: ${keys.join(", ")})`);
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

  string(obj: Obj, key: string, path: string, pattern?: RegExp, hint?: string): string {
    const value = obj[key];
    if (typeof value !== "string" || value.length === 0) {
      this.issue(`${path}.${key}`, "is required (a non-empty string)");
      return "";
    }
    if (pattern !== undefined && !pattern.test(value))
      this.issue(`${path}.${key}`, `'${value}' is not valid${hint === undefined ? "" : `: ${hint}`}`);
    return value;
  }

  number(obj: Obj, key: string, path: string, fallback: number, min: number, max: number): number {
    const value = obj[key];
    if (value === undefined) return fallback;
    if (typeof value !== "number" || !Number.isFinite(value) || value < min || value > max) {
      this.issue(`${path}.${key}`, `must be a number from ${min} to ${max}`);
      return fallback;
    }
    return value;
  }

  text(obj: Obj, key: string, path: string): LocalizedText {
    const value = this.object(obj[key], `${path}.${key}`, ["fa", "en"]);
    if (value === undefined) return { fa: "", en: "" };
    return { fa: this.string(value, "fa", `${path}.${key}`), en: this.string(value, "en", `${path}.${key}`) };
  }
}

/** Names an entry in a path by its id, so messages point at `inquiryTypes[2](post.address-by-postcode.v1)`. */
function at(list: string, index: number, entry: unknown, idKey = "id"): string {
  const id = typeof entry === "object" && entry !== null ? (entry as Obj)[idKey] : undefined;
  return typeof id === "string" ? `${list}[${index}](${id})` : `${list}[${index}]`;
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

function unique<T extends { readonly id: string }>(c: Checker, items: readonly T[], list: string, into: Map<string, T>): void {
  items.forEach((item, i) => {
    if (item.id === "") return;
    if (into.has(item.id)) c.issue(`${list}[${i}](${item.id})`, "duplicate id");
    else into.set(item.id, item);
  });
}

/** Validates a parsed catalogue document. `kinds` supplies the connector kinds that may be named. */
export function buildSnapshot(document: unknown, kinds: EndpointKinds): SnapshotResult {
  const c = new Checker();
  const doc =
    c.object(document, "catalogue", ["$schema", "version", "agencies", "credentials", "inquiryTypes", "bindings", "grants"]) ?? {};
  const version = c.string(doc, "version", "catalogue");

  // Agencies and their endpoints.
  const agencies = new Map<string, Agency>();
  const endpoints = new Map<string, Endpoint>();
  const agencyList: Agency[] = [];
  c.list(doc.agencies, "agencies").forEach((raw, i) => {
    const path = at("agencies", i, raw);
    const o = c.object(raw, path, ["id", "name", "endpoints"]);
    if (o === undefined) return;
    const agency: Agency = {
      id: c.string(o, "id", path, AGENCY_ID, "lowercase letters, digits and '-', 2–32 characters"),
      name: c.text(o, "name", path),
    };
    agencyList.push(agency);
    c.list(o.endpoints, `${path}.endpoints`).forEach((rawEndpoint, j) => {
      const epath = at(`${path}.endpoints`, j, rawEndpoint, "name");
      const e = c.object(rawEndpoint, epath, ["name", "kind", "options", "breaker"]);
      if (e === undefined) return;
      const name = c.string(e, "name", epath, ENDPOINT_NAME);
      const kind = c.string(e, "kind", epath);
      const factory = kind === "" ? undefined : kinds.get(kind);
      if (kind !== "" && factory === undefined)
        c.issue(`${epath}.kind`, `unknown connector kind '${kind}' (known: ${kinds.names().join(", ")})`);
      let options: unknown;
      if (factory !== undefined) {
        const checked = factory.validateEndpoint(e.options, `${epath}.options`);
        if (checked.ok) options = checked.options;
        else for (const issue of checked.issues) c.issue(issue.path, issue.message);
      }
      const key = `${agency.id}/${name}`;
      if (endpoints.has(key)) c.issue(epath, "duplicate endpoint name");
      else endpoints.set(key, { key, agency: agency.id, name, kind, options, breaker: breakerSettings(c, e.breaker, `${epath}.breaker`) });
    });
  });
  unique(c, agencyList, "agencies", agencies);

  // Credentials of asking agencies.
  const credentialsByHash = new Map<string, Credential>();
  const credentialIds = new Set<string>();
  c.list(doc.credentials, "credentials").forEach((raw, i) => {
    const path = at("credentials", i, raw);
    const o = c.object(raw, path, ["id", "agency", "keySha256"]);
    if (o === undefined) return;
    const credential: Credential = {
      id: c.string(o, "id", path),
      agency: c.string(o, "agency", path),
      keySha256: c.string(o, "keySha256", path, SHA256_HEX, "the lowercase hex SHA-256 of the API key").toLowerCase(),
    };
    if (credential.agency !== "" && !agencies.has(credential.agency)) c.issue(`${path}.agency`, `unknown agency '${credential.agency}'`);
    if (credentialIds.has(credential.id)) c.issue(path, "duplicate id");
    credentialIds.add(credential.id);
    if (credentialsByHash.has(credential.keySha256)) c.issue(`${path}.keySha256`, "the same key is registered twice");
    credentialsByHash.set(credential.keySha256, credential);
  });

  // Inquiry types.
  const inquiryTypes = new Map<string, InquiryType>();
  const typeList: InquiryType[] = [];
  c.list(doc.inquiryTypes, "inquiryTypes").forEach((raw, i) => {
    const path = at("inquiryTypes", i, raw);
    const o = c.object(raw, path, ["id", "agency", "title", "params", "timeoutMs", "latencyObjectiveMs"]);
    if (o === undefined) return;
    const id = c.string(o, "id", path, INQUIRY_TYPE_ID, "expected <agency>.<name>.v<version>, e.g. nocr.identity-match.v1");
    const agency = c.string(o, "agency", path);
    if (agency !== "" && !agencies.has(agency)) c.issue(`${path}.agency`, `unknown agency '${agency}'`);
    const prefix = INQUIRY_TYPE_ID.exec(id)?.[1];
    if (prefix !== undefined && agency !== "" && prefix !== agency) c.issue(`${path}.id`, `must start with the owning agency '${agency}.'`);
    const specs = parseParamSpecs(o.params, `${path}.params`, c.issues);
    const timeoutMs = c.number(o, "timeoutMs", path, DEFAULT_TIMEOUT_MS, 1, 600_000);
    const latencyObjectiveMs = c.number(o, "latencyObjectiveMs", path, DEFAULT_LATENCY_OBJECTIVE_MS, 1, 600_000);
    if (latencyObjectiveMs > timeoutMs) c.issue(`${path}.latencyObjectiveMs`, "must not exceed timeoutMs");
    typeList.push({ id, agency, title: c.text(o, "title", path), params: createParamsValidator(specs), timeoutMs, latencyObjectiveMs });
  });
  unique(c, typeList, "inquiryTypes", inquiryTypes);

  // Bindings: which endpoint answers which inquiry type.
  const bindings = new Map<string, Binding>();
  c.list(doc.bindings, "bindings").forEach((raw, i) => {
    const path = at("bindings", i, raw, "inquiryType");
    const o = c.object(raw, path, ["inquiryType", "agency", "endpoint", "operation"]);
    if (o === undefined) return;
    const inquiryType = c.string(o, "inquiryType", path);
    const agency = c.string(o, "agency", path);
    const endpointName = c.string(o, "endpoint", path);
    const type = inquiryTypes.get(inquiryType);
    if (inquiryType !== "" && type === undefined) c.issue(`${path}.inquiryType`, `unknown inquiry type '${inquiryType}'`);
    if (type !== undefined && agency !== "" && type.agency !== agency)
      c.issue(`${path}.agency`, `inquiry type '${inquiryType}' is answered by its owner '${type.agency}', not '${agency}'`);
    const endpoint = endpoints.get(`${agency}/${endpointName}`);
    if (agency !== "" && endpointName !== "" && endpoint === undefined)
      c.issue(`${path}.endpoint`, `agency '${agency}' has no endpoint '${endpointName}'`);
    let operation: unknown;
    const factory = endpoint === undefined ? undefined : kinds.get(endpoint.kind);
    if (factory !== undefined) {
      const checked = factory.validateOperation(o.operation, `${path}.operation`);
      if (checked.ok) operation = checked.options;
      else for (const issue of checked.issues) c.issue(issue.path, issue.message);
    }
    if (bindings.has(inquiryType)) c.issue(path, `inquiry type '${inquiryType}' is bound twice`);
    else if (type !== undefined && endpoint !== undefined) bindings.set(inquiryType, { inquiryType, endpoint, operation });
  });

  // Grants: who may ask what, for which purposes.
  const grants = new Map<string, Grant>();
  c.list(doc.grants, "grants").forEach((raw, i) => {
    const path = at("grants", i, raw, "requester");
    const o = c.object(raw, path, ["requester", "inquiryType", "purposes"]);
    if (o === undefined) return;
    const requester = c.string(o, "requester", path);
    const inquiryType = c.string(o, "inquiryType", path);
    if (requester !== "" && !agencies.has(requester)) c.issue(`${path}.requester`, `unknown agency '${requester}'`);
    if (inquiryType !== "" && !inquiryTypes.has(inquiryType)) c.issue(`${path}.inquiryType`, `unknown inquiry type '${inquiryType}'`);
    const purposes = c.list(o.purposes, `${path}.purposes`);
    if (purposes.length === 0) c.issue(`${path}.purposes`, "must list at least one purpose code");
    purposes.forEach((p, j) => {
      if (typeof p !== "string" || !PURPOSE.test(p))
        c.issue(`${path}.purposes[${j}]`, "must be a purpose code such as kyc.account-opening");
    });
    const key = `${requester}\u0000${inquiryType}`;
    if (grants.has(key)) c.issue(path, `duplicate grant for ${requester} → ${inquiryType}`);
    grants.set(key, { requester, inquiryType, purposes: new Set(purposes.filter((p): p is string => typeof p === "string")) });
  });

  if (c.issues.length > 0) return { ok: false, issues: c.issues };
  const snapshot: RegistrySnapshot = {
    version,
    agencies,
    inquiryTypes,
    endpoints,
    bindings,
    credentialByKeySha256: (hash) => credentialsByHash.get(hash),
    grant: (requester, inquiryType) => grants.get(`${requester}\u0000${inquiryType}`),
  };
  return { ok: true, snapshot: Object.freeze(snapshot) };
}
