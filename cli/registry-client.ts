// A grpc-js client of the gateway's RegistryService (admin credential) and of InquiryService's discovery
// methods (agency credential), with protobuf-es messages. Like cli/client.ts, failures come back as a
// tagged result with the decoded status, never thrown.
import {
  create,
  type DescMessage,
  type DescMethodServerStreaming,
  type DescMethodUnary,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { Client, Metadata } from "@grpc/grpc-js";
import { InquiryService } from "../gen/estelam/inquiry/v1/inquiry_pb.js";
import { RegistryService } from "../gen/estelam/registry/v1/registry_pb.js";
import { type CallFailure, DEFAULT_DEADLINE_MS, fromGrpcStatus, unary } from "./client.ts";
import { channelCredentials } from "./tls.ts";

export type Result<T> = { readonly ok: true; readonly response: T } | CallFailure;

export interface CallOptions {
  readonly deadlineMs?: number | undefined;
}

type Unary<I extends DescMessage, O extends DescMessage> = (
  request: MessageInitShape<I>,
  options?: CallOptions,
) => Promise<Result<MessageShape<O>>>;

export interface RegistryClient {
  apply: Unary<typeof RegistryService.method.apply.input, typeof RegistryService.method.apply.output>;
  delete: Unary<typeof RegistryService.method.delete.input, typeof RegistryService.method.delete.output>;
  rollback: Unary<typeof RegistryService.method.rollback.input, typeof RegistryService.method.rollback.output>;
  get: Unary<typeof RegistryService.method.get.input, typeof RegistryService.method.get.output>;
  list: Unary<typeof RegistryService.method.list.input, typeof RegistryService.method.list.output>;
  history: Unary<typeof RegistryService.method.history.input, typeof RegistryService.method.history.output>;
  /** Calls `onMessage` for every revision the gateway starts serving; resolves when the stream ends or `signal` aborts. */
  watch(
    onMessage: (message: MessageShape<typeof RegistryService.method.watch.output>) => void,
    signal?: AbortSignal,
  ): Promise<Result<undefined>>;
  listAllowedInquiries: Unary<
    typeof InquiryService.method.listAllowedInquiries.input,
    typeof InquiryService.method.listAllowedInquiries.output
  >;
  describeInquiryType: Unary<
    typeof InquiryService.method.describeInquiryType.input,
    typeof InquiryService.method.describeInquiryType.output
  >;
  close(): void;
}

function path(method: { readonly parent: { readonly typeName: string }; readonly name: string }): string {
  return `/${method.parent.typeName}/${method.name}`;
}

/** A client of the gateway at `address` (`host:port`) that sends `apiKey` as `authorization: Bearer <key>`. */
export function createRegistryClient(address: string, apiKey: string): RegistryClient {
  const client = new Client(address, channelCredentials());
  const metadata = (): Metadata => {
    const m = new Metadata();
    if (apiKey !== "") m.set("authorization", `Bearer ${apiKey}`);
    return m;
  };
  const call =
    <I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>): Unary<I, O> =>
    (request, options = {}) =>
      unary(
        client,
        path(method),
        (message: MessageInitShape<I>) => Buffer.from(toBinary(method.input, create(method.input, message))),
        (bytes: Buffer) => fromBinary(method.output, bytes),
        request,
        metadata(),
        { deadlineMs: options.deadlineMs ?? DEFAULT_DEADLINE_MS },
      );
  const stream = <I extends DescMessage, O extends DescMessage>(
    method: DescMethodServerStreaming<I, O>,
    request: MessageInitShape<I>,
    onMessage: (message: MessageShape<O>) => void,
    signal?: AbortSignal,
  ): Promise<Result<undefined>> =>
    new Promise((resolve) => {
      const s = client.makeServerStreamRequest(
        path(method),
        (message: MessageInitShape<I>) => Buffer.from(toBinary(method.input, create(method.input, message))),
        (bytes: Buffer) => fromBinary(method.output, bytes),
        request,
        metadata(),
      );
      const onAbort = (): void => s.cancel();
      signal?.addEventListener("abort", onAbort, { once: true });
      s.on("data", (message: MessageShape<O>) => onMessage(message));
      s.on("error", (error: Parameters<typeof fromGrpcStatus>[0] & Error) => {
        signal?.removeEventListener("abort", onAbort);
        // Cancelled through `signal`: the caller ended the stream, which is not a failure.
        if (signal?.aborted) resolve({ ok: true, response: undefined });
        else resolve({ ok: false, status: fromGrpcStatus(error), error: error as CallFailure["error"] });
      });
      s.on("end", () => {
        signal?.removeEventListener("abort", onAbort);
        resolve({ ok: true, response: undefined });
      });
    });

  const m = RegistryService.method;
  return {
    apply: call(m.apply),
    delete: call(m.delete),
    rollback: call(m.rollback),
    get: call(m.get),
    list: call(m.list),
    history: call(m.history),
    watch: (onMessage, signal) => stream(m.watch, {}, onMessage, signal),
    listAllowedInquiries: call(InquiryService.method.listAllowedInquiries),
    describeInquiryType: call(InquiryService.method.describeInquiryType),
    close: () => client.close(),
  };
}
