// The RegistryService implementation: admin credentials read and change the registry through it. Every
// attempt to change it (dry runs aside) leaves an audit event, refused ones too: a made change is recorded
// inside the writing transaction, so a change is never served without its evidence.
import type { JsonObject, MessageInitShape } from "@bufbuild/protobuf";
import { timestampFromDate } from "@bufbuild/protobuf/wkt";
import { EstelamError, type FieldViolation, invalid } from "../core/errors.ts";
import {
  ChangeResult,
  type ChangeSchema,
  ChangeType,
  type Document,
  type RegistryService,
  RevisionAction,
  type RevisionSchema,
} from "../gen/estelam/registry/v1/registry_pb.js";
import { buildRegistryChangeEvent, type RegistryChangeRecord } from "../observability/audit/registry-change.ts";
import type { AuditSink } from "../observability/audit/sink.ts";
import type { Logger } from "../observability/logger.ts";
import type { Credential } from "../registry/catalogue.ts";
import { compareDocuments, isKind, KINDS, type RegistryDocument } from "../registry/documents.ts";
import type { Actor, ChangeOptions, ChangeOutcome, Registry } from "../registry/registry.ts";
import type { RevisionAction as Action, RevisionRecord } from "../registry/store.ts";
import type { ServiceImpl } from "./grpc/adapter.ts";
import type { CallContext } from "./grpc/call-context.ts";
import { newInquiryId } from "./ids.ts";
import { credentialOf } from "./interceptors/authenticate.ts";

export interface RegistryServiceOptions {
  readonly registry: Registry;
  readonly audit: AuditSink;
  /** This instance's name and the audit key's id, for the audit events. */
  readonly auditWhere: { readonly instance: string; readonly keyId: string };
  readonly logger: Logger;
}

export interface RegistryServiceHandlers {
  readonly handlers: ServiceImpl<typeof RegistryService>;
  /** Ends every Watch stream (on shutdown, so that they do not hold it up). */
  close(): void;
}

const MAX_DOCUMENTS = 5_000;
const MAX_MESSAGE_CHARS = 1_000;
const MAX_SOURCE_CHARS = 300;
const TEXT = /^[^\p{Cc}\p{Cs}]*$/u;

const RESULTS = { applied: ChangeResult.APPLIED, unchanged: ChangeResult.UNCHANGED, "dry-run": ChangeResult.DRY_RUN } as const;
const CHANGE_TYPES = { created: ChangeType.CREATED, updated: ChangeType.UPDATED, deleted: ChangeType.DELETED } as const;
const ACTIONS = {
  seed: RevisionAction.SEED,
  apply: RevisionAction.APPLY,
  delete: RevisionAction.DELETE,
  rollback: RevisionAction.ROLLBACK,
} as const;

type ChangeInit = MessageInitShape<typeof ChangeSchema>;
type RevisionInit = MessageInitShape<typeof RevisionSchema>;

function changeMessage(outcome: ChangeOutcome): ChangeInit {
  return {
    baseRevision: BigInt(outcome.baseRevision),
    revision: BigInt(outcome.revision),
    result: RESULTS[outcome.result],
    changes: outcome.changes.map((c) => ({
      kind: c.kind,
      name: c.name,
      change: CHANGE_TYPES[c.change],
      before: c.before,
      after: c.after,
      source: c.source,
    })),
    problems: outcome.problems.map((p) => ({ ...p })),
  };
}

export function revisionMessage(record: RevisionRecord): RevisionInit {
  return {
    revision: BigInt(record.revision),
    createdAt: timestampFromDate(record.createdAt),
    action: ACTIONS[record.action],
    actorAgency: record.actorAgency,
    actorCredential: record.actorCredential,
    message: record.message,
    rollbackTo: BigInt(record.rollbackTo ?? 0),
    instance: record.instance,
    changes: record.changes.map((c) => ({ kind: c.kind, name: c.name, change: CHANGE_TYPES[c.change] })),
  };
}

function revisionNumber(value: bigint, field: string): number {
  if (value > BigInt(Number.MAX_SAFE_INTEGER)) throw invalid("INVALID_REQUEST", [{ field, description: "is too large" }]);
  return Number(value);
}

export function createRegistryService(options: RegistryServiceOptions): RegistryServiceHandlers {
  const { registry, audit, auditWhere, logger } = options;
  const watchers = new Set<() => void>();

  /** The caller's credential, which must be an admin's of an active agency; `seen` learns it even when refused. */
  const admin = (call: CallContext, seen?: (credential: Credential) => void): Credential => {
    const snapshot = registry.current();
    const credential = credentialOf(call, snapshot);
    seen?.(credential);
    if (credential.role !== "admin")
      throw new EstelamError(
        "ADMIN_REQUIRED",
        `credential '${credential.id}' is not an admin credential; only admins read or change the registry`,
      );
    if (snapshot.agencies.get(credential.agency)?.status !== "active")
      throw new EstelamError("ADMIN_REQUIRED", `agency '${credential.agency}' of credential '${credential.id}' is suspended`);
    return credential;
  };

  const record = async (entry: RegistryChangeRecord): Promise<void> => {
    await audit.append(buildRegistryChangeEvent(entry, auditWhere));
  };

  /** Runs one change: checks the caller and the request, makes (or tries) the change, records the attempt. */
  const change = async (
    action: Action,
    call: CallContext,
    request: { readonly dryRun: boolean; readonly message: string; readonly expectedRevision: bigint },
    violations: FieldViolation[],
    run: (options: ChangeOptions) => Promise<ChangeOutcome>,
  ): Promise<ChangeInit> => {
    const started = Date.now();
    const id = newInquiryId(started);
    let actor: Actor = { agency: "", credential: "" };
    let base = registry.record().revision;
    let recordedOutcome: ChangeOutcome | undefined;
    const entry = (outcome: ChangeOutcome | undefined, failure?: RegistryChangeRecord["failure"]): RegistryChangeRecord => ({
      id,
      action,
      actorAgency: actor.agency,
      actorCredential: actor.credential,
      revision: failure === undefined ? (outcome?.revision ?? 0) : 0,
      baseRevision: outcome?.baseRevision ?? base,
      rollbackTo: outcome?.rollbackTo,
      message: request.message.slice(0, MAX_MESSAGE_CHARS),
      changes: outcome?.changes ?? [],
      requestInMs: started,
      responseOutMs: Date.now(),
      failure,
    });
    try {
      admin(call, (credential) => {
        actor = { agency: credential.agency, credential: credential.id };
      });
      if (request.message.length > MAX_MESSAGE_CHARS)
        violations.push({ field: "message", description: `must be at most ${MAX_MESSAGE_CHARS} characters` });
      else if (!TEXT.test(request.message)) violations.push({ field: "message", description: "must not contain control characters" });
      if (violations.length > 0) throw invalid("INVALID_REQUEST", violations);
      const outcome = await run({
        actor,
        message: request.message,
        dryRun: request.dryRun,
        expectedRevision: revisionNumber(request.expectedRevision, "expected_revision"),
        beforeCommit: request.dryRun
          ? undefined
          : async (o) => {
              recordedOutcome = o;
              base = o.baseRevision;
              await record(entry(o));
            },
      });
      logger.info(
        {
          registry_action: action,
          result: outcome.result,
          revision: outcome.revision,
          base_revision: outcome.baseRevision,
          actor: actor.credential,
          changes: outcome.changes.length,
          problems: outcome.problems.length,
        },
        outcome.result === "applied" ? "registry changed" : "registry change checked",
      );
      return changeMessage(outcome);
    } catch (thrown) {
      const error = EstelamError.from(thrown);
      if (!request.dryRun) {
        // Refused or failed: on record too. A change already recorded as made but not committed gets a
        // second record that says so.
        const failure = { reason: error.reason, origin: error.origin, grpcStatus: error.code };
        await record(entry(recordedOutcome, failure)).catch((auditError: unknown) =>
          logger.error(
            { registry_action: action, reason: error.reason, audit_error: (auditError as Error).message },
            "registry change attempt not recorded in the audit trail",
          ),
        );
      }
      const line = { registry_action: action, reason: error.reason, actor: actor.credential || undefined };
      if (error.origin === "client") logger.info(line, "registry change refused");
      else logger.warn({ ...line, err: { message: error.message } }, "registry change failed");
      throw error;
    }
  };

  const handlers: ServiceImpl<typeof RegistryService> = {
    async apply(request, call) {
      const violations: FieldViolation[] = [];
      if (request.documents.length === 0) violations.push({ field: "documents", description: "must hold at least one document" });
      if (request.documents.length > MAX_DOCUMENTS)
        violations.push({ field: "documents", description: `must hold at most ${MAX_DOCUMENTS} documents` });
      const documents: RegistryDocument[] = [];
      request.documents.forEach((d: Document, i) => {
        if (d.source.length > MAX_SOURCE_CHARS || !TEXT.test(d.source))
          violations.push({
            field: `documents[${i}].source`,
            description: `must be printable text of at most ${MAX_SOURCE_CHARS} characters`,
          });
        if (d.content === undefined) violations.push({ field: `documents[${i}].content`, description: "is required" });
        else documents.push({ source: d.source || `documents[${i}]`, content: d.content });
      });
      return { change: await change("apply", call, request, violations, (o) => registry.apply(documents, request.prune, o)) };
    },

    async delete(request, call) {
      const violations: FieldViolation[] = [];
      if (request.documents.length === 0) violations.push({ field: "documents", description: "must name at least one document" });
      request.documents.forEach((ref, i) => {
        if (!isKind(ref.kind)) violations.push({ field: `documents[${i}].kind`, description: `must be one of ${KINDS.join(", ")}` });
        if (ref.name === "" || ref.name.length > 200) violations.push({ field: `documents[${i}].name`, description: "is required" });
      });
      const refs = request.documents.map((r) => ({ kind: r.kind, name: r.name }));
      return { change: await change("delete", call, request, violations, (o) => registry.delete(refs, o)) };
    },

    async rollback(request, call) {
      const violations: FieldViolation[] =
        request.revision === 0n ? [{ field: "revision", description: "is required (the revision to return to)" }] : [];
      const revision = revisionNumber(request.revision, "revision");
      return { change: await change("rollback", call, request, violations, (o) => registry.rollback(revision, o)) };
    },

    async get(request, call) {
      admin(call);
      if (!isKind(request.kind)) throw invalid("INVALID_REQUEST", [{ field: "kind", description: `must be one of ${KINDS.join(", ")}` }]);
      if (request.name === "") throw invalid("INVALID_REQUEST", [{ field: "name", description: "is required" }]);
      const { revision, documents } = await registry.documents(revisionNumber(request.revision, "revision"));
      const found = documents.get(`${request.kind}/${request.name}`);
      if (found === undefined)
        throw new EstelamError("DOCUMENT_NOT_FOUND", `revision ${revision} of the registry holds no ${request.kind}/${request.name}`);
      return { revision: BigInt(revision), document: { source: found.source, content: found.content } };
    },

    async list(request, call) {
      admin(call);
      if (request.kind !== "" && !isKind(request.kind))
        throw invalid("INVALID_REQUEST", [{ field: "kind", description: `must be empty or one of ${KINDS.join(", ")}` }]);
      const { revision, documents } = await registry.documents(revisionNumber(request.revision, "revision"));
      const selected = [...documents.values()]
        .filter((d) => request.kind === "" || d.kind === request.kind)
        .sort((a, b) => compareDocuments(a.content, b.content));
      return { revision: BigInt(revision), documents: selected.map((d) => ({ source: d.source, content: d.content as JsonObject })) };
    },

    async history(request, call) {
      admin(call);
      const limit = request.limit === 0 ? 20 : request.limit;
      if (limit > 1000) throw invalid("INVALID_REQUEST", [{ field: "limit", description: "must be at most 1000" }]);
      const records = await registry.history(limit, revisionNumber(request.before, "before"));
      return { revisions: records.map(revisionMessage) };
    },

    async watch(_request, call, send) {
      admin(call);
      send({ revision: revisionMessage(registry.record()) });
      await new Promise<void>((resolve) => {
        const stop = registry.onSwap((_snapshot, record) => send({ revision: revisionMessage(record) }));
        const end = (): void => {
          stop();
          watchers.delete(end);
          call.signal.removeEventListener("abort", end);
          resolve();
        };
        watchers.add(end);
        call.signal.addEventListener("abort", end, { once: true });
      });
    },
  };

  return {
    handlers,
    close() {
      for (const end of [...watchers]) end();
    },
  };
}
