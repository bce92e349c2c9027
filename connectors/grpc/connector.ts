// The `grpc` connector: unary calls to an agency's gRPC server. The service is described by the server's
// own reflection (grpc.reflection.v1, fetched when the endpoint is warmed or on its first call), or by the
// agency's .proto files or a descriptor set (FileDescriptorSet, e.g. from `buf build -o`) named in the registry. The caller's deadline travels as the call's gRPC deadline,
// and the upstream status maps to a business answer or a catalogue error.
import { createRequire } from "node:module";
import { dirname, join } from "node:path";
import type { JsonObject, JsonValue } from "@bufbuild/protobuf";
import * as grpc from "@grpc/grpc-js";
import * as protoLoader from "@grpc/proto-loader";
import { EstelamError } from "../../core/errors.ts";
import { shapeProblem } from "../answer-limits.ts";
import type { Connector, ConnectorAnswer, ConnectorRequest, ConnectorTarget } from "../connector.ts";
import { abortError, settleBy } from "../deadline.ts";
import { fillValue, isJsonObject, mapFields, pick } from "../mapping.ts";
import { type GrpcEndpointOptions, type GrpcOperation, LOADER_OPTIONS, type StatusMeaning } from "./options.ts";

const require = createRequire(import.meta.url);
const REFLECTION_PROTO = join(dirname(require.resolve("@grpc/reflection/package.json")), "build/proto/grpc/reflection/v1/reflection.proto");
const REFLECTION_METHOD = "/grpc.reflection.v1.ServerReflection/ServerReflectionInfo";
/**
 * How long one reflection may take. It is shared by every call waiting for it, so it runs on its own clock,
 * not on the first caller's: one caller giving up does not fail the others.
 */
const REFLECTION_TIMEOUT_MS = 10_000;
/** A DEADLINE_EXCEEDED this close to the request's deadline is the request's own; earlier, the agency's answer. */
const DEADLINE_SLACK_MS = 50;

const DEFAULT_MEANINGS: Readonly<Partial<Record<string, StatusMeaning>>> = {
  NOT_FOUND: "not_found",
  PERMISSION_DENIED: "rejected",
  INVALID_ARGUMENT: "rejected",
  FAILED_PRECONDITION: "rejected",
  OUT_OF_RANGE: "rejected",
  UNAUTHENTICATED: "bad_response",
  UNIMPLEMENTED: "bad_response",
};

interface Method {
  readonly path: string;
  serialize(value: object): Buffer;
  deserialize(bytes: Buffer): object;
}

type Methods = ReadonlyMap<string, Method>;

function methodsOf(definition: protoLoader.PackageDefinition): Methods {
  const methods = new Map<string, Method>();
  for (const [name, entry] of Object.entries(definition)) {
    if ("format" in entry || "type" in entry) continue; // a message or enum, not a service
    for (const [methodName, method] of Object.entries(entry as protoLoader.ServiceDefinition)) {
      if (method.requestStream || method.responseStream) continue;
      methods.set(`${name}/${methodName}`, {
        path: method.path,
        serialize: method.requestSerialize as (value: object) => Buffer,
        deserialize: method.responseDeserialize as (bytes: Buffer) => object,
      });
    }
  }
  return methods;
}

/** A FileDescriptorSet (field 1, repeated FileDescriptorProto) from serialized FileDescriptorProtos. */
function descriptorSet(files: readonly Uint8Array[]): Buffer {
  const parts: Buffer[] = [];
  for (const file of files) {
    const length: number[] = [];
    let n = file.length;
    while (n >= 0x80) {
      length.push((n & 0x7f) | 0x80);
      n >>>= 7;
    }
    length.push(n);
    parts.push(Buffer.from([0x0a, ...length]), Buffer.from(file));
  }
  return Buffer.concat(parts);
}

// Reflection answers carry descriptors as bytes: read them as Buffers, unlike agencies' messages.
const reflectionDefinition = (
  protoLoader.loadSync(REFLECTION_PROTO, { keepCase: true, longs: String, enums: String, oneofs: true })[
    "grpc.reflection.v1.ServerReflection"
  ] as protoLoader.ServiceDefinition
).ServerReflectionInfo as protoLoader.MethodDefinition<object, object>;

/** Asks the server's reflection for the files describing each of its services (with their dependencies). */
function reflect(client: grpc.Client, metadata: grpc.Metadata, signal: AbortSignal): Promise<Methods> {
  return new Promise((resolve, reject) => {
    const call = client.makeBidiStreamRequest(
      REFLECTION_METHOD,
      reflectionDefinition.requestSerialize,
      reflectionDefinition.responseDeserialize,
      metadata,
      {},
    );
    const files = new Map<string, Uint8Array>();
    let pending = 0;
    const onAbort = (): void => call.cancel();
    signal.addEventListener("abort", onAbort, { once: true });
    const finish = (error?: Error): void => {
      signal.removeEventListener("abort", onAbort);
      call.end();
      if (error !== undefined) reject(error);
      else {
        try {
          resolve(methodsOf(protoLoader.loadFileDescriptorSetFromBuffer(descriptorSet([...files.values()]), LOADER_OPTIONS)));
        } catch (e) {
          reject(e as Error);
        }
      }
    };
    call.on("data", (answer: Record<string, unknown>) => {
      const services = pick(answer, "list_services_response.service");
      if (Array.isArray(services)) {
        for (const service of services as Array<{ name: string }>) {
          if (service.name.startsWith("grpc.reflection.")) continue;
          pending += 1;
          call.write({ file_containing_symbol: service.name });
        }
        if (pending === 0) finish();
        return;
      }
      const described = pick(answer, "file_descriptor_response.file_descriptor_proto");
      if (Array.isArray(described)) {
        for (const bytes of described as Uint8Array[]) {
          // The file's name is field 1 of FileDescriptorProto; the bytes themselves identify it well enough.
          files.set(Buffer.from(bytes).toString("base64"), bytes);
        }
      } else if (answer.error_response !== undefined) {
        finish(new Error(`reflection answered: ${String(pick(answer, "error_response.error_message"))}`));
        return;
      }
      pending -= 1;
      if (pending === 0) finish();
    });
    call.on("error", (error: Error) => finish(error));
    call.write({ list_services: "" });
  });
}

export function createGrpcConnector(options: GrpcEndpointOptions, target: ConnectorTarget): Connector<GrpcOperation> {
  const agency = target.agency;
  const { tls } = options;
  const credentials =
    tls === undefined
      ? grpc.credentials.createInsecure()
      : grpc.credentials.createSsl(
          tls.ca === undefined ? null : Buffer.from(tls.ca),
          tls.key === undefined ? null : Buffer.from(tls.key),
          tls.cert === undefined ? null : Buffer.from(tls.cert),
        );
  const client = new grpc.Client(options.address, credentials, {
    "grpc.max_receive_message_length": options.limits.maxBytes,
    ...(tls?.serverName === undefined ? {} : { "grpc.ssl_target_name_override": tls.serverName }),
  });
  const metadata = (): grpc.Metadata => {
    const m = new grpc.Metadata();
    for (const [key, value] of Object.entries(options.metadata)) m.set(key, value);
    return m;
  };
  const unavailable = (message: string, cause?: unknown): EstelamError =>
    new EstelamError("AGENCY_UNAVAILABLE", `agency '${agency}' ${message}`, { agency, cause });
  const bad = (message: string): EstelamError => new EstelamError("AGENCY_BAD_RESPONSE", `agency '${agency}' ${message}`, { agency });

  const { descriptor } = options;
  let described: Promise<Methods> | undefined =
    descriptor.kind === "proto-files"
      ? Promise.resolve(methodsOf(protoLoader.loadSync([...descriptor.files], LOADER_OPTIONS)))
      : descriptor.kind === "descriptor-set"
        ? Promise.resolve(methodsOf(protoLoader.loadFileDescriptorSetFromBuffer(descriptor.bytes, LOADER_OPTIONS)))
        : undefined;
  const describe = (signal: AbortSignal): Promise<Methods> => {
    if (described === undefined) {
      const attempt = reflect(client, metadata(), AbortSignal.timeout(REFLECTION_TIMEOUT_MS));
      described = attempt;
      // A failed reflection is asked again by the next call.
      attempt.catch(() => {
        if (described === attempt) described = undefined;
      });
    }
    return settleBy(described, signal, () => signal.reason);
  };

  function statusAnswer(error: grpc.ServiceError, operation: GrpcOperation, request: ConnectorRequest): ConnectorAnswer {
    if (request.signal.aborted) throw abortError(request.signal, agency);
    const name = grpc.status[error.code] ?? String(error.code);
    const meaning = operation.statuses[name] ?? DEFAULT_MEANINGS[name] ?? "unavailable";
    const details = (error.details ?? "").slice(0, 500);
    if (meaning === "not_found") return { answer: "not_found", message: details || "no record found" };
    if (meaning === "rejected") return { answer: "rejected", message: details || "the agency declined the inquiry" };
    if (error.code === grpc.status.RESOURCE_EXHAUSTED && /message larger than max/i.test(details))
      throw bad(`answered more than ${options.limits.maxBytes} bytes`);
    // The answer arrived but is not the method's message: the agency's fault, not its outage.
    if (error.code === grpc.status.INTERNAL && /parse server response|message parsing error/i.test(details))
      throw bad(`answered a message that does not decode (${details})`);
    if (meaning === "bad_response") throw bad(`answered gRPC ${name}: ${details}`);
    throw unavailable(`answered gRPC ${name}${details === "" ? "" : `: ${details}`}`);
  }

  return {
    kind: "grpc",
    endpoint: `${agency}/${target.endpoint}`,
    async call(request, operation) {
      let methods: Methods;
      try {
        methods = await describe(request.signal);
      } catch (error) {
        if (request.signal.aborted) throw abortError(request.signal, agency);
        throw unavailable(`could not be described through gRPC reflection (${(error as Error).message})`, error);
      }
      const method = methods.get(operation.method);
      if (method === undefined) throw bad(`does not offer the gRPC method '${operation.method}'`);
      const message = operation.request === undefined ? request.params : fillValue(operation.request as JsonValue, request.params);
      const answer = await new Promise<ConnectorAnswer>((resolve, reject) => {
        const md = metadata();
        md.set("x-estelam-inquiry-id", request.inquiryId);
        md.set("x-estelam-requester", request.requester);
        let call: grpc.ClientUnaryCall | undefined;
        const onAbort = (): void => call?.cancel();
        request.signal.addEventListener("abort", onAbort, { once: true });
        call = client.makeUnaryRequest(
          method.path,
          method.serialize,
          method.deserialize,
          (message ?? {}) as object,
          md,
          { deadline: new Date(request.deadline) },
          (error, value) => {
            request.signal.removeEventListener("abort", onAbort);
            if (error !== null) {
              // At the deadline, the gRPC deadline is the request's own: its signal fires at the same instant and
              // says whose. Well before it, DEADLINE_EXCEEDED is the agency's own answer, mapped at once.
              const settle = (): void => {
                try {
                  resolve(statusAnswer(error, operation, request));
                } catch (e) {
                  reject(e);
                }
              };
              const atDeadline = request.deadline - Date.now() <= DEADLINE_SLACK_MS;
              if (error.code === grpc.status.DEADLINE_EXCEEDED && !request.signal.aborted && atDeadline) {
                const timer = setTimeout(settle, Math.max(0, request.deadline - Date.now()) + 50);
                request.signal.addEventListener(
                  "abort",
                  () => {
                    clearTimeout(timer);
                    settle();
                  },
                  { once: true },
                );
              } else settle();
              return;
            }
            const problem = shapeProblem(value, options.limits);
            if (problem !== undefined) return reject(bad(`answered a message that ${problem}`));
            const result = pick(value, operation.result);
            if (!isJsonObject(result)) return reject(bad(`answered without '${operation.result}'`));
            resolve({
              answer: "found",
              result: Object.keys(operation.fields).length === 0 ? (result as JsonObject) : mapFields(result, operation.fields),
            });
          },
        );
        if (request.signal.aborted) call.cancel();
      });
      return answer;
    },
    async warm(signal) {
      if (options.descriptor.kind === "reflection") await describe(signal);
      else
        await new Promise<void>((resolve, reject) =>
          client.waitForReady(new Date(Date.now() + 2_000), (error) => (error === undefined || error === null ? resolve() : reject(error))),
        );
    },
    async close() {
      client.close();
    },
  };
}
