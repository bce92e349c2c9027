// The registry's data model: what a validated revision holds. Everything here is read-only; a new revision
// becomes a new RegistrySnapshot, swapped in whole (registry/registry.ts). The documents it is built from
// are described in registry/documents.ts and docs/registry.md.
//
// Some fields are carried here before anything enforces them, so that documents written today keep their
// meaning: consent tiers, data classification, legal basis, caching, audit policy, quotas and certificate
// credentials. docs/registry.md says which are enforced.
import type { JsonObject } from "@bufbuild/protobuf";
import type { ParamsValidator, ResultValidator } from "./params.ts";

export interface LocalizedText {
  readonly fa: string;
  readonly en: string;
}

export interface Contact {
  readonly name: string;
  readonly role: string;
  readonly email: string;
  readonly phone: string;
}

export interface SubUnit {
  readonly id: string;
  readonly name: LocalizedText;
}

export interface Agency {
  readonly id: string;
  readonly name: LocalizedText;
  /** A suspended agency neither asks nor answers inquiries. */
  readonly status: "active" | "suspended";
  readonly contacts: readonly Contact[];
  readonly subUnits: ReadonlyMap<string, SubUnit>;
}

/**
 * How a caller proves who it is. Dev mode: an API key, of which only the SHA-256 is stored. A client
 * certificate (by subject or fingerprint) is accepted in documents and kept, for mutual TLS.
 */
export interface Credential {
  /** `<agency>/<name>`, e.g. `demo-bank/dev`. */
  readonly id: string;
  readonly agency: string;
  /** The sub-unit the credential belongs to, when it is not the whole agency's. */
  readonly subUnit: string | undefined;
  /** `agency` asks inquiries; `admin` reads and changes the registry (and asks nothing). */
  readonly role: "agency" | "admin";
  readonly apiKeySha256: string | undefined;
  readonly certificate: { readonly subject: string | undefined; readonly sha256Fingerprint: string | undefined } | undefined;
}

export interface BreakerSettings {
  /** Failure percentage within the rolling window that opens the breaker. */
  readonly errorThresholdPercentage: number;
  /** Calls needed in the window before the percentage counts. */
  readonly volumeThreshold: number;
  /** How long the breaker stays open before a half-open probe. */
  readonly resetTimeoutMs: number;
  readonly rollingWindowMs: number;
  /** Calls in flight to the endpoint at most; more fail fast with AGENCY_SATURATED. */
  readonly maxConcurrent: number;
}

/** An agency back end reached through one connector kind; breakers and connection pools are per endpoint. */
export interface Endpoint {
  /** `<agency>/<name>`: the document's name, and the endpoint's name in metrics, logs and audit events. */
  readonly key: string;
  readonly agency: string;
  readonly name: string;
  readonly kind: string;
  /** The npm package or module path of a third-party kind, as the document names it. */
  readonly module: string | undefined;
  /** Options validated by the kind's factory; opaque to everything else. */
  readonly options: unknown;
  readonly breaker: BreakerSettings;
  /**
   * `<key>@<digest of the endpoint document>`: equal across revisions exactly when nothing about the
   * endpoint changed, so an unchanged endpoint keeps its connections and breaker state.
   */
  readonly connection: string;
}

export type ConsentTier = "agency" | "one-time-code" | "citizen";
export type DataClassification = "public" | "internal" | "confidential" | "secret";

export interface InquiryType {
  /** `<agency>.<name>.v<version>`. */
  readonly id: string;
  /** The agency that owns and answers the inquiry type: the first part of its id. */
  readonly agency: string;
  readonly title: LocalizedText;
  readonly description: LocalizedText;
  /** The params' JSON Schema as written, for discovery. */
  readonly paramsSchema: JsonObject;
  /** The result's JSON Schema as written (undefined when none is declared). */
  readonly resultSchema: JsonObject | undefined;
  /** The compiled result schema (undefined when none is declared): answers are checked against it. */
  readonly result: ResultValidator | undefined;
  /** The compiled params schema: validates, normalises identifiers and finds subjects. */
  readonly params: ParamsValidator;
  readonly timeoutMs: number;
  /** Latency objective (p99 target) the inquiry type is measured against. */
  readonly latencyObjectiveMs: number;
  /** Optional 95th-percentile latency target (at most the p99 one); undefined when not set. */
  readonly latencyP95ObjectiveMs: number | undefined;
  /** Share of inquiries that should be answered without a gateway or agency fault, 0–1. */
  readonly successRateObjective: number;
  readonly consent: ConsentTier;
  readonly classification: DataClassification;
  readonly legalBasis: string;
  readonly cache: { readonly allowed: boolean; readonly ttlSeconds: number };
  readonly audit: { readonly payloads: "digest" | "encrypted"; readonly whenAuditUnavailable: "refuse" | "answer" };
}

/** One endpoint that can answer an inquiry type, with the connector's operation options for it. */
export interface Route {
  readonly endpoint: Endpoint;
  /** Validated by the endpoint kind's factory; opaque to everything else. */
  readonly operation: unknown;
  /** Lower first: endpoints of the best priority take traffic; the others are for failover. */
  readonly priority: number;
  /** Share of traffic among endpoints of equal priority. */
  readonly weight: number;
}

/** Which endpoints answer an inquiry type, in priority order. */
export interface Binding {
  readonly inquiryType: string;
  readonly routes: readonly Route[];
}

export interface Grant {
  /** The grant document's name. */
  readonly name: string;
  readonly requester: string;
  /** The sub-unit the grant is limited to; undefined for the whole agency. */
  readonly subUnit: string | undefined;
  readonly inquiryType: string;
  readonly purposes: ReadonlySet<string>;
  readonly quota: { readonly perSecond: number | undefined; readonly perDay: number | undefined };
}

/** An immutable, validated revision of the registry. Lookups return undefined rather than throwing. */
export interface RegistrySnapshot {
  /** The revision number in the registry store. */
  readonly revision: number;
  readonly agencies: ReadonlyMap<string, Agency>;
  readonly inquiryTypes: ReadonlyMap<string, InquiryType>;
  readonly endpoints: ReadonlyMap<string, Endpoint>;
  /** By inquiry type id. A registered inquiry type without a binding is not online yet. */
  readonly bindings: ReadonlyMap<string, Binding>;
  credentialByKeySha256(sha256Hex: string): Credential | undefined;
  /**
   * The credential registered for a client certificate: by its SHA-256 fingerprint (lowercase hex, no
   * colons), else by its subject (RFC 2253, e.g. `CN=demo-bank,O=Estelam Dev`).
   */
  credentialByCertificate(subject: string, sha256Hex: string): Credential | undefined;
  /** The grant that lets a credential's agency (or its sub-unit) ask an inquiry type. */
  grant(requester: string, subUnit: string | undefined, inquiryType: string): Grant | undefined;
  /** Every grant an agency's credential may use, the sub-unit's before the agency's; one per inquiry type. */
  grantsFor(requester: string, subUnit: string | undefined): readonly Grant[];
}

/** A problem found in a connector kind's options, with its path inside the document. */
export interface OptionIssue {
  readonly path: string;
  readonly message: string;
}

export type OptionsResult<O> = { readonly ok: true; readonly options: O } | { readonly ok: false; readonly issues: readonly OptionIssue[] };

/**
 * What the registry needs to know of a connector kind to validate documents: how to check the options of
 * an endpoint and of a binding. The connector kinds (connectors/kinds.ts) provide it; the registry does not
 * depend on the connectors.
 */
export interface EndpointKind {
  readonly kind: string;
  /** Validates an endpoint's raw options; `path` prefixes every issue (e.g. `spec.options`). */
  validateEndpoint(raw: unknown, path: string): OptionsResult<unknown>;
  /** Validates a binding's raw operation options (e.g. `spec.endpoints[0].operation`). */
  validateOperation(raw: unknown, path: string): OptionsResult<unknown>;
  /**
   * Optional: the params a validated operation cannot be sent without (e.g. a placeholder in an HTTP path),
   * each with the option that names it. A binding is refused when its inquiry type does not require them all.
   */
  requiredParams?(operation: unknown): readonly RequiredParam[];
}

/** A param an operation cannot be sent without: its dot path and the operation option that names it. */
export interface RequiredParam {
  readonly param: string;
  readonly option: string;
}

export interface EndpointKinds {
  get(kind: string): EndpointKind | undefined;
  names(): readonly string[];
  /** Loads a third-party kind named by an Endpoint's `spec.module`; absent when modules are not allowed. */
  load?(module: string): { readonly ok: true; readonly kind: string } | { readonly ok: false; readonly message: string };
}

/** A problem in a set of registry documents: which document (and where it came from), where in it, what. */
export interface Problem {
  /** The document's source, e.g. `agencies/nocr.yaml#2`, or `registry` for one already stored. */
  readonly source: string;
  /** `Kind/name`, when the document has them. */
  readonly document: string;
  /** Path inside the document, e.g. `spec.purposes[0]`; empty for the document as a whole. */
  readonly path: string;
  readonly message: string;
}

export type SnapshotResult =
  | { readonly ok: true; readonly snapshot: RegistrySnapshot }
  | { readonly ok: false; readonly problems: readonly Problem[] };

/** One line per problem: `source Kind/name path: message`. */
export function formatProblem(problem: Problem): string {
  const where = [problem.source, problem.document, problem.path].filter((part) => part !== "").join(" ");
  return where === "" ? problem.message : `${where}: ${problem.message}`;
}

export type { JsonObject };
