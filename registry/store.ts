// The registry store extension point: where revisions of the registry are kept. One implementation,
// registry/database-store.ts, serves both kinds of database (embedded PGlite and shared PostgreSQL). A
// revision is a whole set of documents plus who made it, when, why and what it changed; revisions are
// numbered 1, 2, 3… and never change once written.
import type { JsonObject } from "@bufbuild/protobuf";

export type RevisionAction = "seed" | "apply" | "delete" | "rollback";
export type ChangeType = "created" | "updated" | "deleted";

export interface StoredDocument {
  /** `Kind/name`. */
  readonly key: string;
  readonly kind: string;
  readonly name: string;
  /** Where the document came from when it was applied, e.g. `agencies/nocr.yaml#2`. */
  readonly source: string;
  /** SHA-256 of its canonical JSON. */
  readonly digest: string;
  readonly content: JsonObject;
}

export interface DocumentChangeSummary {
  readonly kind: string;
  readonly name: string;
  readonly change: ChangeType;
  /** Digest of the document after the change; "" when deleted. */
  readonly digest: string;
}

export interface RevisionRecord {
  readonly revision: number;
  readonly createdAt: Date;
  readonly action: RevisionAction;
  readonly actorAgency: string;
  readonly actorCredential: string;
  readonly message: string;
  readonly rollbackTo: number | undefined;
  /** The gateway instance that wrote it. */
  readonly instance: string;
  readonly changes: readonly DocumentChangeSummary[];
}

export interface StoredRevision extends RevisionRecord {
  /** By `Kind/name`. */
  readonly documents: ReadonlyMap<string, StoredDocument>;
}

/** What a change writes as the next revision. */
export interface RevisionDraft {
  readonly action: RevisionAction;
  readonly actorAgency: string;
  readonly actorCredential: string;
  readonly message: string;
  readonly rollbackTo: number | undefined;
  readonly instance: string;
  readonly documents: readonly StoredDocument[];
  readonly changes: readonly DocumentChangeSummary[];
  /**
   * Runs inside the writing transaction once the revision is written, before it is committed; if it throws,
   * nothing is committed. (The gateway records the change in the audit trail here.)
   */
  readonly beforeCommit?: (revision: number) => Promise<void>;
}

/** The store could not be reached or failed; nothing was read or written. */
export class StoreUnavailableError extends Error {
  override readonly name = "StoreUnavailableError";
}

export interface RegistryStore {
  /** `pglite` or `postgres`. */
  readonly kind: string;
  /** Where the registry is kept, for messages (a folder, or a server URL without its password). */
  readonly location: string;
  /** The newest revision's number; 0 when the store holds none. */
  headRevision(): Promise<number>;
  /** A revision with its documents (the newest when `revision` is undefined); undefined when there is none. */
  read(revision?: number): Promise<StoredRevision | undefined>;
  /**
   * Runs `decide` with the newest revision while holding the registry's write lock (shared by every instance),
   * and writes what it returns as the next revision. `decide` reads other revisions through `read`, inside
   * the same transaction (the embedded database serves one transaction at a time). Resolves with the new revision's number, or undefined
   * when `decide` wrote nothing. Errors thrown by `decide` are passed on unchanged.
   */
  change(
    decide: (
      head: StoredRevision | undefined,
      next: number,
      read: (revision: number) => Promise<StoredRevision | undefined>,
    ) => Promise<RevisionDraft | undefined>,
  ): Promise<number | undefined>;
  /** Revisions newest first, without their documents. */
  history(limit: number, before?: number): Promise<RevisionRecord[]>;
  /**
   * Calls `onRevision` whenever any instance writes a revision, until the returned function is called.
   * After a lost connection comes back, `onReconnect` is called (notifications meanwhile are lost).
   */
  follow(onRevision: (revision: number) => void, onReconnect: () => void): Promise<() => Promise<void>>;
  /** Whether the last contact with the store succeeded. */
  reachable(): boolean;
}
