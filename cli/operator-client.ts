// A grpc-js client of the gateway's OperatorService (admin credential), with protobuf-es messages. Like
// cli/client.ts, failures come back as a tagged result with the decoded status, never thrown.
import {
  create,
  type DescMessage,
  type DescMethodUnary,
  fromBinary,
  type MessageInitShape,
  type MessageShape,
  toBinary,
} from "@bufbuild/protobuf";
import { Client, credentials, Metadata } from "@grpc/grpc-js";
import { OperatorService } from "../gen/estelam/operator/v1/operator_pb.js";
import { DEFAULT_DEADLINE_MS, unary } from "./client.ts";
import type { CallOptions, Result } from "./registry-client.ts";

type Unary<I extends DescMessage, O extends DescMessage> = (
  request: MessageInitShape<I>,
  options?: CallOptions,
) => Promise<Result<MessageShape<O>>>;

export interface OperatorClient {
  getScoreboard: Unary<typeof OperatorService.method.getScoreboard.input, typeof OperatorService.method.getScoreboard.output>;
  listBreakers: Unary<typeof OperatorService.method.listBreakers.input, typeof OperatorService.method.listBreakers.output>;
  close(): void;
}

/** A client of the gateway at `address` (`host:port`) that sends `apiKey` as `authorization: Bearer <key>`. */
export function createOperatorClient(address: string, apiKey: string): OperatorClient {
  const client = new Client(address, credentials.createInsecure());
  const call =
    <I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>): Unary<I, O> =>
    (request, options = {}) => {
      const metadata = new Metadata();
      metadata.set("authorization", `Bearer ${apiKey}`);
      return unary(
        client,
        `/${method.parent.typeName}/${method.name}`,
        (message: MessageInitShape<I>) => Buffer.from(toBinary(method.input, create(method.input, message))),
        (bytes: Buffer) => fromBinary(method.output, bytes),
        request,
        metadata,
        { deadlineMs: options.deadlineMs ?? DEFAULT_DEADLINE_MS },
      );
    };
  return {
    getScoreboard: call(OperatorService.method.getScoreboard),
    listBreakers: call(OperatorService.method.listBreakers),
    close: () => client.close(),
  };
}
