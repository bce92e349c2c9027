// The registry's data model: what a validated catalogue holds. Everything here is read-only; a new
// catalogue becomes a new RegistrySnapshot, swapped in whole (registry/registry.ts).
import type { JsonObject } from "@bufbuild/protobuf";
import type { ParamsValidator } from "./params.ts";

export interface LocalizedText {
  readonly fa: string;
  readonly en: string;
}

export interface Agency {
  readonly id: string;
  readonly name: LocalizedText;
}

/** A dev-mode API key of an asking agency; only its SHA-256 is stored. */
export interface Credential {
  readonly id: string;
  readonly agency: string;
  readonly keySha256: string;
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
  /** `<agency>/<name>`. */
  readonly key: string;
  readonly agency: string;
  readonly name: string;
  readonly kind: string;
  /** Options validated by the kind's factory; opaque to everything else. */
  readonly options: unknown;
  readonly breaker: BreakerSettings;
}

export interface InquiryType {
  /** `<agency>.<name>.v<version>`. */
  readonly id: string;
  /** The agency that owns (answers) the inquiry type. */
  readonly agency: string;
  readonly title: LocalizedText;
  readonly params: ParamsValidator;
  readonly timeoutMs: number;
  /** Latency objective (p99 target) the inquiry type is measured against. */
  readonly latencyObjectiveMs: number;
}

/** Which endpoint answers an inquiry type, and the per-inquiry-type operation options of the connector. */
export interface Binding {
  readonly inquiryType: string;
  readonly endpoint: Endpoint;
  /** Validated by the endpoint kind's factory; opaque to everything else. */
  readonly operation: unknown;
}

export interface Grant {
  readonly requester: string;
  readonly inquiryType: string;
  readonly purposes: ReadonlySet<string>;
}

/** An immutable, validated catalogue. Lookups return undefined rather than throwing. */
export interface RegistrySnapshot {
  readonly version: string;
  readonly agencies: ReadonlyMap<string, Agency>;
  readonly inquiryTypes: ReadonlyMap<string, InquiryType>;
  readonly endpoints: ReadonlyMap<string, Endpoint>;
  /** By inquiry type id. A registered inquiry type without a binding is not online yet. */
  readonly bindings: ReadonlyMap<string, Binding>;
  credentialByKeySha256(sha256Hex: string): Credential | undefined;
  grant(requester: string, inquiryType: string): Grant | undefined;
}

/** A problem found in a connector kind's options, with its path inside the catalogue. */
export interface OptionIssue {
  readonly path: string;
  readonly message: string;
}

export type OptionsResult<O> = { readonly ok: true; readonly options: O } | { readonly ok: false; readonly issues: readonly OptionIssue[] };

/**
 * What the registry needs to know of a connector kind to validate a catalogue: how to check the options of
 * an endpoint and of a binding. The connector kinds (connectors/kinds.ts) provide it; the registry does not
 * depend on the connectors.
 */
export interface EndpointKind {
  readonly kind: string;
  /** Validates an endpoint's raw options; `path` prefixes every issue (e.g. `agencies[1].endpoints[0].options`). */
  validateEndpoint(raw: unknown, path: string): OptionsResult<unknown>;
  /** Validates a binding's raw operation options (e.g. `bindings[2].operation`). */
  validateOperation(raw: unknown, path: string): OptionsResult<unknown>;
}

export interface EndpointKinds {
  get(kind: string): EndpointKind | undefined;
  names(): readonly string[];
}

/** A problem in a catalogue document, with the path of the bad entry. */
export interface CatalogueIssue {
  readonly path: string;
  readonly message: string;
}

export type SnapshotResult =
  | { readonly ok: true; readonly snapshot: RegistrySnapshot }
  | { readonly ok: false; readonly issues: readonly CatalogueIssue[] };

export type { JsonObject };
