// The connector extension point: how the gateway talks to an agency's back end. A connector kind (e.g.
// `http-json`) is registered once with its factory (connectors/kinds.ts). In the registry an Endpoint
// document names a kind and endpoint options (where and how to connect: one connector, one connection
// pool and one breaker per endpoint); each Binding of an inquiry type to that endpoint adds operation
// options (what to call for this inquiry type). The kind's factory validates both when documents are checked.
// Every built-in kind lives in its own folder (connectors/<kind>/) with the same files: `options.ts`
// (validation), `connector.ts` (the calls) and `index.ts` (the factory).
import type { JsonObject } from "@bufbuild/protobuf";

/** What the gateway hands a connector for one inquiry. Params are already validated and normalised. */
export interface ConnectorRequest {
  readonly inquiryId: string;
  readonly inquiryType: string;
  readonly requester: string;
  readonly purpose: string;
  readonly params: JsonObject;
  /** Aborts when the caller cancels, the caller's deadline passes, or the inquiry type's timeout passes. */
  readonly signal: AbortSignal;
  /** Absolute deadline (epoch ms) for this upstream call, already the tighter of caller and inquiry type. */
  readonly deadline: number;
}

/** An agency's business answer. Failures (agency down, bad answer) are thrown as EstelamError instead. */
export type ConnectorAnswer =
  | { readonly answer: "found"; readonly result: JsonObject }
  | { readonly answer: "not_found"; readonly message: string }
  | { readonly answer: "rejected"; readonly message: string };

export interface Connector<Operation = unknown> {
  readonly kind: string;
  /** `<agency>/<endpoint>`: the upstream this connector calls; breakers and metrics are keyed by it. */
  readonly endpoint: string;
  /**
   * Asks the agency. Resolves with a business answer; rejects with EstelamError AGENCY_UNAVAILABLE,
   * AGENCY_BAD_RESPONSE or DEADLINE_EXCEEDED (or CANCELLED when the caller went away).
   */
  call(request: ConnectorRequest, operation: Operation): Promise<ConnectorAnswer>;
  /**
   * Optional: opens connections (or checks the agency answers) before the first inquiry is routed here, so
   * a new endpoint takes traffic warm. Called once, when a registry revision brings the endpoint in.
   */
  warm?(signal: AbortSignal): Promise<void>;
  /** Releases pooled connections. */
  close(): Promise<void>;
}

export type { OptionIssue, OptionsResult } from "../registry/catalogue.ts";

import type { OptionsResult } from "../registry/catalogue.ts";

export interface ConnectorTarget {
  readonly agency: string;
  readonly endpoint: string;
}

export interface ConnectorFactory<EndpointOptions = unknown, Operation = unknown> {
  readonly kind: string;
  /** Validates an endpoint's raw options; `path` prefixes every issue (e.g. `spec.options`). */
  validateEndpoint(raw: unknown, path: string): OptionsResult<EndpointOptions>;
  /** Validates a binding's raw operation options (e.g. `spec.endpoints[0].operation`). */
  validateOperation(raw: unknown, path: string): OptionsResult<Operation>;
  create(options: EndpointOptions, target: ConnectorTarget): Connector<Operation>;
}
