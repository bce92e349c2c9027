// The registry kept in the gateway's database (registry/database.ts): the same tables and SQL on the
// embedded PGlite folder and on a shared PostgreSQL server. Documents are stored once per distinct content
// (by digest); a revision row lists which documents it holds. Writers take a transaction-scoped advisory
// lock, so revisions are numbered without gaps even with several instances, and announce each new revision
// with NOTIFY (sent on commit), which every instance listens to.
import type { JsonObject } from "@bufbuild/protobuf";
import type { Database, Migration, Queryable } from "./database.ts";
import type {
  ChangeType,
  DocumentChangeSummary,
  RegistryStore,
  RevisionAction,
  RevisionRecord,
  StoredDocument,
  StoredRevision,
} from "./store.ts";
import { StoreUnavailableError } from "./store.ts";

export const REGISTRY_MIGRATIONS: readonly Migration[] = [
  // One statement per migration: both kinds run them as prepared statements.
  {
    version: 1,
    sql: `
      create table registry_documents (
        digest text primary key,
        content text not null
      )`,
  },
  {
    version: 2,
    sql: `
      create table registry_revisions (
        revision bigint primary key,
        created_at timestamptz not null default now(),
        action text not null,
        actor_agency text not null,
        actor_credential text not null,
        message text not null,
        rollback_to bigint,
        instance text not null,
        documents jsonb not null,
        changes jsonb not null
      )`,
  },
];

const CHANNEL = "registry";

interface RevisionRow {
  revision: string | number;
  created_at: Date | string;
  action: string;
  actor_agency: string;
  actor_credential: string;
  message: string;
  rollback_to: string | number | null;
  instance: string;
  documents?: unknown;
  changes: unknown;
}

interface IndexEntry {
  readonly key: string;
  readonly source: string;
  readonly digest: string;
}

const COLUMNS = "revision, created_at, action, actor_agency, actor_credential, message, rollback_to, instance, changes";

function json<T>(value: unknown): T {
  return (typeof value === "string" ? JSON.parse(value) : value) as T;
}

function record(row: RevisionRow): RevisionRecord {
  return {
    revision: Number(row.revision),
    createdAt: row.created_at instanceof Date ? row.created_at : new Date(row.created_at),
    action: row.action as RevisionAction,
    actorAgency: row.actor_agency,
    actorCredential: row.actor_credential,
    message: row.message,
    rollbackTo: row.rollback_to === null ? undefined : Number(row.rollback_to),
    instance: row.instance,
    changes: json<Array<{ kind: string; name: string; change: ChangeType; digest: string }>>(row.changes),
  };
}

/** Anything the database throws becomes StoreUnavailableError, so callers can tell it from their own errors. */
async function guarded<T>(what: string, work: () => Promise<T>): Promise<T> {
  try {
    return await work();
  } catch (error) {
    if (error instanceof StoreUnavailableError) throw error;
    throw new StoreUnavailableError(`the registry store could not ${what}: ${(error as Error).message}`, { cause: error });
  }
}

async function readRevision(q: Queryable, revision: number | undefined): Promise<StoredRevision | undefined> {
  const rows =
    revision === undefined
      ? await q.query<RevisionRow>(`select ${COLUMNS}, documents from registry_revisions order by revision desc limit 1`)
      : await q.query<RevisionRow>(`select ${COLUMNS}, documents from registry_revisions where revision = $1`, [revision]);
  const row = rows.rows[0];
  if (row === undefined) return undefined;
  const index = json<IndexEntry[]>(row.documents);
  const digests = [...new Set(index.map((e) => e.digest))];
  const contents = new Map<string, JsonObject>();
  if (digests.length > 0) {
    const found = await q.query<{ digest: string; content: string }>(
      "select digest, content from registry_documents where digest = any($1::text[])",
      [digests],
    );
    for (const r of found.rows) contents.set(r.digest, JSON.parse(r.content) as JsonObject);
  }
  const documents = new Map<string, StoredDocument>();
  for (const entry of index) {
    const content = contents.get(entry.digest);
    if (content === undefined) throw new StoreUnavailableError(`revision ${String(row.revision)} lists a document the store does not hold`);
    const slash = entry.key.indexOf("/");
    documents.set(entry.key, {
      key: entry.key,
      kind: entry.key.slice(0, slash),
      name: entry.key.slice(slash + 1),
      source: entry.source,
      digest: entry.digest,
      content,
    });
  }
  return { ...record(row), documents };
}

export async function createDatabaseRegistryStore(db: Database): Promise<RegistryStore> {
  await db.migrate("registry", REGISTRY_MIGRATIONS);
  return {
    kind: db.kind,
    location: db.kind === "pglite" ? db.location : `${db.location} (schema ${db.schema})`,
    headRevision: () =>
      guarded("be read", async () => {
        const rows = await db.query<{ revision: string | number | null }>("select max(revision) as revision from registry_revisions");
        return Number(rows.rows[0]?.revision ?? 0);
      }),
    read: (revision) => guarded("be read", () => readRevision(db, revision)),
    async change(decide) {
      // Errors of `decide` and of `beforeCommit` are the caller's and pass through unchanged.
      let own: unknown;
      const theirs = async <T>(work: () => Promise<T>): Promise<T> => {
        try {
          return await work();
        } catch (error) {
          own = error;
          throw error;
        }
      };
      try {
        return await db.transaction(async (tx) => {
          // One writer at a time across every instance sharing the database.
          await tx.query("select pg_advisory_xact_lock(hashtext($1))", [`estelam-registry:${db.schema}`]);
          const head = await readRevision(tx, undefined);
          const next = (head?.revision ?? 0) + 1;
          const draft = await theirs(() => decide(head, next, (revision) => readRevision(tx, revision)));
          if (draft === undefined) return undefined;
          for (const document of draft.documents) {
            await tx.query("insert into registry_documents (digest, content) values ($1, $2) on conflict (digest) do nothing", [
              document.digest,
              JSON.stringify(document.content),
            ]);
          }
          const index: IndexEntry[] = draft.documents.map((d) => ({ key: d.key, source: d.source, digest: d.digest }));
          const changes: DocumentChangeSummary[] = [...draft.changes];
          await tx.query(
            `insert into registry_revisions (revision, action, actor_agency, actor_credential, message, rollback_to, instance, documents, changes)
             values ($1, $2, $3, $4, $5, $6, $7, $8::jsonb, $9::jsonb)`,
            [
              next,
              draft.action,
              draft.actorAgency,
              draft.actorCredential,
              draft.message,
              draft.rollbackTo ?? null,
              draft.instance,
              JSON.stringify(index),
              JSON.stringify(changes),
            ],
          );
          await db.notify(CHANNEL, String(next), tx);
          const beforeCommit = draft.beforeCommit;
          if (beforeCommit !== undefined) await theirs(() => beforeCommit(next));
          return next;
        });
      } catch (error) {
        // The caller's own verdict (e.g. invalid documents) passes through; the database's failures do not.
        if (error === own) throw error;
        if (error instanceof StoreUnavailableError) throw error;
        throw new StoreUnavailableError(`the registry store could not be changed: ${(error as Error).message}`, { cause: error });
      }
    },
    history: (limit, before) =>
      guarded("be read", async () => {
        const rows =
          before === undefined || before === 0
            ? await db.query<RevisionRow>(`select ${COLUMNS} from registry_revisions order by revision desc limit $1`, [limit])
            : await db.query<RevisionRow>(`select ${COLUMNS} from registry_revisions where revision < $1 order by revision desc limit $2`, [
                before,
                limit,
              ]);
        return rows.rows.map(record);
      }),
    follow: (onRevision, onReconnect) =>
      db.listen(
        CHANNEL,
        (payload) => {
          const revision = Number(payload);
          if (Number.isInteger(revision) && revision > 0) onRevision(revision);
        },
        onReconnect,
      ),
    reachable: () => db.reachable(),
  };
}
