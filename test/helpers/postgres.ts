// The PostgreSQL server of the tests: 127.0.0.1:5432, database `test`, trust authentication, as on every
// machine of the project (ESTELAM_TEST_DATABASE_URL names another). Each test takes a schema of its own and
// drops it afterwards, so runs on one server never see each other's tables.
import { randomBytes } from "node:crypto";
import pg from "pg";

export const TEST_DATABASE_URL = process.env.ESTELAM_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

/** A schema name no other test uses. */
export function uniqueSchema(prefix = "t"): string {
  return `estelam_${prefix}_${Date.now().toString(36)}_${randomBytes(3).toString("hex")}`;
}

/** Runs SQL as an administrator of the test database (outside the code under test). */
export async function adminQuery<R extends pg.QueryResultRow = pg.QueryResultRow>(sql: string, params: unknown[] = []): Promise<R[]> {
  const client = new pg.Client({ connectionString: TEST_DATABASE_URL, connectionTimeoutMillis: 3000 });
  try {
    await client.connect();
  } catch (error) {
    throw new Error(
      `the tests need PostgreSQL at ${TEST_DATABASE_URL} (trust auth, database test): ${(error as Error).message}. ` +
        "Start it (pg_ctlcluster <version> main start) or set ESTELAM_TEST_DATABASE_URL.",
    );
  }
  try {
    return (await client.query<R>(sql, params)).rows;
  } finally {
    await client.end();
  }
}

export async function dropSchema(schema: string): Promise<void> {
  await adminQuery(`drop schema if exists ${schema} cascade`);
}
