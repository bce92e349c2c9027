// The request path as an ordered chain of interceptors ending in a terminal handler (the router), like
// connect-es interceptors and Envoy filters: each step may refuse, enrich the context, or call `next`.
import type { ConnectorAnswer } from "../connectors/connector.ts";
import type { InquiryContext } from "./context.ts";

export type InquiryHandler = (context: InquiryContext) => Promise<ConnectorAnswer>;
export type InquiryInterceptor = (next: InquiryHandler) => InquiryHandler;

/** Composes interceptors so that the first in the list runs first and the terminal handler runs last. */
export function composeChain(interceptors: readonly InquiryInterceptor[], terminal: InquiryHandler): InquiryHandler {
  return interceptors.reduceRight<InquiryHandler>((next, interceptor) => interceptor(next), terminal);
}
