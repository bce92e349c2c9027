// The connector extension point (the connector SDK): how the gateway talks to an agency's back end. A
// connector kind (e.g. `http-json`) is registered once with its factory (connectors/kinds.ts); a third-party
// kind is loaded from the npm package or module path an Endpoint document names in `spec.module`
// (connectors/modules.ts), and receives a ConnectorSdk so it needs nothing from the gateway's source.
//
// Lifecycle of a connector:
//   1. validate — when registry documents are checked, the kind validates the Endpoint's options and each
//      Binding's operation options against its own JSON Schema (every issue names the option);
//   2. create — one connector per endpoint (one connection pool, one breaker) from the validated options;
//   3. warm — before the first inquiry is routed to it, the connector opens connections and checks the
//      agency answers (failing here is reported and the endpoint's breaker judges the agency from then on);
//   4. call — once per inquiry, with the params, an absolute deadline and an AbortSignal that fires at the
//      deadline or when the caller goes away; calls run concurrently;
//   5. close — after the last call of the last registry revision that holds the endpoint.
// Every built-in kind lives in its own folder (connectors/<kind>/) with the same files: `options.ts`
// (schemas and validation), `connector.ts` (the calls) and `index.ts` (the factory).
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

export type { OptionIssue, OptionsResult, RequiredParam } from "../registry/catalogue.ts";

import type { OptionIssue, OptionsResult, RequiredParam } from "../registry/catalogue.ts";

export interface ConnectorTarget {
  readonly agency: string;
  readonly endpoint: string;
}

export interface ConnectorFactory<EndpointOptions = unknown, Operation = unknown> {
  readonly kind: string;
  /** The JSON Schema of the endpoint options, as documented (validation goes through validateEndpoint). */
  readonly endpointSchema?: Readonly<Record<string, unknown>>;
  /** The JSON Schema of a binding's operation options. */
  readonly operationSchema?: Readonly<Record<string, unknown>>;
  /** Validates an endpoint's raw options; `path` prefixes every issue (e.g. `spec.options`). */
  validateEndpoint(raw: unknown, path: string): OptionsResult<EndpointOptions>;
  /** Validates a binding's raw operation options (e.g. `spec.endpoints[0].operation`). */
  validateOperation(raw: unknown, path: string): OptionsResult<Operation>;
  /**
   * Optional: the params (dot paths) the operation cannot be sent without, each with the option naming it,
   * e.g. `{ param: "national_code", option: "path" }`. A binding whose inquiry type does not require every
   * one of them is refused at registration, instead of failing the inquiries that leave one out.
   */
  requiredParams?(operation: Operation): readonly RequiredParam[];
  create(options: EndpointOptions, target: ConnectorTarget): Connector<Operation>;
}

/** The catalogue errors a connector may throw (business answers are resolved, never thrown). */
export type ConnectorErrorReason = "AGENCY_UNAVAILABLE" | "AGENCY_BAD_RESPONSE" | "DEADLINE_EXCEEDED" | "CANCELLED";

/** A kind's options schema compiled once: validation with issues naming the option. */
export interface OptionsValidator<T> {
  readonly schema: Readonly<Record<string, unknown>>;
  validate(raw: unknown, path: string): OptionsResult<T>;
}

/**
 * What the gateway hands a third-party connector module, so the module depends on nothing of Estelam's
 * source. A module's default export (or its export `createConnectorKind`) is a function from this to a
 * ConnectorFactory.
 */
export interface ConnectorSdk {
  /** The SDK's version; it changes only when this interface does. */
  readonly version: 1;
  /** A catalogue error about the agency, e.g. `sdk.error("AGENCY_UNAVAILABLE", "answered 503", agency)`. */
  error(reason: ConnectorErrorReason, message: string, agency: string): Error;
  /** The right error for a call whose signal aborted: DEADLINE_EXCEEDED or CANCELLED, saying whose. */
  abortError(signal: AbortSignal, agency: string): Error;
  /**
   * Compiles an options JSON Schema (Ajv, draft 2020-12, defaults filled in); `resolve` turns the valid
   * copy into the connector's typed options and may add issues of its own.
   */
  optionsSchema<T>(
    schema: Record<string, unknown>,
    resolve?: (valid: Record<string, unknown>, path: string, issues: OptionIssue[]) => T,
  ): OptionsValidator<T>;
}
