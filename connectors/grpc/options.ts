// Options of the `grpc` connector kind: the kind's own JSON Schemas, checked with Ajv when registry documents
// are validated, then resolved into typed, read-only objects.
import { readFileSync } from "node:fs";
import * as protoLoader from "@grpc/proto-loader";
import { ANSWER_LIMITS_SCHEMA, type AnswerLimits, limitsOf } from "../answer-limits.ts";
import type { OptionIssue } from "../connector.ts";
import { type HttpTls, readPem } from "../http-common.ts";
import { optionsSchema } from "../options.ts";

/** How answers and requests are read and written: field names as in the .proto; 64-bit integers, enums and bytes (base64) as strings. */
export const LOADER_OPTIONS: protoLoader.Options = {
  keepCase: true,
  longs: String,
  enums: String,
  bytes: String,
  defaults: true,
  oneofs: true,
};

export type StatusMeaning = "not_found" | "rejected" | "unavailable" | "bad_response";

export interface GrpcEndpointOptions {
  /** `host:port` of the agency's gRPC server. */
  readonly address: string;
  /** TLS when set (a CA of its own, a client certificate for mutual TLS); plaintext otherwise. */
  readonly tls: HttpTls | undefined;
  /** Metadata sent with every call, e.g. `authorization: Bearer …`. */
  readonly metadata: Readonly<Record<string, string>>;
  /** Where the service description comes from: the server's reflection, or the agency's .proto files. */
  readonly descriptor:
    | { readonly kind: "reflection" }
    | { readonly kind: "proto-files"; readonly files: readonly string[] }
    | { readonly kind: "descriptor-set"; readonly bytes: Buffer };
  readonly limits: AnswerLimits;
}

export interface GrpcOperation {
  /** `package.Service/Method`. */
  readonly method: string;
  /** Request message template (`{param}` placeholders); undefined sends the params as they are. */
  readonly request: Readonly<Record<string, unknown>> | undefined;
  /** Dot path of the result inside the answer ("" = the whole message). */
  readonly result: string;
  readonly fields: Readonly<Record<string, string>>;
  /** gRPC status name → meaning; NOT_FOUND is "not found" and PERMISSION_DENIED, INVALID_ARGUMENT, FAILED_PRECONDITION "rejected" unless said otherwise. */
  readonly statuses: Readonly<Record<string, StatusMeaning>>;
}

const MEANING = { enum: ["not_found", "rejected", "unavailable", "bad_response"] };

export const ENDPOINT_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["address"],
  properties: {
    address: { type: "string", pattern: "^[A-Za-z0-9.\\-\\[\\]:]+:[0-9]{1,5}$", "x-message": "must be host:port" },
    tls: {
      type: "object",
      additionalProperties: false,
      properties: {
        caFile: { type: "string", minLength: 1 },
        certFile: { type: "string", minLength: 1 },
        keyFile: { type: "string", minLength: 1 },
        serverName: { type: "string", minLength: 1 },
      },
      dependentRequired: { certFile: ["keyFile"], keyFile: ["certFile"] },
    },
    metadata: { type: "object", additionalProperties: { type: "string" }, propertyNames: { pattern: "^[a-z0-9_.-]+$" } },
    reflection: { type: "boolean", default: true },
    protoFiles: { type: "array", items: { type: "string", minLength: 1 }, minItems: 1 },
    descriptorSetFile: { type: "string", minLength: 1 },
    ...ANSWER_LIMITS_SCHEMA,
  },
};

export const OPERATION_SCHEMA = {
  type: "object",
  additionalProperties: false,
  required: ["method"],
  properties: {
    method: { type: "string", pattern: "^[A-Za-z_][A-Za-z0-9_.]*/[A-Za-z_][A-Za-z0-9_]*$" },
    request: { type: "object" },
    result: { type: "string", default: "" },
    fields: { type: "object", additionalProperties: { type: "string" } },
    statuses: {
      type: "object",
      additionalProperties: MEANING,
      propertyNames: { pattern: "^[A-Z_]+$" },
    },
  },
};

const endpoint = optionsSchema<GrpcEndpointOptions>(ENDPOINT_SCHEMA, (o, path, issues: OptionIssue[]) => {
  const t = o.tls as Record<string, string | undefined> | undefined;
  const files = o.protoFiles as string[] | undefined;
  const setFile = o.descriptorSetFile as string | undefined;
  let set: Buffer | undefined;
  if (files !== undefined && setFile !== undefined)
    issues.push({ path: `${path}.descriptorSetFile`, message: "give protoFiles or descriptorSetFile, not both" });
  if (setFile !== undefined) {
    try {
      set = readFileSync(setFile);
      protoLoader.loadFileDescriptorSetFromBuffer(set, LOADER_OPTIONS);
    } catch (error) {
      issues.push({ path: `${path}.descriptorSetFile`, message: `cannot be loaded: ${(error as Error).message.split("\n")[0]}` });
    }
  } else if (files !== undefined) {
    try {
      protoLoader.loadSync(files, LOADER_OPTIONS);
    } catch (error) {
      issues.push({ path: `${path}.protoFiles`, message: `cannot be loaded: ${(error as Error).message.split("\n")[0]}` });
    }
  } else if (o.reflection === false)
    issues.push({ path: `${path}.protoFiles`, message: "is required when reflection is false (or descriptorSetFile)" });
  return {
    address: o.address as string,
    tls:
      t === undefined
        ? undefined
        : {
            ca: readPem(t.caFile, `${path}.tls.caFile`, issues),
            cert: readPem(t.certFile, `${path}.tls.certFile`, issues),
            key: readPem(t.keyFile, `${path}.tls.keyFile`, issues),
            serverName: t.serverName,
          },
    metadata: (o.metadata ?? {}) as Record<string, string>,
    descriptor:
      set !== undefined
        ? { kind: "descriptor-set", bytes: set }
        : files === undefined
          ? { kind: "reflection" }
          : { kind: "proto-files", files },
    limits: limitsOf(o),
  };
});

const operation = optionsSchema<GrpcOperation>(OPERATION_SCHEMA, (o) => ({
  method: o.method as string,
  request: o.request as Record<string, unknown> | undefined,
  result: o.result as string,
  fields: (o.fields ?? {}) as Record<string, string>,
  statuses: (o.statuses ?? {}) as Record<string, StatusMeaning>,
}));

export const validateEndpoint = endpoint.validate;
export const validateOperation = operation.validate;
