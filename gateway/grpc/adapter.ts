// The only bridge between protobuf-es services and grpc-js. A service descriptor plus typed handlers
// becomes a grpc-js ServiceDefinition and implementation; handlers see protobuf-es messages and a
// CallContext, never a grpc-js call. grpc-js only moves bytes: (de)serialisation happens here so that an
// undecodable request is INVALID_ARGUMENT (grpc-js would say INTERNAL) and every failure, however it is
// raised, reaches the wire through toGrpcStatus.
import {
  create,
  type DescMessage,
  type DescMethod,
  type DescService,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import {
  status as grpcStatus,
  Metadata,
  type MethodDefinition,
  type ServerDuplexStream,
  type ServerReadableStream,
  type ServerUnaryCall,
  type ServerWritableStream,
  type ServiceDefinition,
  type sendUnaryData,
  type UntypedHandleCall,
  type UntypedServiceImplementation,
} from "@grpc/grpc-js";
import { EstelamError } from "../../core/errors.ts";
import { type CallContext, cancelledError, deadlineError, deadlinePassed } from "./call-context.ts";
import { peerIdentity } from "./peer-certificate.ts";
import { toGrpcStatus } from "./status.ts";

export type UnaryImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: CallContext,
) => Promise<MessageInitShape<O>>;

/** Resolves when the stream should end; `send` writes one response message. */
export type ServerStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  request: MessageShape<I>,
  context: CallContext,
  send: (message: MessageInitShape<O>) => void,
) => Promise<void>;

export type ClientStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  context: CallContext,
) => Promise<MessageInitShape<O>>;

export type BidiStreamingImpl<I extends DescMessage, O extends DescMessage> = (
  requests: AsyncIterable<MessageShape<I>>,
  context: CallContext,
  send: (message: MessageInitShape<O>) => void,
) => Promise<void>;

type KindImpl<K, I extends DescMessage, O extends DescMessage> = K extends "unary"
  ? UnaryImpl<I, O>
  : K extends "server_streaming"
    ? ServerStreamingImpl<I, O>
    : K extends "client_streaming"
      ? ClientStreamingImpl<I, O>
      : K extends "bidi_streaming"
        ? BidiStreamingImpl<I, O>
        : never;

/** The handler type of one method, chosen by its kind. */
export type MethodImpl<M extends Pick<DescMethod, "methodKind" | "input" | "output">> = KindImpl<M["methodKind"], M["input"], M["output"]>;

/** Handlers for every method of a service, keyed by the method's local name (e.g. `inquire`). */
export type ServiceImpl<S extends DescService> = { [K in keyof S["method"]]: MethodImpl<S["method"][K]> };

export interface CallEndInfo {
  /** `package.Service/Method`. */
  readonly method: string;
  /** Final gRPC status code. */
  readonly code: number;
  /** Time from the handler's start to the final status. */
  readonly seconds: number;
  /** What the handler threw, when it failed (unmasked, for the gateway's own logs only). */
  readonly error?: unknown;
}

export interface AdapterOptions {
  /** Called once per call that reached a handler, including health and reflection. Must not throw. */
  onCallEnd?(info: CallEndInfo): void;
}

/** A service ready for `server.addService`; `implement` binds the per-server hooks. */
export interface AdaptedService {
  readonly typeName: string;
  readonly definition: ServiceDefinition;
  implement(options?: AdapterOptions): UntypedServiceImplementation;
}

export function adaptService<S extends DescService>(service: S, implementation: ServiceImpl<S>): AdaptedService {
  const handlers = implementation as unknown as Record<string, (...args: never[]) => unknown>;
  const definition: Record<string, MethodDefinition<Uint8Array, Uint8Array>> = {};
  for (const method of service.methods) {
    definition[method.localName] = {
      path: `/${service.typeName}/${method.name}`,
      requestStream: method.methodKind === "client_streaming" || method.methodKind === "bidi_streaming",
      responseStream: method.methodKind === "server_streaming" || method.methodKind === "bidi_streaming",
      // Bytes pass through grpc-js untouched; see decode/encode below.
      requestSerialize: asBuffer,
      requestDeserialize: asBuffer,
      responseSerialize: asBuffer,
      responseDeserialize: asBuffer,
      originalName: method.localName,
    };
  }
  return {
    typeName: service.typeName,
    definition,
    implement(options: AdapterOptions = {}): UntypedServiceImplementation {
      const bound: UntypedServiceImplementation = {};
      for (const method of service.methods) {
        const handler = handlers[method.localName];
        // A missing handler is left to grpc-js, which answers UNIMPLEMENTED.
        if (typeof handler === "function") bound[method.localName] = bindMethod(method, handler, options);
      }
      return bound;
    },
  };
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/** Decodes a request message; anything undecodable is INVALID_REQUEST, never another failure. */
export function decode<D extends DescMessage>(schema: D, bytes: Uint8Array): MessageShape<D> {
  try {
    return fromBinary(schema, bytes);
  } catch (cause) {
    throw new EstelamError("INVALID_REQUEST", `the request is not a valid ${schema.typeName} message`, { cause });
  }
}

function encode<D extends DescMessage>(schema: D, message: MessageInitShape<D>): Uint8Array {
  return toBinary(schema, create(schema, message));
}

/** The parts of a grpc-js server call common to all four kinds. */
type SurfaceCall = Pick<
  ServerUnaryCall<Uint8Array, Uint8Array>,
  "metadata" | "getPeer" | "getDeadline" | "sendMetadata" | "getAuthContext"
> & {
  once(event: "cancelled", listener: () => void): unknown;
};

/** Per-call bookkeeping: the context, pending response metadata, and exactly-once completion. */
interface CallState {
  readonly context: CallContext;
  readonly trailers: Metadata;
  /** Sends response headers set by the handler, once, before the first message or the status. */
  flushHeaders(): void;
  /** Marks the call done; false when it already was (e.g. cancelled), in which case nothing is sent. */
  finish(code: number, error?: unknown): boolean;
  readonly finished: () => boolean;
}

function startCall(call: SurfaceCall, methodName: string, options: AdapterOptions): CallState {
  const started = performance.now();
  const controller = new AbortController();
  const headers = new Metadata();
  const trailers = new Metadata();
  let headersSent = false;
  let finished = false;

  const rawDeadline = call.getDeadline();
  const deadlineMs = rawDeadline instanceof Date ? rawDeadline.getTime() : rawDeadline;
  const deadline = Number.isFinite(deadlineMs) ? deadlineMs : undefined;

  const finish = (code: number, error?: unknown): boolean => {
    if (finished) return false;
    finished = true;
    if (options.onCallEnd) {
      const seconds = (performance.now() - started) / 1000;
      try {
        options.onCallEnd(error === undefined ? { method: methodName, code, seconds } : { method: methodName, code, seconds, error });
      } catch {
        // Monitoring must never break a call.
      }
    }
    return true;
  };

  // grpc-js emits 'cancelled' for client cancels and passed deadlines (it has then already sent the
  // status itself), and also after every normal end, which `finished` filters out.
  call.once("cancelled", () => {
    if (finished) return;
    const expired = deadlinePassed(deadline);
    finish(expired ? grpcStatus.DEADLINE_EXCEEDED : grpcStatus.CANCELLED);
    controller.abort(expired ? deadlineError() : cancelledError());
  });

  const certificate = peerIdentity(call.getAuthContext().sslPeerCertificate);
  const context: CallContext = {
    method: methodName,
    ...(certificate === undefined ? {} : { peerCertificate: certificate }),
    header(name) {
      const value = call.metadata.get(name)[0];
      return typeof value === "string" ? value : undefined;
    },
    peer: call.getPeer(),
    deadline,
    signal: controller.signal,
    setHeader(name, value) {
      if (headersSent) throw new Error(`response header "${name}" set after headers were sent`);
      headers.add(name, value);
    },
    setTrailer(name, value) {
      trailers.add(name, value);
    },
  };

  return {
    context,
    trailers,
    flushHeaders() {
      if (headersSent) return;
      headersSent = true;
      if (Object.keys(headers.getMap()).length > 0) call.sendMetadata(headers);
    },
    finish,
    finished: () => finished,
  };
}

/** Trailers set by the handler plus the status metadata (which wins on a clash). */
function errorStatus(error: unknown, trailers: Metadata): { code: number; details: string; metadata: Metadata } {
  const status = toGrpcStatus(error);
  const metadata = trailers.clone();
  for (const key of Object.keys(status.metadata.getMap())) {
    const values = status.metadata.get(key);
    metadata.remove(key);
    for (const value of values) metadata.add(key, value);
  }
  return { code: status.code, details: status.details, metadata };
}

/** Runs a handler so that a synchronous throw becomes a rejection. */
function run<T>(body: () => Promise<T>): Promise<T> {
  try {
    return Promise.resolve(body());
  } catch (error) {
    return Promise.reject(error);
  }
}

async function* decodeStream<D extends DescMessage>(
  stream: ServerReadableStream<Uint8Array, Uint8Array> | ServerDuplexStream<Uint8Array, Uint8Array>,
  schema: D,
): AsyncGenerator<MessageShape<D>> {
  // destroyOnReturn: false, so a handler that stops reading early does not tear down the response side.
  for await (const chunk of stream.iterator({ destroyOnReturn: false })) {
    yield decode(schema, chunk as Uint8Array);
  }
}

type AnyHandler = (...args: never[]) => unknown;

/** Ends a call with one response message (unary and client-streaming): the answer, or the mapped error. */
function settleUnary(state: CallState, callback: sendUnaryData<Uint8Array>, answer: Promise<Uint8Array>): void {
  answer.then(
    (bytes) => {
      if (!state.finish(grpcStatus.OK)) return;
      state.flushHeaders();
      callback(null, bytes, state.trailers);
    },
    (error: unknown) => {
      const status = errorStatus(error, state.trailers);
      if (!state.finish(status.code, error)) return;
      state.flushHeaders();
      callback(status);
    },
  );
}

function bindMethod(method: DescMethod, handler: AnyHandler, options: AdapterOptions): UntypedHandleCall {
  const name = `${method.parent.typeName}/${method.name}`;
  const { input, output } = method;

  switch (method.methodKind) {
    case "unary": {
      const impl = handler as unknown as UnaryImpl<DescMessage, DescMessage>;
      return (call: ServerUnaryCall<Uint8Array, Uint8Array>, callback: sendUnaryData<Uint8Array>) => {
        const state = startCall(call, name, options);
        settleUnary(
          state,
          callback,
          run(async () => encode(output, await impl(decode(input, call.request), state.context))),
        );
      };
    }
    case "client_streaming": {
      const impl = handler as unknown as ClientStreamingImpl<DescMessage, DescMessage>;
      return (call: ServerReadableStream<Uint8Array, Uint8Array>, callback: sendUnaryData<Uint8Array>) => {
        const state = startCall(call, name, options);
        settleUnary(
          state,
          callback,
          run(async () => encode(output, await impl(decodeStream(call, input), state.context))),
        );
      };
    }
    case "server_streaming": {
      const impl = handler as unknown as ServerStreamingImpl<DescMessage, DescMessage>;
      return (call: ServerWritableStream<Uint8Array, Uint8Array>) => {
        const state = startCall(call, name, options);
        const send = streamSender(call, state, output);
        settleStream(
          call,
          state,
          run(() => impl(decode(input, call.request), state.context, send)),
        );
      };
    }
    case "bidi_streaming": {
      const impl = handler as unknown as BidiStreamingImpl<DescMessage, DescMessage>;
      return (call: ServerDuplexStream<Uint8Array, Uint8Array>) => {
        const state = startCall(call, name, options);
        const send = streamSender(call, state, output);
        settleStream(
          call,
          state,
          run(() => impl(decodeStream(call, input), state.context, send)),
        );
      };
    }
  }
}

type WritableCall = ServerWritableStream<Uint8Array, Uint8Array> | ServerDuplexStream<Uint8Array, Uint8Array>;

function streamSender(call: WritableCall, state: CallState, schema: DescMessage): (message: MessageInitShape<DescMessage>) => void {
  return (message) => {
    // After cancellation or the end of the call there is nobody to send to; dropping is correct.
    if (state.finished()) return;
    const bytes = encode(schema, message);
    state.flushHeaders();
    call.write(bytes);
  };
}

function settleStream(call: WritableCall, state: CallState, done: Promise<void>): void {
  done.then(
    () => {
      if (!state.finish(grpcStatus.OK)) return;
      state.flushHeaders();
      call.end(state.trailers);
    },
    (error: unknown) => {
      const status = errorStatus(error, state.trailers);
      if (!state.finish(status.code, error)) return;
      state.flushHeaders();
      // grpc-js turns an 'error' event on a server stream into the call's final status.
      call.emit("error", status);
    },
  );
}
