// Clients of the simulated agencies' own protocols, for tests that call them directly: fetch for REST,
// raw SOAP 1.1/1.2 envelopes with a WS-Security UsernameToken, grpc-js stubs built from the agencies'
// .proto files, and a server-reflection client.
import { createHash, randomBytes } from "node:crypto";
import { resolve } from "node:path";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { GRPC_PROTO_FILES } from "../../simulators/demo-agencies/grpc/face.ts";

export interface HttpAnswer {
  readonly status: number;
  readonly headers: Headers;
  readonly text: string;
  /** The body parsed as JSON (undefined when it is not JSON). */
  readonly json: Record<string, unknown>;
}

export async function call(url: string, init: RequestInit = {}): Promise<HttpAnswer> {
  const response = await fetch(url, init);
  const text = await response.text();
  let json: Record<string, unknown> = {};
  try {
    json = JSON.parse(text) as Record<string, unknown>;
  } catch {
    // Not JSON: tests read `text`.
  }
  return { status: response.status, headers: response.headers, text, json };
}

export function postJson(url: string, body: unknown, headers: Record<string, string> = {}): Promise<HttpAnswer> {
  return call(url, { method: "POST", body: JSON.stringify(body), headers: { "content-type": "application/json", ...headers } });
}

const WSSE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-secext-1.0.xsd";
const WSU = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-wssecurity-utility-1.0.xsd";
const PROFILE = "http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-username-token-profile-1.0";

export interface Credentials {
  readonly username: string;
  readonly password: string;
  /** PasswordText (default) or PasswordDigest. */
  readonly digest?: boolean;
}

/** A wsse:Security header carrying a UsernameToken. */
export function securityHeader(credentials: Credentials): string {
  let password = `<wsse:Password Type="${PROFILE}#PasswordText">${credentials.password}</wsse:Password>`;
  let extra = "";
  if (credentials.digest === true) {
    const nonce = randomBytes(16);
    const created = new Date().toISOString();
    const digest = createHash("sha1")
      .update(Buffer.concat([nonce, Buffer.from(created), Buffer.from(credentials.password)]))
      .digest("base64");
    password = `<wsse:Password Type="${PROFILE}#PasswordDigest">${digest}</wsse:Password>`;
    extra = `<wsse:Nonce EncodingType="http://docs.oasis-open.org/wss/2004/01/oasis-200401-wss-soap-message-security-1.0#Base64Binary">${nonce.toString("base64")}</wsse:Nonce><wsu:Created>${created}</wsu:Created>`;
  }
  return `<wsse:Security xmlns:wsse="${WSSE}" xmlns:wsu="${WSU}"><wsse:UsernameToken><wsse:Username>${credentials.username}</wsse:Username>${password}${extra}</wsse:UsernameToken></wsse:Security>`;
}

export const SOAP11 = "http://schemas.xmlsoap.org/soap/envelope/";
export const SOAP12 = "http://www.w3.org/2003/05/soap-envelope";

export function envelope(version: "1.1" | "1.2", body: string, credentials?: Credentials): string {
  const header = credentials === undefined ? "" : `<soap:Header>${securityHeader(credentials)}</soap:Header>`;
  return `<?xml version="1.0" encoding="utf-8"?><soap:Envelope xmlns:soap="${version === "1.1" ? SOAP11 : SOAP12}">${header}<soap:Body>${body}</soap:Body></soap:Envelope>`;
}

/** POSTs a SOAP 1.1 (text/xml + SOAPAction) or 1.2 (application/soap+xml; action=…) envelope. */
export function postSoap(url: string, version: "1.1" | "1.2", action: string, xml: string): Promise<HttpAnswer> {
  const headers: Record<string, string> =
    version === "1.1"
      ? { "content-type": "text/xml; charset=utf-8", soapaction: `"${action}"` }
      : { "content-type": `application/soap+xml; charset=utf-8; action="${action}"` };
  return call(url, { method: "POST", body: xml, headers });
}

// ---------------------------------------------------------------------------------------------------------
// gRPC

type UnaryMethod = (
  request: object,
  metadata: grpc.Metadata,
  options: grpc.CallOptions,
  callback: (error: grpc.ServiceError | null, value?: unknown) => void,
) => grpc.ClientUnaryCall;

const definitions = protoLoader.loadSync([...GRPC_PROTO_FILES], {
  keepCase: true,
  longs: Number,
  enums: String,
  defaults: true,
  oneofs: true,
});

export interface GrpcAnswer {
  readonly code: grpc.status;
  readonly details: string;
  readonly value: Record<string, unknown> | undefined;
}

export interface AgencyGrpcClient {
  unary(
    method: string,
    request: object,
    metadata?: Record<string, string>,
    options?: { deadlineMs?: number; maxReceiveBytes?: number },
  ): Promise<GrpcAnswer>;
  close(): void;
}

/** A grpc-js client of one of the agencies' services, e.g. `ir.mcls.refah.v1.SubsidyService`. */
export function agencyGrpcClient(address: string, service: string, channelOptions: grpc.ChannelOptions = {}): AgencyGrpcClient {
  const Client = grpc.makeGenericClientConstructor(definitions[service] as grpc.ServiceDefinition, service);
  const client = new Client(address, grpc.credentials.createInsecure(), channelOptions) as unknown as grpc.Client &
    Record<string, UnaryMethod>;
  return {
    unary(method, request, metadata = {}, options = {}) {
      const md = new grpc.Metadata();
      for (const [key, value] of Object.entries(metadata)) md.set(key, value);
      const fn = client[method];
      if (fn === undefined) throw new Error(`no method ${method}`);
      return new Promise((done) => {
        fn.call(client, request, md, { deadline: Date.now() + (options.deadlineMs ?? 5000) }, (error, value) =>
          done(
            error === null
              ? { code: grpc.status.OK, details: "", value: value as Record<string, unknown> }
              : { code: error.code, details: error.details, value: undefined },
          ),
        );
      });
    },
    close: () => client.close(),
  };
}

const REFLECTION_PROTO = resolve(
  import.meta.dirname,
  "../../node_modules/@grpc/reflection/build/proto/grpc/reflection/v1/reflection.proto",
);

/** Asks a server's reflection service (grpc.reflection.v1) one question and returns the answer. */
export async function reflect(address: string, request: object): Promise<Record<string, unknown>> {
  const definition = protoLoader.loadSync(REFLECTION_PROTO, { keepCase: true, longs: String, enums: String, defaults: true, oneofs: true });
  const service = "grpc.reflection.v1.ServerReflection";
  const Client = grpc.makeGenericClientConstructor(definition[service] as grpc.ServiceDefinition, service);
  const client = new Client(address, grpc.credentials.createInsecure()) as unknown as grpc.Client & {
    ServerReflectionInfo(): grpc.ClientDuplexStream<object, Record<string, unknown>>;
  };
  try {
    return await new Promise((done, fail) => {
      const stream = client.ServerReflectionInfo();
      stream.once("data", (answer: Record<string, unknown>) => {
        done(answer);
        stream.end();
      });
      stream.once("error", fail);
      stream.write(request);
    });
  } finally {
    client.close();
  }
}
