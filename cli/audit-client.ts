// A grpc-js client of the gateway's AuditService (admin credential), with protobuf-es messages; failures
// come back as a tagged result with the decoded status, never thrown (as in cli/client.ts).
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
import { AuditService } from "../gen/estelam/audit/v1/audit_service_pb.js";
import { type CallFailure, DEFAULT_DEADLINE_MS, unary } from "./client.ts";

export type Result<T> = { readonly ok: true; readonly response: T } | CallFailure;

type Unary<I extends DescMessage, O extends DescMessage> = (request: MessageInitShape<I>) => Promise<Result<MessageShape<O>>>;

export interface AuditClient {
  findInquiry: Unary<typeof AuditService.method.findInquiry.input, typeof AuditService.method.findInquiry.output>;
  subjectReport: Unary<typeof AuditService.method.subjectReport.input, typeof AuditService.method.subjectReport.output>;
  close(): void;
}

export function createAuditClient(address: string, apiKey: string, deadlineMs = DEFAULT_DEADLINE_MS): AuditClient {
  const client = new Client(address, credentials.createInsecure());
  const call =
    <I extends DescMessage, O extends DescMessage>(method: DescMethodUnary<I, O>): Unary<I, O> =>
    (request) => {
      const metadata = new Metadata();
      metadata.set("authorization", `Bearer ${apiKey}`);
      return unary(
        client,
        `/${method.parent.typeName}/${method.name}`,
        (message: MessageInitShape<I>) => Buffer.from(toBinary(method.input, create(method.input, message))),
        (bytes: Buffer) => fromBinary(method.output, bytes),
        request,
        metadata,
        { deadlineMs },
      );
    };
  return {
    findInquiry: call(AuditService.method.findInquiry),
    subjectReport: call(AuditService.method.subjectReport),
    close: () => client.close(),
  };
}
