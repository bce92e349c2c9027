// Opens the database the configuration names: a PostgreSQL server (`postgres://…`) shared by several gateway
// instances, or the embedded PGlite database in a local folder.
import { checkSchemaName, type Database } from "./database.ts";
import { openPgliteDatabase } from "./database-pglite.ts";
import { openPostgresDatabase } from "./database-postgres.ts";

export interface OpenDatabaseOptions {
  /** `postgres://...` for a shared server; undefined or "" for the embedded database in `dataDir`. */
  readonly url?: string | undefined;
  /** Folder of the embedded database (created when missing). */
  readonly dataDir: string;
  /** Schema of every table; default `estelam`. */
  readonly schema?: string;
}

/** Opens the embedded database or connects to the server, and makes sure the schema exists. */
export async function openDatabase(options: OpenDatabaseOptions): Promise<Database> {
  const schema = checkSchemaName(options.schema ?? "estelam");
  if (options.url !== undefined && options.url !== "") return openPostgresDatabase({ url: options.url, schema });
  return openPgliteDatabase({ dataDir: options.dataDir, schema });
}
