// Observes every call the gRPC server sees, for the go-grpc-prometheus metric set: started, messages received
// and sent, handled (by final code) and handling time. A grpc-js server interceptor sees each call that has a
// handler, including those grpc-js ends itself before or around the handler (an oversized message, a passed
// deadline, a malformed timeout header); a call to a method nobody serves never reaches an interceptor, so
// the server's handler lookup is observed too. Unknown paths are caller-controlled text: they are counted
// under the fixed label `unknown`, never under the path sent.
import type { Http2ServerRequest } from "node:http2";
import {
  status as GrpcStatus,
  ResponderBuilder,
  type Server,
  ServerInterceptingCall,
  type ServerInterceptingCallInterface,
  type ServerInterceptor,
  ServerListenerBuilder,
  type ServerMethodDefinition,
} from "@grpc/grpc-js";
import { deadlinePassed } from "./call-context.ts";

/** Labels of one method, as go-grpc-prometheus names them. */
export interface MethodLabels {
  readonly grpc_service: string;
  readonly grpc_method: string;
  readonly grpc_type: "unary" | "client_stream" | "server_stream" | "bidi_stream" | "unknown";
}

export interface CallObserver {
  started(method: MethodLabels): void;
  received(method: MethodLabels): void;
  sent(method: MethodLabels): void;
  handled(method: MethodLabels, code: number, seconds: number): void;
}

export const UNKNOWN_METHOD: MethodLabels = { grpc_service: "unknown", grpc_method: "unknown", grpc_type: "unknown" };

function labelsOf(definition: Pick<ServerMethodDefinition<unknown, unknown>, "path" | "requestStream" | "responseStream">): MethodLabels {
  const path = definition.path.startsWith("/") ? definition.path.slice(1) : definition.path;
  const slash = path.lastIndexOf("/");
  const type = definition.requestStream
    ? definition.responseStream
      ? "bidi_stream"
      : "client_stream"
    : definition.responseStream
      ? "server_stream"
      : "unary";
  return { grpc_service: path.slice(0, slash), grpc_method: path.slice(slash + 1), grpc_type: type };
}

/** The HTTP/2 stream under grpc-js's innermost call, when it exposes one: it knows the status actually sent. */
type SentHeaders = Pick<Http2ServerRequest["stream"], "sentHeaders" | "sentTrailers" | "once">;

function streamOf(call: ServerInterceptingCallInterface): SentHeaders | undefined {
  const stream = (call as unknown as { stream?: unknown }).stream;
  return typeof stream === "object" && stream !== null && "sentHeaders" in stream && "once" in stream ? (stream as SentHeaders) : undefined;
}

function sentStatus(stream: SentHeaders | undefined): number | undefined {
  const raw = stream?.sentTrailers?.["grpc-status"] ?? stream?.sentHeaders?.["grpc-status"];
  const code = Number(raw);
  return raw === undefined || !Number.isInteger(code) ? undefined : code;
}

/**
 * The interceptor. It must be the first in the server's list (grpc-js wraps in list order, so the first is
 * innermost): then it also sees the statuses other interceptors send.
 */
export function callMetricsInterceptor(observer: CallObserver): ServerInterceptor {
  return (definition, call) => {
    const method = labelsOf(definition);
    const startedAt = performance.now();
    const deadline = call.getDeadline();
    const stream = streamOf(call);
    let responderCode: number | undefined;
    let done = false;
    observer.started(method);

    const finish = (fallback: number): void => {
      if (done) return;
      done = true;
      observer.handled(method, responderCode ?? sentStatus(stream) ?? fallback, (performance.now() - startedAt) / 1000);
    };
    // A status grpc-js sends itself never passes the responder; the stream's close tells the code it sent.
    stream?.once("close", () => {
      const expired = deadlinePassed(deadline instanceof Date ? deadline.getTime() : deadline);
      finish(expired ? GrpcStatus.DEADLINE_EXCEEDED : GrpcStatus.CANCELLED);
    });

    const listener = new ServerListenerBuilder()
      .withOnReceiveMessage((message, next) => {
        observer.received(method);
        next(message);
      })
      .withOnCancel(() => {
        // Without the stream (another grpc-js) judge by the clock: a passed deadline, else the caller left.
        if (stream !== undefined) return;
        const expired = deadlinePassed(deadline instanceof Date ? deadline.getTime() : deadline);
        finish(expired ? GrpcStatus.DEADLINE_EXCEEDED : GrpcStatus.CANCELLED);
      })
      .build();
    const responder = new ResponderBuilder()
      .withStart((next) => next(listener))
      .withSendMessage((message, next) => {
        observer.sent(method);
        next(message);
      })
      .withSendStatus((status, next) => {
        responderCode = status.code;
        if (stream === undefined) finish(status.code);
        next(status);
      })
      .build();
    return new ServerInterceptingCall(call, responder);
  };
}

const HANDLER_TYPES: Readonly<Record<string, MethodLabels["grpc_type"]>> = {
  unary: "unary",
  clientStream: "client_stream",
  serverStream: "server_stream",
  bidi: "bidi_stream",
};

/**
 * Counts a call refused before grpc-js built it (by the edge guard): `type` is grpc-js's handler type for the
 * path, undefined when nobody serves it (then the fixed `unknown` labels).
 */
export function observeRefusedCall(observer: CallObserver, path: string, type: string | undefined, code: number): void {
  const grpcType = type === undefined ? undefined : HANDLER_TYPES[type];
  const slash = path.lastIndexOf("/");
  const method: MethodLabels =
    grpcType === undefined || slash <= 0
      ? UNKNOWN_METHOD
      : { grpc_service: path.slice(1, slash), grpc_method: path.slice(slash + 1), grpc_type: grpcType };
  observer.started(method);
  observer.handled(method, code, 0);
}

/**
 * Counts calls to methods the server does not serve (grpc-js answers them UNIMPLEMENTED without any
 * interceptor). Observes grpc-js's handler lookup; if a grpc-js release renames it, nothing breaks and the
 * test of this behaviour says so.
 */
export function observeUnknownMethods(server: Server, observer: CallObserver): void {
  const lookup = server as unknown as { _retrieveHandler?: (path: string) => unknown };
  const original = lookup._retrieveHandler;
  if (typeof original !== "function") return;
  lookup._retrieveHandler = function retrieveHandler(this: unknown, path: string): unknown {
    const handler: unknown = original.call(this, path);
    if (handler === null || handler === undefined) {
      observer.started(UNKNOWN_METHOD);
      observer.handled(UNKNOWN_METHOD, GrpcStatus.UNIMPLEMENTED, 0);
    }
    return handler;
  };
}
