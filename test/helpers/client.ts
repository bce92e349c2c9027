// A plain grpc-js client for InquiryService, as an agency's back end would use it, with errors decoded
// from the standard google.rpc.Status details.
import { create, fromBinary, toBinary, type MessageInitShape } from "@bufbuild/protobuf";
import { Client, credentials, Metadata, type ServiceError } from "@grpc/grpc-js";
import { type InquireResponse, InquireRequestSchema, InquireResponseSchema } from "../../gen/estelam/inquiry/v1/inquiry_pb.js";
import { type DecodedStatus, fromGrpcStatus } from "../../gateway/grpc/status.ts";

export type InquireInit = MessageInitShape<typeof InquireRequestSchema>;

export type InquireOutcome =
  | { readonly ok: true; readonly response: InquireResponse }
  | { readonly ok: false; readonly status: DecodedStatus; readonly error: ServiceError };

export interface InquiryClient {
  inquire(request: InquireInit, options?: { apiKey?: string | null; deadlineMs?: number; signal?: AbortSignal }): Promise<InquireOutcome>;
  close(): void;
}

export function createInquiryClient(address: string, defaultApiKey: string): InquiryClient {
  const client = new Client(address, credentials.createInsecure());
  return {
    inquire(request, options = {}) {
      const metadata = new Metadata();
      const key = options.apiKey === undefined ? defaultApiKey : options.apiKey;
      if (key !== null) metadata.set("authorization", `Bearer ${key}`);
      const deadline = Date.now() + (options.deadlineMs ?? 10_000);
      return new Promise((resolve) => {
        const call = client.makeUnaryRequest(
          "/estelam.inquiry.v1.InquiryService/Inquire",
          (message: InquireInit) => Buffer.from(toBinary(InquireRequestSchema, create(InquireRequestSchema, message))),
          (bytes: Buffer) => fromBinary(InquireResponseSchema, bytes),
          request,
          metadata,
          { deadline },
          (error, response) => {
            if (error) resolve({ ok: false, status: fromGrpcStatus(error), error });
            else resolve({ ok: true, response: response as InquireResponse });
          },
        );
        options.signal?.addEventListener("abort", () => call.cancel(), { once: true });
      });
    },
    close: () => client.close(),
  };
}
