// Discovery for callers (InquiryService/ListAllowedInquiries and DescribeInquiryType): which inquiry types
// the calling agency may ask, with their JSON Schemas, purposes, timeouts and objectives, answered from the
// snapshot being served. Authenticated like Inquire; a type without a grant is not described.
import type { MessageInitShape } from "@bufbuild/protobuf";
import { durationFromMs } from "@bufbuild/protobuf/wkt";
import { EstelamError, invalid } from "../core/errors.ts";
import {
  ConsentTier,
  DataClassification,
  type DescribeInquiryTypeRequest,
  type DescribeInquiryTypeResponseSchema,
  type InquiryTypeInfoSchema,
  type ListAllowedInquiriesResponseSchema,
} from "../gen/estelam/inquiry/v1/inquiry_pb.js";
import type { Credential, Grant, InquiryType, RegistrySnapshot } from "../registry/catalogue.ts";
import type { Registry } from "../registry/registry.ts";
import type { CallContext } from "./grpc/call-context.ts";
import { credentialOf } from "./interceptors/authenticate.ts";
import { grantFor } from "./interceptors/authorize.ts";

const CONSENT = { agency: ConsentTier.AGENCY, "one-time-code": ConsentTier.ONE_TIME_CODE, citizen: ConsentTier.CITIZEN } as const;
const CLASSIFICATION = {
  public: DataClassification.PUBLIC,
  internal: DataClassification.INTERNAL,
  confidential: DataClassification.CONFIDENTIAL,
  secret: DataClassification.SECRET,
} as const;

type InquiryTypeInfo = MessageInitShape<typeof InquiryTypeInfoSchema>;

function info(snapshot: RegistrySnapshot, type: InquiryType, grant: Grant): InquiryTypeInfo {
  const responder = snapshot.agencies.get(type.agency);
  return {
    id: type.id,
    title: type.title,
    description: type.description,
    responder: type.agency,
    responderName: responder?.name ?? { fa: "", en: "" },
    paramsSchema: type.paramsSchema,
    resultSchema: type.resultSchema,
    purposes: [...grant.purposes],
    timeout: durationFromMs(type.timeoutMs),
    latencyObjective: durationFromMs(type.latencyObjectiveMs),
    successRateObjective: type.successRateObjective,
    consent: CONSENT[type.consent],
    classification: CLASSIFICATION[type.classification],
    legalBasis: type.legalBasis,
    cacheAllowed: type.cache.allowed,
    cacheTtl: type.cache.allowed ? durationFromMs(type.cache.ttlSeconds * 1000) : undefined,
    online: snapshot.bindings.has(type.id) && responder?.status === "active",
    quotaPerSecond: grant.quota.perSecond ?? 0,
    quotaPerDay: grant.quota.perDay ?? 0,
  };
}

function asker(call: CallContext, snapshot: RegistrySnapshot): Credential {
  const credential = credentialOf(call, snapshot);
  if (credential.role !== "agency")
    throw new EstelamError(
      "ACCESS_DENIED",
      `credential '${credential.id}' is an admin credential: it manages the registry and asks no inquiries`,
    );
  if (snapshot.agencies.get(credential.agency)?.status === "suspended")
    throw new EstelamError("ACCESS_DENIED", `agency '${credential.agency}' is suspended`);
  return credential;
}

export interface Discovery {
  listAllowedInquiries(call: CallContext): MessageInitShape<typeof ListAllowedInquiriesResponseSchema>;
  describeInquiryType(request: DescribeInquiryTypeRequest, call: CallContext): MessageInitShape<typeof DescribeInquiryTypeResponseSchema>;
}

export function createDiscovery(registry: Registry): Discovery {
  return {
    listAllowedInquiries(call) {
      const snapshot = registry.current();
      const credential = asker(call, snapshot);
      const inquiryTypes: InquiryTypeInfo[] = [];
      for (const grant of snapshot.grantsFor(credential.agency, credential.subUnit)) {
        const type = snapshot.inquiryTypes.get(grant.inquiryType);
        if (type !== undefined) inquiryTypes.push(info(snapshot, type, grant));
      }
      return { inquiryTypes, registryRevision: BigInt(snapshot.revision) };
    },
    describeInquiryType(request, call) {
      const snapshot = registry.current();
      const credential = asker(call, snapshot);
      if (request.inquiryType === "") throw invalid("INVALID_REQUEST", [{ field: "inquiry_type", description: "is required" }]);
      const type = snapshot.inquiryTypes.get(request.inquiryType);
      if (type === undefined) {
        const shown = request.inquiryType.length > 100 ? `${request.inquiryType.slice(0, 100)}…` : request.inquiryType;
        throw new EstelamError("UNKNOWN_INQUIRY_TYPE", `no inquiry type '${shown}' is registered`);
      }
      const grant = grantFor(snapshot, credential, type.id);
      return { inquiryType: info(snapshot, type, grant), registryRevision: BigInt(snapshot.revision) };
    },
  };
}
