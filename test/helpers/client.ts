// The tests' InquiryService client: cli/client.ts (the one the `estelam` CLI uses) with the asking
// agency's API key fixed per client; a call may send another key, or none with `apiKey: null`.
import {
  createInquiryClient as createGatewayClient,
  type InquireCallOptions,
  type InquireRequestInit,
  type InquireResult,
} from "../../cli/client.ts";

export type InquireInit = InquireRequestInit;

export type InquireOutcome = InquireResult;

export interface InquiryClient {
  inquire(request: InquireInit, options?: Pick<InquireCallOptions, "apiKey" | "deadlineMs" | "signal">): Promise<InquireOutcome>;
  close(): void;
}

export function createInquiryClient(address: string, defaultApiKey: string): InquiryClient {
  return createGatewayClient(address, { apiKey: defaultApiKey });
}
