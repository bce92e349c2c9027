// The per-inquiry context that travels down the request path. Each step fills in what it established
// (who is asking, which inquiry type, the normalised params, the route); nothing per-inquiry lives in
// module state.
import type { JsonObject } from "@bufbuild/protobuf";
import type { InquireRequest } from "../gen/estelam/inquiry/v1/inquiry_pb.js";
import type { Credential, InquiryType, RegistrySnapshot, Route } from "../registry/catalogue.ts";
import type { Subject } from "../registry/params.ts";
import type { CallContext } from "./grpc/call-context.ts";

export interface InquiryContext {
  readonly inquiryId: string;
  readonly trackingCode: string;
  /** Epoch ms when the request arrived. */
  readonly receivedAt: number;
  /** performance.now() when the request arrived, for durations. */
  readonly startedAt: number;
  readonly request: InquireRequest;
  readonly call: CallContext;
  /** The registry revision this inquiry is served under, taken once at the start. */
  readonly snapshot: RegistrySnapshot;

  credential?: Credential;
  inquiryType?: InquiryType;
  params?: JsonObject;
  subjects?: readonly Subject[];
  /** The endpoint chosen to answer, with the connector's operation options. */
  route?: Route;
  /** Epoch ms when the request went to the agency and when its answer came back. */
  requestOutAt?: number;
  responseInAt?: number;
  /** Seconds spent waiting for the agency. */
  upstreamSeconds?: number;
}
