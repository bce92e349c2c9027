// The gRPC edge against a real server on loopback and a real grpc-js client: the adapter's success and
// failure paths, cancellation and deadlines, health, reflection, and reflection as seen by `buf curl`.
import { execFile } from "node:child_process";
import { mkdtemp, rm } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";
import { promisify } from "node:util";
import {
  create,
  type DescMessage,
  type DescMethod,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { FileDescriptorProtoSchema } from "@bufbuild/protobuf/wkt";
import {
  Client,
  type ClientUnaryCall,
  credentials,
  status as grpcStatus,
  Metadata,
  type ServiceError,
  type StatusObject,
} from "@grpc/grpc-js";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { fromGrpcStatus } from "../../cli/client.ts";
import { Code, EstelamError, type Reason } from "../../core/errors.ts";
import { adaptService, type CallEndInfo } from "../../gateway/grpc/adapter.ts";
import type { CallContext } from "../../gateway/grpc/call-context.ts";
import { createHealthService } from "../../gateway/grpc/health.ts";
import { createReflectionServices } from "../../gateway/grpc/reflection.ts";
import { createGrpcServer, type GrpcServer } from "../../gateway/grpc/server.ts";
import { file_estelam_inquiry_v1_inquiry, InquiryService } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { file_grpc_health_v1_health, Health, HealthCheckResponse_ServingStatus as Serving } from "../../gen/grpc/health/v1/health_pb.js";
import { ServerReflection as ReflectionV1 } from "../../gen/grpc/reflection/v1/reflection_pb.js";
import { ServerReflection as ReflectionV1alpha } from "../../gen/grpc/reflection/v1alpha/reflection_pb.js";

const execFileAsync = promisify(execFile);
const BUF = resolve(import.meta.dirname, "../../node_modules/.bin/buf");
const INQUIRE = InquiryService.method.inquire;

/** A promise with its resolve function, to wait for something a handler observes. */
function deferred<T>(): { promise: Promise<T>; resolve: (value: T) => void } {
  let resolve!: (value: T) => void;
  const promise = new Promise<T>((r) => (resolve = r));
  return { promise, resolve };
}

/** Handler-side observations of the calls that wait for their signal. */
const waiting = {
  started: deferred<CallContext>(),
  aborted: deferred<unknown>(),
  reset() {
    this.started = deferred<CallContext>();
    this.aborted = deferred<unknown>();
  },
};

// A throwaway InquiryService whose behaviour is chosen by inquiry_type.
const testInquiry = adaptService(InquiryService, {
  inquire(request, context) {
    const [kind, arg] = request.inquiryType.split(":");
    if (kind === "sync-throw") throw new Error("thrown synchronously at 10.9.8.7");
    return (async () => {
      switch (kind) {
        case "echo":
          context.setHeader("estelam-inquiry-id", "inq-1");
          context.setTrailer("estelam-tracking-code", "7K3M-9QX2-4HB5");
          return {
            inquiryId: "inq-1",
            responder: context.header("x-asker") ?? "",
            message: JSON.stringify({ method: context.method, peer: context.peer, deadline: context.deadline ?? null }),
            result: request.params,
          };
        case "estelam":
          context.setTrailer("estelam-inquiry-id", "inq-2");
          throw new EstelamError(arg as Reason, "explained", {
            agency: "nocr",
            violations: arg === "INVALID_PARAMS" ? [{ field: "params.national_id", description: "bad checksum" }] : [],
            retryAfterMs: arg === "AGENCY_SATURATED" ? 2000 : undefined,
          });
        case "plain":
          throw new Error("connection to 10.9.8.7 refused (password=hunter2)");
        case "wait":
          waiting.started.resolve(context);
          await new Promise((_, reject) => {
            context.signal.addEventListener("abort", () => {
              waiting.aborted.resolve(context.signal.reason);
              reject(context.signal.reason);
            });
          });
          return {};
        default:
          return {};
      }
    })();
  },
  // Discovery is not what this suite is about.
  listAllowedInquiries: async () => ({}),
  describeInquiryType: async () => ({}),
});

const health = createHealthService({ statuses: { "": "SERVING", [InquiryService.typeName]: "SERVING" } });
const reflection = createReflectionServices(
  [file_estelam_inquiry_v1_inquiry, file_grpc_health_v1_health],
  [InquiryService.typeName, Health.typeName],
);
const callsEnded: CallEndInfo[] = [];

let server: GrpcServer;
let address: string;
let client: Client;

beforeAll(async () => {
  server = createGrpcServer({
    address: "127.0.0.1:0",
    services: [testInquiry, health.service, ...reflection],
    onCallEnd: (info) => callsEnded.push(info),
  });
  const { port } = await server.start();
  address = `127.0.0.1:${port}`;
  client = new Client(address, credentials.createInsecure());
});

afterAll(async () => {
  client?.close();
  health.enterShutdown();
  await server?.shutdown(2000);
});

// ---- a tiny typed client on top of grpc-js, using the same protobuf-es serialisers ----

function pathOf(method: DescMethod): string {
  return `/${method.parent.typeName}/${method.name}`;
}

const serialize = (schema: DescMessage) => (message: MessageInitShape<DescMessage>) =>
  Buffer.from(toBinary(schema, create(schema, message)));
const deserialize = (schema: DescMessage) => (bytes: Buffer) => fromBinary(schema, bytes);

interface UnaryResult<O> {
  response?: O;
  error?: ServiceError;
  headers?: Metadata;
  status?: StatusObject;
  call: ClientUnaryCall;
}

function unary<I extends DescMessage, O extends DescMessage>(
  method: { input: I; output: O } & DescMethod,
  request: MessageInitShape<I>,
  options: { deadline?: number; metadata?: Metadata; onCall?: (call: ClientUnaryCall) => void } = {},
): Promise<UnaryResult<MessageShape<O>>> {
  return rawUnary(method, Buffer.from(toBinary(method.input, create(method.input, request))), options) as Promise<
    UnaryResult<MessageShape<O>>
  >;
}

/** Sends the given bytes as the request, whatever they are. */
function rawUnary(
  method: DescMethod,
  bytes: Buffer,
  options: { deadline?: number; metadata?: Metadata; onCall?: (call: ClientUnaryCall) => void } = {},
): Promise<UnaryResult<unknown>> {
  return new Promise((resolvePromise) => {
    const result: Partial<UnaryResult<unknown>> = {};
    let pending = 2; // the callback and the 'status' event
    const done = () => --pending === 0 && resolvePromise(result as UnaryResult<unknown>);
    const call = client.makeUnaryRequest(
      pathOf(method),
      (b: Buffer) => b,
      deserialize(method.output),
      bytes,
      options.metadata ?? new Metadata(),
      options.deadline === undefined ? {} : { deadline: options.deadline },
      (error, response) => {
        if (error) result.error = error;
        else result.response = response;
        done();
      },
    );
    result.call = call;
    call.on("metadata", (headers) => (result.headers = headers));
    call.on("status", (status) => {
      result.status = status;
      done();
    });
    options.onCall?.(call);
  });
}

async function waitFor(predicate: () => boolean, ms = 2000): Promise<void> {
  const until = Date.now() + ms;
  while (!predicate()) {
    if (Date.now() > until) throw new Error("condition not met in time");
    await new Promise((r) => setTimeout(r, 10));
  }
}

// ---- the adapter ----

describe("unary calls through the adapter", () => {
  it("answers with the handler's message, headers and trailers, and a filled context", async () => {
    const metadata = new Metadata();
    metadata.set("x-asker", "bank-melli");
    const deadline = Date.now() + 10_000;
    const { response, error, headers, status } = await unary(
      INQUIRE,
      { inquiryType: "echo", params: { national_id: "0012345678", n: 3 } },
      { metadata, deadline },
    );
    expect(error).toBeUndefined();
    expect(response?.inquiryId).toBe("inq-1");
    expect(response?.responder).toBe("bank-melli");
    expect(response?.result).toEqual({ national_id: "0012345678", n: 3 });
    const seen = JSON.parse(response?.message ?? "{}") as { method: string; peer: string; deadline: number };
    expect(seen.method).toBe("estelam.inquiry.v1.InquiryService/Inquire");
    expect(seen.peer).toMatch(/^127\.0\.0\.1:\d+$/);
    expect(Math.abs(seen.deadline - deadline)).toBeLessThan(1000);
    expect(headers?.get("estelam-inquiry-id")).toEqual(["inq-1"]);
    expect(status?.metadata.get("estelam-tracking-code")).toEqual(["7K3M-9QX2-4HB5"]);
  });

  it("reports no deadline when the caller sets none", async () => {
    const { response } = await unary(INQUIRE, { inquiryType: "echo" });
    expect(JSON.parse(response?.message ?? "{}").deadline).toBeNull();
  });

  it.each<[Reason, number]>([
    ["INVALID_PARAMS", Code.INVALID_ARGUMENT],
    ["ACCESS_DENIED", Code.PERMISSION_DENIED],
    ["NO_ROUTE", Code.UNIMPLEMENTED],
    ["AGENCY_UNAVAILABLE", Code.UNAVAILABLE],
    ["AGENCY_SATURATED", Code.RESOURCE_EXHAUSTED],
    ["CREDENTIAL_MISSING", Code.UNAUTHENTICATED],
  ])("sends an EstelamError %s as code %i with its details and the handler's trailers", async (reason, code) => {
    const { error } = await unary(INQUIRE, { inquiryType: `estelam:${reason}` });
    expect(error?.code).toBe(code);
    expect(error?.details).toBe(`${reason}: explained`);
    expect(error?.metadata.get("estelam-inquiry-id")).toEqual(["inq-2"]);
    const decoded = fromGrpcStatus(error!);
    expect(decoded).toMatchObject({ code, reason, agency: "nocr", message: `${reason}: explained` });
    if (reason === "INVALID_PARAMS") {
      expect(decoded.violations).toEqual([{ field: "params.national_id", description: "bad checksum" }]);
    }
    if (reason === "AGENCY_SATURATED") expect(decoded.retryAfterMs).toBe(2000);
  });

  it.each(["plain", "sync-throw"])("turns a %s Error into INTERNAL without leaking it", async (kind) => {
    const { error } = await unary(INQUIRE, { inquiryType: kind });
    expect(error?.code).toBe(grpcStatus.INTERNAL);
    expect(error?.details).toBe("INTERNAL: internal error");
    const everything =
      JSON.stringify(error?.metadata.toJSON()) +
      error?.message +
      Buffer.concat((error?.metadata.get("grpc-status-details-bin") ?? []) as Buffer[]).toString("latin1");
    expect(everything).not.toContain("10.9.8.7");
    expect(everything).not.toContain("hunter2");
    expect(fromGrpcStatus(error!)).toMatchObject({ reason: "INTERNAL", origin: "gateway" });
  });

  it("answers undecodable request bytes with INVALID_ARGUMENT", async () => {
    // Field 1, length-delimited, claims 5 bytes but carries 1.
    const { error } = await rawUnary(INQUIRE, Buffer.from([0x0a, 0x05, 0x41]));
    expect(error?.code).toBe(grpcStatus.INVALID_ARGUMENT);
    expect(fromGrpcStatus(error!)).toMatchObject({ reason: "INVALID_REQUEST", origin: "client" });
  });

  it("rejects an oversized request with RESOURCE_EXHAUSTED and keeps serving", async () => {
    const { error } = await rawUnary(INQUIRE, Buffer.alloc(2 * 1024 * 1024, 0x41));
    expect(error?.code).toBe(grpcStatus.RESOURCE_EXHAUSTED);
    const again = await unary(INQUIRE, { inquiryType: "echo" });
    expect(again.error).toBeUndefined();
  });

  it("aborts the handler's signal with DEADLINE_EXCEEDED when the caller's deadline passes", async () => {
    waiting.reset();
    const ended = callsEnded.length;
    const { error } = await unary(INQUIRE, { inquiryType: "wait" }, { deadline: Date.now() + 300 });
    expect(error?.code).toBe(grpcStatus.DEADLINE_EXCEEDED);
    const reason = await waiting.aborted.promise;
    expect(reason).toBeInstanceOf(EstelamError);
    expect((reason as EstelamError).reason).toBe("DEADLINE_EXCEEDED");
    await waitFor(() => callsEnded.slice(ended).some((c) => c.code === grpcStatus.DEADLINE_EXCEEDED));
  });

  it("aborts the handler's signal with CANCELLED when the caller cancels", async () => {
    waiting.reset();
    const ended = callsEnded.length;
    const result = unary(
      INQUIRE,
      { inquiryType: "wait" },
      {
        onCall: (call) => void waiting.started.promise.then(() => call.cancel()),
      },
    );
    const { error } = await result;
    expect(error?.code).toBe(grpcStatus.CANCELLED);
    const reason = await waiting.aborted.promise;
    expect((reason as EstelamError).reason).toBe("CANCELLED");
    await waitFor(() => callsEnded.slice(ended).some((c) => c.code === grpcStatus.CANCELLED));
  });

  it("reports every finished call to onCallEnd with its method, code and duration", async () => {
    const ended = callsEnded.length;
    await unary(INQUIRE, { inquiryType: "echo" });
    await unary(INQUIRE, { inquiryType: "plain" });
    await unary(Health.method.check, { service: "" });
    await waitFor(() => callsEnded.length >= ended + 3);
    const recent = callsEnded.slice(ended);
    expect(recent.map((c) => [c.method, c.code])).toEqual([
      ["estelam.inquiry.v1.InquiryService/Inquire", grpcStatus.OK],
      ["estelam.inquiry.v1.InquiryService/Inquire", grpcStatus.INTERNAL],
      ["grpc.health.v1.Health/Check", grpcStatus.OK],
    ]);
    for (const c of recent) expect(c.seconds).toBeGreaterThanOrEqual(0);
    // The unmasked cause stays available to the gateway's own logs.
    expect(String((recent[1]?.error as Error | undefined)?.message)).toContain("10.9.8.7");
  });
});

// ---- health ----

describe("grpc.health.v1.Health", () => {
  it("answers Check for the overall status and a named service", async () => {
    expect((await unary(Health.method.check, { service: "" })).response?.status).toBe(Serving.SERVING);
    expect((await unary(Health.method.check, { service: InquiryService.typeName })).response?.status).toBe(Serving.SERVING);
  });

  it("answers Check of an unknown service with NOT_FOUND", async () => {
    const { error } = await unary(Health.method.check, { service: "no.such.Service" });
    expect(error?.code).toBe(grpcStatus.NOT_FOUND);
  });

  it("lists every status", async () => {
    const { response } = await unary(Health.method.list, {});
    expect(Object.keys(response?.statuses ?? {}).sort()).toEqual(["", InquiryService.typeName]);
  });

  it("streams the current status and then each change until the client cancels", async () => {
    const seen: Serving[] = [];
    const stream = client.makeServerStreamRequest(
      pathOf(Health.method.watch),
      serialize(Health.method.watch.input),
      deserialize(Health.method.watch.output),
      { service: InquiryService.typeName },
    );
    const ended = new Promise<number>((r) => stream.on("status", (s: StatusObject) => r(s.code)));
    stream.on("error", () => {});
    stream.on("data", (m: MessageShape<typeof Health.method.watch.output>) => seen.push(m.status));
    await waitFor(() => seen.length === 1);
    health.setStatus(InquiryService.typeName, "NOT_SERVING");
    await waitFor(() => seen.length === 2);
    health.setStatus(InquiryService.typeName, "NOT_SERVING"); // no change, no message
    health.setStatus(InquiryService.typeName, "SERVING");
    await waitFor(() => seen.length === 3);
    expect(seen).toEqual([Serving.SERVING, Serving.NOT_SERVING, Serving.SERVING]);
    stream.cancel();
    expect(await ended).toBe(grpcStatus.CANCELLED);
  });

  it("watches an unknown service as SERVICE_UNKNOWN until it appears", async () => {
    const seen: Serving[] = [];
    const stream = client.makeServerStreamRequest(
      pathOf(Health.method.watch),
      serialize(Health.method.watch.input),
      deserialize(Health.method.watch.output),
      { service: "later.Service" },
    );
    stream.on("error", () => {});
    stream.on("data", (m: MessageShape<typeof Health.method.watch.output>) => seen.push(m.status));
    await waitFor(() => seen.length === 1);
    health.setStatus("later.Service", "SERVING");
    await waitFor(() => seen.length === 2);
    expect(seen).toEqual([Serving.SERVICE_UNKNOWN, Serving.SERVING]);
    stream.cancel();
  });
});

// ---- reflection ----

type ReflectionMethod = typeof ReflectionV1.method.serverReflectionInfo | typeof ReflectionV1alpha.method.serverReflectionInfo;

/** Sends the requests on one reflection stream and collects one answer per request. */
async function reflect(
  method: ReflectionMethod,
  requests: MessageInitShape<typeof ReflectionV1.method.serverReflectionInfo.input>[],
): Promise<MessageShape<typeof ReflectionV1.method.serverReflectionInfo.output>[]> {
  const stream = client.makeBidiStreamRequest(pathOf(method), serialize(method.input), deserialize(method.output));
  const answers: MessageShape<typeof ReflectionV1.method.serverReflectionInfo.output>[] = [];
  const finished = new Promise<void>((resolvePromise, reject) => {
    stream.on("data", (m) => answers.push(m));
    stream.on("error", reject);
    stream.on("end", () => resolvePromise());
  });
  for (const request of requests) stream.write(request);
  stream.end();
  await finished;
  return answers;
}

function fileNames(answer: MessageShape<typeof ReflectionV1.method.serverReflectionInfo.output> | undefined): string[] {
  if (answer?.messageResponse.case !== "fileDescriptorResponse") return [];
  return answer.messageResponse.value.fileDescriptorProto.map((b) => fromBinary(FileDescriptorProtoSchema, b).name);
}

describe.each([
  ["v1", ReflectionV1.method.serverReflectionInfo],
  ["v1alpha", ReflectionV1alpha.method.serverReflectionInfo],
] as const)("grpc.reflection.%s.ServerReflection", (_version, method) => {
  it("lists the services", async () => {
    const [answer] = await reflect(method, [{ host: "gw", messageRequest: { case: "listServices", value: "*" } }]);
    expect(answer?.validHost).toBe("gw");
    expect(answer?.originalRequest?.messageRequest).toEqual({ case: "listServices", value: "*" });
    expect(answer?.messageResponse.case).toBe("listServicesResponse");
    const names = answer?.messageResponse.case === "listServicesResponse" ? answer.messageResponse.value.service.map((s) => s.name) : [];
    expect(names).toEqual(
      expect.arrayContaining([
        "estelam.inquiry.v1.InquiryService",
        "grpc.health.v1.Health",
        "grpc.reflection.v1.ServerReflection",
        "grpc.reflection.v1alpha.ServerReflection",
      ]),
    );
  });

  it("answers file_containing_symbol with the file and its transitive imports", async () => {
    const answers = await reflect(method, [
      { messageRequest: { case: "fileContainingSymbol", value: "estelam.inquiry.v1.InquiryService" } },
      { messageRequest: { case: "fileContainingSymbol", value: "estelam.inquiry.v1.InquiryService.Inquire" } },
      { messageRequest: { case: "fileContainingSymbol", value: "estelam.inquiry.v1.Answer" } },
      { messageRequest: { case: "fileContainingSymbol", value: "google.protobuf.Struct.FieldsEntry" } },
      { messageRequest: { case: "fileContainingSymbol", value: "estelam.inquiry.v1.NoSuchThing" } },
    ]);
    const inquiryFiles = [
      "estelam/inquiry/v1/inquiry.proto",
      "google/protobuf/duration.proto",
      "google/protobuf/struct.proto",
      "google/protobuf/timestamp.proto",
    ];
    expect(fileNames(answers[0])).toEqual(inquiryFiles);
    expect(fileNames(answers[1])).toEqual(inquiryFiles);
    expect(fileNames(answers[2])).toEqual(inquiryFiles);
    expect(fileNames(answers[3])).toEqual(["google/protobuf/struct.proto"]);
    expect(answers[4]?.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: grpcStatus.NOT_FOUND } });
  });

  it("answers file_by_filename, and the extension questions", async () => {
    const answers = await reflect(method, [
      { messageRequest: { case: "fileByFilename", value: "grpc/health/v1/health.proto" } },
      { messageRequest: { case: "fileByFilename", value: "nope.proto" } },
      {
        messageRequest: {
          case: "fileContainingExtension",
          value: { containingType: "estelam.inquiry.v1.InquireRequest", extensionNumber: 100 },
        },
      },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "estelam.inquiry.v1.InquireRequest" } },
      { messageRequest: { case: "allExtensionNumbersOfType", value: "no.Such" } },
    ]);
    expect(fileNames(answers[0])).toEqual(["grpc/health/v1/health.proto"]);
    expect(answers[1]?.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: grpcStatus.NOT_FOUND } });
    expect(answers[2]?.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: grpcStatus.NOT_FOUND } });
    expect(answers[3]?.messageResponse).toMatchObject({
      case: "allExtensionNumbersResponse",
      value: { baseTypeName: "estelam.inquiry.v1.InquireRequest", extensionNumber: [] },
    });
    expect(answers[4]?.messageResponse).toMatchObject({ case: "errorResponse", value: { errorCode: grpcStatus.NOT_FOUND } });
  });
});

describe("streams through the adapter", () => {
  it("answers an undecodable message on a bidi stream with INVALID_ARGUMENT", async () => {
    const method = ReflectionV1.method.serverReflectionInfo;
    const stream = client.makeBidiStreamRequest(pathOf(method), (b: Buffer) => b, deserialize(method.output));
    const status = new Promise<number>((r) => stream.on("status", (s: StatusObject) => r(s.code)));
    stream.on("error", () => {});
    stream.on("data", () => {});
    stream.write(Buffer.from([0x0a, 0x05, 0x41]));
    stream.end();
    expect(await status).toBe(grpcStatus.INVALID_ARGUMENT);
  });

  it("answers an undecodable server-streaming request with INVALID_ARGUMENT", async () => {
    const method = Health.method.watch;
    const stream = client.makeServerStreamRequest(pathOf(method), (b: Buffer) => b, deserialize(method.output), Buffer.from([0xff]));
    const status = new Promise<number>((r) => stream.on("status", (s: StatusObject) => r(s.code)));
    stream.on("error", () => {});
    expect(await status).toBe(grpcStatus.INVALID_ARGUMENT);
  });
});

describe("createReflectionServices", () => {
  it("refuses to list a service it cannot describe", () => {
    expect(() => createReflectionServices([file_grpc_health_v1_health], ["estelam.inquiry.v1.InquiryService"])).toThrow(/not declared/);
  });
});

// ---- buf curl, knowing nothing but the server's reflection ----

describe("buf curl through reflection", () => {
  let cwd: string;
  beforeAll(async () => {
    // An empty directory: no buf.yaml or .proto files for buf to find.
    cwd = await mkdtemp(join(tmpdir(), "estelam-buf-curl-"));
  });
  afterAll(async () => {
    if (cwd) await rm(cwd, { recursive: true, force: true });
  });

  async function bufCurl(...args: string[]): Promise<string> {
    const { stdout } = await execFileAsync(BUF, ["curl", "--protocol", "grpc", "--http2-prior-knowledge", ...args], {
      cwd,
      env: { ...process.env, BUF_CACHE_DIR: join(cwd, "cache"), HOME: cwd },
      timeout: 20_000,
    });
    return stdout;
  }

  it("calls Health/Check", async () => {
    const out = await bufCurl(`http://${address}/grpc.health.v1.Health/Check`, "-d", "{}");
    expect(JSON.parse(out)).toEqual({ status: "SERVING" });
  });

  it("lists the methods", async () => {
    const out = await bufCurl("--list-methods", `http://${address}`);
    expect(out.split("\n")).toEqual(
      expect.arrayContaining(["estelam.inquiry.v1.InquiryService/Inquire", "grpc.health.v1.Health/Check", "grpc.health.v1.Health/Watch"]),
    );
  });

  it("calls Inquire with a Struct param, resolving google/protobuf/struct.proto by reflection", async () => {
    const out = await bufCurl(
      `http://${address}/estelam.inquiry.v1.InquiryService/Inquire`,
      "-d",
      JSON.stringify({ inquiryType: "echo", params: { national_id: "0012345678" } }),
    );
    expect(JSON.parse(out)).toMatchObject({ inquiryId: "inq-1", result: { national_id: "0012345678" } });
  });

  it("works over reflection v1alpha too", async () => {
    const out = await bufCurl("--reflect-protocol", "grpc-v1alpha", `http://${address}/grpc.health.v1.Health/Check`, "-d", "{}");
    expect(JSON.parse(out)).toEqual({ status: "SERVING" });
  });
});
