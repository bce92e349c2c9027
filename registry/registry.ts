// The live registry of one gateway instance: the snapshot it serves, and the way to a new one.
//
// - Serving: inquiries take the current snapshot once (`acquire`) and keep it to the end, so each sees one
//   consistent revision; nothing on that path touches the store. A superseded snapshot is retired (its
//   connections closed) once its last inquiry has released it.
// - Following: every instance listens for new revisions (NOTIFY) and also re-reads the store's newest
//   revision number every `refreshMs`, as a safety net. A new revision is validated with this instance's
//   environment, its connections are prepared (created and warmed), and only then is it swapped in. A revision
//   this instance cannot serve (a file it names is missing here, a connection cannot be prepared) is tried
//   again at every re-read, so it is served once the cause clears.
// - When the store cannot be reached, the last good snapshot keeps serving; `status()` says for how long
//   the instance has not heard from the store, and it catches up as soon as the store answers again.
// - Changing: apply, delete and rollback compute the next whole set of documents under the store's write
//   lock, validate it whole and write it as a new revision, which this instance serves before answering.
import type { JsonObject } from "@bufbuild/protobuf";
import { EstelamError, type FieldViolation } from "../core/errors.ts";
import { buildSnapshot } from "./build.ts";
import { type EndpointKinds, formatProblem, type Problem, type RegistrySnapshot } from "./catalogue.ts";
import { compareDocuments, documentDigest, documentKey, identify, isKind, type RegistryDocument } from "./documents.ts";
import type { Vars } from "./interpolate.ts";
import {
  type ChangeType,
  type RegistryStore,
  type RevisionAction,
  type RevisionRecord,
  type StoredDocument,
  type StoredRevision,
  StoreUnavailableError,
} from "./store.ts";

/** Who makes a change: the admin credential's agency and id. */
export interface Actor {
  readonly agency: string;
  readonly credential: string;
}

export interface ChangeOptions {
  readonly actor: Actor;
  readonly message: string;
  readonly dryRun: boolean;
  /** When not 0, refuse unless the store is at this revision (REVISION_CONFLICT). */
  readonly expectedRevision: number;
  /** Runs inside the writing transaction before commit (the gateway's audit record); a throw cancels the change. */
  readonly beforeCommit?: (outcome: ChangeOutcome) => Promise<void>;
}

export interface DocumentChange {
  readonly kind: string;
  readonly name: string;
  readonly change: ChangeType;
  readonly before: JsonObject | undefined;
  readonly after: JsonObject | undefined;
  readonly source: string;
  /** Digest of the document after the change; "" when deleted. */
  readonly digest: string;
}

export interface ChangeOutcome {
  readonly action: RevisionAction;
  readonly baseRevision: number;
  /** The revision written; 0 when none was. */
  readonly revision: number;
  readonly result: "applied" | "unchanged" | "dry-run";
  readonly rollbackTo: number | undefined;
  readonly changes: readonly DocumentChange[];
  /** Problems of the resulting set (dry runs only: a real change with problems throws INVALID_DOCUMENTS). */
  readonly problems: readonly Problem[];
}

/** What an inquiry holds while it runs: the snapshot it started with. */
export interface Lease {
  readonly snapshot: RegistrySnapshot;
}

export interface RegistryStatus {
  /** The revision this instance serves. */
  readonly revision: number;
  readonly store: string;
  readonly location: string;
  readonly reachable: boolean;
  /** Seconds since this instance last confirmed it serves the store's newest revision; 0 while in contact. */
  readonly staleSeconds: number;
  /** A newer revision this instance could not serve (e.g. an environment variable it lacks), and why. */
  readonly unservable: { readonly revision: number; readonly problems: readonly string[] } | undefined;
}

export interface RegistryEvents {
  /** A new snapshot is served. */
  onSwap?(next: RegistrySnapshot, previous: RegistrySnapshot, record: RevisionRecord): void;
  /** A newer revision could not be served; the current one stays. */
  onUnservable?(revision: number, problems: readonly string[]): void;
  /** Contact with the store was lost or regained. */
  onStoreReachable?(reachable: boolean, error: Error | undefined): void;
}

export interface SeedDocuments {
  /** Where they come from, for messages (a folder). */
  readonly label: string;
  readonly documents: readonly RegistryDocument[];
  /** Problems found reading them (unreadable files, bad YAML). */
  readonly problems: readonly Problem[];
}

export interface RegistryOptions {
  readonly store: RegistryStore;
  readonly kinds: EndpointKinds;
  /** This instance's environment, for `${NAME}` references. */
  readonly vars: Vars;
  /** This instance's name, recorded with the revisions it writes. */
  readonly instance: string;
  /** Written as the first revision when the store holds none. */
  readonly seed?: SeedDocuments | undefined;
  /** Records the seed revision in the audit trail (inside the writing transaction). */
  readonly beforeSeedCommit?: (outcome: ChangeOutcome) => Promise<void>;
  /** Makes a snapshot ready to serve (creates and warms its connections); a throw keeps the current one. */
  readonly prepare?: (snapshot: RegistrySnapshot) => Promise<void>;
  /** A snapshot is no longer served and its last inquiry has finished (close what only it used). */
  readonly retire?: (snapshot: RegistrySnapshot) => void;
  /** How often the store's newest revision number is re-read besides notifications; default 5000 ms. */
  readonly refreshMs?: number;
  readonly events?: RegistryEvents;
}

export interface Registry {
  /** The snapshot served now (for reads that call no agency). */
  current(): RegistrySnapshot;
  /** The snapshot served now, held until `release`: its connections stay open until then. */
  acquire(): Lease;
  release(lease: Lease): void;
  /** The revision served now: who made it, when, and what it changed. */
  record(): RevisionRecord;
  /** The documents of a revision (default: the one served, from memory, without asking the store). */
  documents(revision?: number): Promise<{ readonly revision: number; readonly documents: ReadonlyMap<string, StoredDocument> }>;
  history(limit: number, before?: number): Promise<RevisionRecord[]>;
  apply(documents: readonly RegistryDocument[], prune: boolean, options: ChangeOptions): Promise<ChangeOutcome>;
  delete(refs: ReadonlyArray<{ readonly kind: string; readonly name: string }>, options: ChangeOptions): Promise<ChangeOutcome>;
  rollback(revision: number, options: ChangeOptions): Promise<ChangeOutcome>;
  /** Re-reads the store now (as a notification would). */
  refresh(): Promise<void>;
  /**
   * Builds the revision served again, re-reading the files its documents name (an agency's CA, a client
   * certificate and key): endpoints whose files changed get new connections, the others keep theirs, and
   * inquiries under way finish on the connections they started on. Resolves with the endpoints renewed;
   * rejects with ReloadError, and changes nothing, when the revision cannot be built or prepared any more.
   */
  reload(): Promise<ReloadOutcome>;
  status(): RegistryStatus;
  /** Calls `listener` after every swap; returns the function that stops it. */
  onSwap(listener: (next: RegistrySnapshot, record: RevisionRecord) => void): () => void;
  close(): Promise<void>;
}

/** The registry cannot start: the store is empty without seed documents, or its newest revision cannot be served. */
export class RegistryStartError extends Error {
  override readonly name = "RegistryStartError";
  readonly problems: readonly Problem[];

  constructor(message: string, problems: readonly Problem[] = []) {
    super(problems.length === 0 ? message : `${message}:\n${problems.map((p) => `  - ${formatProblem(p)}`).join("\n")}`);
    this.problems = problems;
  }
}

export interface ReloadOutcome {
  readonly revision: number;
  /** Endpoints (`<agency>/<name>`) now served on new connections. */
  readonly renewed: readonly string[];
}

/** The revision served could not be built again (a file it names is missing or unreadable) or prepared. */
export class ReloadError extends Error {
  override readonly name = "ReloadError";
  readonly problems: readonly string[];

  constructor(revision: number, problems: readonly string[]) {
    super(`revision ${revision} was not reloaded; the connections it had stay: ${problems.join("; ")}`);
    this.problems = problems;
  }
}

interface Served extends Lease {
  readonly record: RevisionRecord;
  readonly documents: ReadonlyMap<string, StoredDocument>;
  users: number;
  retired: boolean;
}

/** Bytes of field violations sent in an INVALID_DOCUMENTS status (its trailer is bounded); the rest are counted. */
const VIOLATION_BUDGET_BYTES = 2_800;

/** The error a change with problems fails with: as many problems as fit, and how many there are. */
export function invalidDocuments(problems: readonly Problem[]): EstelamError {
  const violations: FieldViolation[] = [];
  let size = 0;
  for (const p of problems) {
    const field = [p.source, p.document, p.path].filter((s) => s !== "").join(" ") || "documents";
    size += field.length + p.message.length + 8;
    if (size > VIOLATION_BUDGET_BYTES || violations.length >= 20) break;
    violations.push({ field, description: p.message });
  }
  const shown = violations.length < problems.length ? ` (the first ${violations.length} are listed; a dry run lists them all)` : "";
  const first = problems[0] === undefined ? "" : `: ${formatProblem(problems[0])}`;
  return new EstelamError(
    "INVALID_DOCUMENTS",
    `the documents have ${problems.length} problem${problems.length === 1 ? "" : "s"}${shown}${problems.length === 1 ? first : ""}`,
    { violations },
  );
}

function unavailable(error: unknown): never {
  if (error instanceof StoreUnavailableError)
    throw new EstelamError("REGISTRY_UNAVAILABLE", `${error.message}; inquiries are still served from the last good revision`, {
      cause: error,
    });
  throw error;
}

function stored(document: RegistryDocument): StoredDocument | undefined {
  const { kind, name } = identify(document.content);
  if (!isKind(kind) || name === "") return undefined;
  return {
    key: documentKey(kind, name),
    kind,
    name,
    source: document.source,
    digest: documentDigest(document.content),
    content: document.content,
  };
}

function diff(before: ReadonlyMap<string, StoredDocument>, after: ReadonlyMap<string, StoredDocument>): DocumentChange[] {
  const changes: DocumentChange[] = [];
  for (const [key, next] of after) {
    const previous = before.get(key);
    if (previous === undefined)
      changes.push({
        kind: next.kind,
        name: next.name,
        change: "created",
        before: undefined,
        after: next.content,
        source: next.source,
        digest: next.digest,
      });
    else if (previous.digest !== next.digest)
      changes.push({
        kind: next.kind,
        name: next.name,
        change: "updated",
        before: previous.content,
        after: next.content,
        source: next.source,
        digest: next.digest,
      });
  }
  for (const [key, previous] of before) {
    if (!after.has(key))
      changes.push({
        kind: previous.kind,
        name: previous.name,
        change: "deleted",
        before: previous.content,
        after: undefined,
        source: "",
        digest: "",
      });
  }
  return changes.sort((a, b) => compareDocuments((a.after ?? a.before) as JsonObject, (b.after ?? b.before) as JsonObject));
}

/** The next whole set, as documents to validate (stored ones keep their identity, reported as `registry`). */
interface NextSet {
  readonly documents: ReadonlyMap<string, StoredDocument>;
  /** What validation sees: every document, including ones without a usable kind or name. */
  readonly forValidation: readonly RegistryDocument[];
  readonly rollbackTo?: number;
}

export async function createRegistry(options: RegistryOptions): Promise<Registry> {
  const { store, kinds, vars, events = {} } = options;
  const refreshMs = options.refreshMs ?? 5_000;

  const build = (documents: readonly RegistryDocument[], revision: number) => buildSnapshot(documents, { revision, kinds, vars });
  const asDocuments = (revision: StoredRevision): RegistryDocument[] =>
    [...revision.documents.values()].map((d) => ({ source: d.source || "registry", content: d.content }));

  // --- Start: seed an empty store, then serve its newest revision.
  let head = await store.read().catch(unavailableAtStart);
  if (head === undefined) {
    const seed = options.seed;
    if (seed === undefined) {
      throw new RegistryStartError(
        `the registry store (${store.kind}, ${store.location}) holds no revision yet; give the gateway seed documents (ESTELAM_REGISTRY_SEED) for its first start`,
      );
    }
    if (seed.problems.length > 0) throw new RegistryStartError(`the seed documents in ${seed.label} cannot be read`, seed.problems);
    const built = build(seed.documents, 1);
    if (!built.ok)
      throw new RegistryStartError(`the seed documents in ${seed.label} have ${built.problems.length} problem(s)`, built.problems);
    const documents = new Map<string, StoredDocument>();
    for (const d of seed.documents) {
      const s = stored(d);
      if (s !== undefined) documents.set(s.key, s);
    }
    await store
      .change(async (existing, next) => {
        // Another instance seeded first: serve what it wrote.
        if (existing !== undefined) return undefined;
        const changes = diff(new Map(), documents);
        const outcome: ChangeOutcome = {
          action: "seed",
          baseRevision: 0,
          revision: next,
          result: "applied",
          rollbackTo: undefined,
          changes,
          problems: [],
        };
        return {
          action: "seed",
          actorAgency: "",
          actorCredential: "",
          message: `seeded from ${seed.label}`,
          rollbackTo: undefined,
          instance: options.instance,
          documents: [...documents.values()],
          changes: changes.map((c) => ({ kind: c.kind, name: c.name, change: c.change, digest: c.digest })),
          beforeCommit: options.beforeSeedCommit === undefined ? undefined : () => options.beforeSeedCommit?.(outcome) ?? Promise.resolve(),
        };
      })
      .catch(unavailableAtStart);
    head = await store.read().catch(unavailableAtStart);
    if (head === undefined) throw new RegistryStartError("the registry store holds no revision even after seeding");
  }
  const first = build(asDocuments(head), head.revision);
  if (!first.ok) {
    throw new RegistryStartError(
      `revision ${head.revision} of the registry (${store.location}) cannot be served by this instance; it has ${first.problems.length} problem(s)`,
      first.problems,
    );
  }
  await options.prepare?.(first.snapshot);

  let served: Served = { snapshot: first.snapshot, record: head, documents: head.documents, users: 0, retired: false };
  let lastContact = Date.now();
  let contactOk = true;
  let unservable: RegistryStatus["unservable"];
  let closed = false;
  const swapListeners = new Set<(next: RegistrySnapshot, record: RevisionRecord) => void>();

  const contact = (ok: boolean, error?: Error): void => {
    if (ok) lastContact = Date.now();
    if (ok !== contactOk) {
      contactOk = ok;
      events.onStoreReachable?.(ok, error);
    }
  };

  const retireIfIdle = (s: Served): void => {
    if (s.retired && s.users === 0) options.retire?.(s.snapshot);
  };

  /** Says a revision cannot be served here, and why; told again only when the reasons change. */
  const markUnservable = (revision: number, problems: readonly string[]): void => {
    const known = unservable?.revision === revision && unservable.problems.join("\n") === problems.join("\n");
    unservable = { revision, problems };
    if (!known) events.onUnservable?.(revision, problems);
  };

  /** Serves a prepared snapshot in place of the one served, which retires once its last inquiry is done. */
  const serve = (snapshot: RegistrySnapshot, record: RevisionRecord, documents: ReadonlyMap<string, StoredDocument>): Served => {
    const previous = served;
    served = { snapshot, record, documents, users: 0, retired: false };
    previous.retired = true;
    retireIfIdle(previous);
    return previous;
  };

  /** Serves a validated snapshot, if it is newer than the one served and its connections can be prepared. */
  const swapTo = async (snapshot: RegistrySnapshot, record: RevisionRecord, documents: ReadonlyMap<string, StoredDocument>) => {
    if (closed || record.revision <= served.record.revision) return;
    try {
      await options.prepare?.(snapshot);
    } catch (error) {
      markUnservable(record.revision, [`its connections could not be prepared: ${(error as Error).message}`]);
      return;
    }
    if (closed) {
      options.retire?.(snapshot);
      return;
    }
    const previous = serve(snapshot, record, documents);
    if (unservable !== undefined && unservable.revision <= record.revision) unservable = undefined;
    events.onSwap?.(snapshot, previous.snapshot, record);
    // A listener's failure is its own: the swap is done and the others are told.
    for (const listener of swapListeners) {
      try {
        listener(snapshot, record);
      } catch {}
    }
  };

  // One refresh or swap at a time.
  let chain: Promise<void> = Promise.resolve();
  const serialized = <T>(work: () => Promise<T>): Promise<T> => {
    const result = chain.then(work, work);
    chain = result.then(
      () => undefined,
      () => undefined,
    );
    return result;
  };
  let running: Promise<void> | undefined;
  let again: Promise<void> | undefined;

  const catchUp = async (): Promise<void> => {
    if (closed) return;
    let newest: number;
    try {
      newest = await store.headRevision();
      contact(true);
    } catch (error) {
      contact(false, error as Error);
      return;
    }
    if (closed || newest <= served.record.revision) return;
    let revision: StoredRevision | undefined;
    try {
      revision = await store.read(newest);
    } catch (error) {
      contact(false, error as Error);
      return;
    }
    if (revision === undefined) return;
    const built = build(asDocuments(revision), revision.revision);
    if (!built.ok) {
      markUnservable(revision.revision, built.problems.map(formatProblem));
      return;
    }
    await swapTo(built.snapshot, revision, revision.documents);
  };

  // A request while a refresh runs makes it run once more afterwards (however many came meanwhile): the one
  // running may have read the newest revision number just before the revision that was notified committed.
  const refresh = (): Promise<void> => {
    if (running === undefined) {
      running = serialized(catchUp).finally(() => {
        running = undefined;
      });
      return running;
    }
    const rerun = (): Promise<void> => {
      again = undefined;
      return refresh();
    };
    again ??= running.then(rerun, rerun);
    return again;
  };

  // The same revision, built again from its files; served only if some endpoint's connection changed.
  const reload = (): Promise<ReloadOutcome> =>
    serialized(async () => {
      const { record, documents, snapshot: before } = served;
      const built = closed ? undefined : build(asDocuments({ ...record, documents }), record.revision);
      if (built === undefined || !built.ok)
        throw new ReloadError(record.revision, built === undefined ? ["the registry is closed"] : built.problems.map(formatProblem));
      const renewed = [...built.snapshot.endpoints.values()]
        .filter((e) => before.endpoints.get(e.key)?.connection !== e.connection)
        .map((e) => e.key);
      if (renewed.length === 0) return { revision: record.revision, renewed };
      try {
        await options.prepare?.(built.snapshot);
      } catch (error) {
        throw new ReloadError(record.revision, [`its connections could not be prepared: ${(error as Error).message}`]);
      }
      // A newer revision may have been served while the connections were prepared; then this build is moot.
      if (closed || served.snapshot !== before) {
        options.retire?.(built.snapshot);
        return { revision: served.record.revision, renewed: [] };
      }
      serve(built.snapshot, record, documents);
      return { revision: record.revision, renewed };
    });

  const stopFollowing = await store.follow(
    () => {
      contact(true);
      void refresh();
    },
    () => {
      contact(true);
      void refresh();
    },
  );
  const timer = setInterval(() => void refresh(), refreshMs);
  timer.unref();
  // A revision written while this instance prepared its first one, before it listened.
  void refresh();

  // --- Changes.
  const change = async (
    action: RevisionAction,
    opts: ChangeOptions,
    next: (head: StoredRevision | undefined, read: (revision: number) => Promise<StoredRevision | undefined>) => Promise<NextSet>,
  ): Promise<ChangeOutcome> => {
    const evaluate = async (
      head: StoredRevision | undefined,
      revision: number,
      read: (revision: number) => Promise<StoredRevision | undefined>,
    ): Promise<{ outcome: ChangeOutcome; set: NextSet; built: ReturnType<typeof build> }> => {
      const baseRevision = head?.revision ?? 0;
      if (opts.expectedRevision !== 0 && opts.expectedRevision !== baseRevision) {
        throw new EstelamError(
          "REVISION_CONFLICT",
          `the registry is at revision ${baseRevision}, not ${opts.expectedRevision} as the change expects; review the change again`,
        );
      }
      const set = await next(head, read);
      const changes = diff(head?.documents ?? new Map(), set.documents);
      const built = build(set.forValidation, revision);
      const problems = built.ok ? [] : built.problems;
      const result = opts.dryRun ? "dry-run" : changes.length === 0 && problems.length === 0 ? "unchanged" : "applied";
      const outcome: ChangeOutcome = {
        action,
        baseRevision,
        revision: result === "applied" ? revision : 0,
        result,
        rollbackTo: set.rollbackTo,
        changes,
        problems,
      };
      return { outcome, set, built };
    };

    if (opts.dryRun) {
      const head = await store.read().catch(unavailable);
      return (await evaluate(head, (head?.revision ?? 0) + 1, (revision) => store.read(revision).catch(unavailable))).outcome;
    }

    let done: { outcome: ChangeOutcome; set: NextSet; built: ReturnType<typeof build> } | undefined;
    const written = await store
      .change(async (head, revision, read) => {
        done = await evaluate(head, revision, read);
        const { outcome, set, built } = done;
        if (!built.ok) throw invalidDocuments(built.problems);
        if (outcome.result === "unchanged") {
          await opts.beforeCommit?.(outcome);
          return undefined;
        }
        return {
          action,
          actorAgency: opts.actor.agency,
          actorCredential: opts.actor.credential,
          message: opts.message,
          rollbackTo: set.rollbackTo,
          instance: options.instance,
          documents: [...set.documents.values()],
          changes: outcome.changes.map((c) => ({ kind: c.kind, name: c.name, change: c.change, digest: c.digest })),
          beforeCommit: opts.beforeCommit === undefined ? undefined : () => opts.beforeCommit?.(outcome) ?? Promise.resolve(),
        };
      })
      .catch(unavailable);
    contact(true);
    if (done === undefined) throw new EstelamError("INTERNAL", "the registry change was not evaluated");
    const { outcome, set, built } = done;
    if (written !== undefined && built.ok) {
      const record: RevisionRecord = {
        revision: written,
        createdAt: new Date(),
        action,
        actorAgency: opts.actor.agency,
        actorCredential: opts.actor.credential,
        message: opts.message,
        rollbackTo: set.rollbackTo,
        instance: options.instance,
        changes: outcome.changes.map((c) => ({ kind: c.kind, name: c.name, change: c.change, digest: c.digest })),
      };
      // This instance serves the new revision before answering, so its own next inquiry sees it. The change is
      // committed either way: one this instance cannot serve is reported by status() and tried again.
      await serialized(() => swapTo(built.snapshot, record, set.documents));
    }
    return outcome;
  };

  const keep = (head: StoredRevision | undefined, drop: (key: string) => boolean) => {
    const documents = new Map<string, StoredDocument>();
    const forValidation: RegistryDocument[] = [];
    for (const [key, d] of head?.documents ?? []) {
      if (drop(key)) continue;
      documents.set(key, d);
      forValidation.push({ source: "registry", content: d.content });
    }
    return { documents, forValidation };
  };

  return {
    current: () => served.snapshot,
    acquire() {
      const lease = served;
      lease.users += 1;
      return lease;
    },
    release(lease) {
      const s = lease as Served;
      s.users -= 1;
      retireIfIdle(s);
    },
    record: () => served.record,
    async documents(revision) {
      if (revision === undefined || revision === 0 || revision === served.record.revision)
        return { revision: served.record.revision, documents: served.documents };
      const found = await store.read(revision).catch(unavailable);
      if (found === undefined) throw new EstelamError("REVISION_NOT_FOUND", `the registry has no revision ${revision}`);
      return { revision: found.revision, documents: found.documents };
    },
    history: (limit, before) => store.history(limit, before).catch(unavailable),
    apply(documents, prune, opts) {
      return change("apply", opts, async (head) => {
        const given = new Map<string, StoredDocument>();
        for (const d of documents) {
          const s = stored(d);
          if (s !== undefined && !given.has(s.key)) given.set(s.key, s);
        }
        const kept = keep(head, (key) => prune || given.has(key));
        for (const [key, d] of given) kept.documents.set(key, d);
        return { documents: kept.documents, forValidation: [...kept.forValidation, ...documents] };
      });
    },
    delete(refs, opts) {
      return change("delete", opts, async (head) => {
        const keys = new Set(refs.map((r) => documentKey(r.kind, r.name)));
        const missing = [...keys].filter((k) => !head?.documents.has(k));
        if (missing.length > 0)
          throw new EstelamError(
            "DOCUMENT_NOT_FOUND",
            `the registry (revision ${head?.revision ?? 0}) holds no ${missing.join(", ")}; nothing was deleted`,
          );
        return keep(head, (key) => keys.has(key));
      });
    },
    rollback(revision, opts) {
      return change("rollback", opts, async (_head, read) => {
        const target = await read(revision);
        if (target === undefined) throw new EstelamError("REVISION_NOT_FOUND", `the registry has no revision ${revision}`);
        return { documents: target.documents, forValidation: asDocuments(target), rollbackTo: revision };
      });
    },
    refresh,
    reload,
    status() {
      const reachable = store.reachable() && contactOk;
      return {
        revision: served.record.revision,
        store: store.kind,
        location: store.location,
        reachable,
        staleSeconds: reachable ? 0 : Math.max(0, (Date.now() - lastContact) / 1000),
        unservable,
      };
    },
    onSwap(listener) {
      swapListeners.add(listener);
      return () => swapListeners.delete(listener);
    },
    async close() {
      closed = true;
      clearInterval(timer);
      await stopFollowing().catch(() => undefined);
      await again?.catch(() => undefined);
      await chain;
    },
  };
}

function unavailableAtStart(error: unknown): never {
  if (error instanceof StoreUnavailableError) throw new RegistryStartError(error.message);
  throw error;
}
