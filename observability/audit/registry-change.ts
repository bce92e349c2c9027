// Builds the evidence record of an attempt to change the registry (estelam.registry.v1.RegistryService):
// the same AuditEvent as inquiries, with `registry_change` saying what was changed. Attempts that were
// refused (no admin credential, invalid documents, a conflict) are recorded as FAILED, like refused
// inquiries. Documents are named and bound by their SHA-256, not copied.
import { create } from "@bufbuild/protobuf";
import { timestampFromMs } from "@bufbuild/protobuf/wkt";
import type { Origin } from "../../core/errors.ts";
import {
  type AuditEvent,
  AuditEventSchema,
  FaultOrigin,
  Outcome,
  RegistryAction,
  RegistryDocumentChangeType,
} from "../../gen/estelam/audit/v1/audit_pb.js";

export interface RegistryChangeRecord {
  /** The attempt's own id (a UUIDv7), recorded as the event's `inquiry_id`. */
  readonly id: string;
  readonly action: "seed" | "apply" | "delete" | "rollback";
  readonly actorAgency: string;
  readonly actorCredential: string;
  /** The revision written; 0 when none was. */
  readonly revision: number;
  readonly baseRevision: number;
  readonly rollbackTo: number | undefined;
  readonly message: string;
  readonly changes: ReadonlyArray<{
    readonly kind: string;
    readonly name: string;
    readonly change: "created" | "updated" | "deleted";
    /** Hex SHA-256 of the document after the change; "" when deleted. */
    readonly digest: string;
  }>;
  readonly requestInMs: number;
  readonly responseOutMs: number;
  /** Why the attempt was refused or failed; undefined when it succeeded. */
  readonly failure?: { readonly reason: string; readonly origin: Origin; readonly grpcStatus: number } | undefined;
}

const ACTIONS = {
  seed: RegistryAction.SEED,
  apply: RegistryAction.APPLY,
  delete: RegistryAction.DELETE,
  rollback: RegistryAction.ROLLBACK,
} as const;
const CHANGES = {
  created: RegistryDocumentChangeType.CREATED,
  updated: RegistryDocumentChangeType.UPDATED,
  deleted: RegistryDocumentChangeType.DELETED,
} as const;
const ORIGINS = { client: FaultOrigin.CLIENT, gateway: FaultOrigin.GATEWAY, agency: FaultOrigin.AGENCY } as const;

export function buildRegistryChangeEvent(
  record: RegistryChangeRecord,
  where: { readonly instance: string; readonly keyId: string },
): AuditEvent {
  return create(AuditEventSchema, {
    schemaVersion: 1,
    inquiryId: record.id,
    requester: record.actorAgency,
    requesterCredential: record.actorCredential,
    requestIn: timestampFromMs(record.requestInMs),
    responseOut: timestampFromMs(record.responseOutMs),
    outcome: record.failure === undefined ? Outcome.ANSWERED : Outcome.FAILED,
    faultReason: record.failure?.reason ?? "",
    faultOrigin: record.failure === undefined ? FaultOrigin.UNSPECIFIED : ORIGINS[record.failure.origin],
    grpcStatus: record.failure?.grpcStatus ?? 0,
    gatewayInstance: where.instance,
    keyId: where.keyId,
    registryChange: {
      revision: BigInt(record.revision),
      baseRevision: BigInt(record.baseRevision),
      action: ACTIONS[record.action],
      rollbackTo: BigInt(record.rollbackTo ?? 0),
      message: record.message,
      changes: record.changes.map((c) => ({
        kind: c.kind,
        name: c.name,
        change: CHANGES[c.change],
        digest: c.digest === "" ? new Uint8Array() : new Uint8Array(Buffer.from(c.digest, "hex")),
      })),
    },
  });
}
