import { randomBytes } from "node:crypto";
import pg from "pg";
import { withSearchPath } from "./pool.js";
import { PostgresLedgerStore } from "./postgres-ledger-store.js";

/**
 * Where the PostgreSQL suites run: `GIFTSTREAM_TEST_DATABASE_URL`, else the local server with
 * trust auth that `.ci/run` makes sure is up. Each suite works in a schema of its own and drops it.
 */
export const testDatabaseUrl =
  process.env.GIFTSTREAM_TEST_DATABASE_URL ?? "postgres://postgres@127.0.0.1:5432/test";

const probeTimeoutMs = 3_000;

/** The URL without its password, for messages. */
function shown(url: string): string {
  return url.replace(/\/\/([^:@/]+):[^@/]*@/, "//$1:***@");
}

async function probe(): Promise<string | undefined> {
  const client = new pg.Client({
    connectionString: testDatabaseUrl,
    connectionTimeoutMillis: probeTimeoutMs,
  });
  client.on("error", () => undefined);
  try {
    await client.connect();
    await client.query("SELECT 1");
    return undefined;
  } catch (error) {
    return error instanceof Error ? error.message : String(error);
  } finally {
    await client.end().catch(() => undefined);
  }
}

/**
 * Whether the PostgreSQL suites can run, decided once per test file. Off CI an unreachable server
 * skips them, and says so plainly; under CI=true it fails the file, because CI must prove both
 * stores (`.ci/run` starts PostgreSQL first).
 */
export async function requirePostgres(): Promise<boolean> {
  const problem = await probe();
  if (problem === undefined) return true;
  const message = `PostgreSQL at ${shown(testDatabaseUrl)} is not reachable (${problem})`;
  if (process.env.CI === "true") {
    throw new Error(`${message}: CI runs the PostgreSQL suites and cannot skip them`);
  }
  console.warn(
    `${message}: the PostgreSQL suites were skipped. Start it, or set GIFTSTREAM_TEST_DATABASE_URL.`,
  );
  return false;
}

/** A fresh, empty schema; `drop` removes it and everything in it. */
export async function createTestSchema(): Promise<{ schema: string; drop(): Promise<void> }> {
  const schema = `gs_test_${randomBytes(6).toString("hex")}`;
  await adminQuery(`CREATE SCHEMA ${schema}`);
  return { schema, drop: () => adminQuery(`DROP SCHEMA IF EXISTS ${schema} CASCADE`) };
}

async function adminQuery(text: string): Promise<void> {
  const client = new pg.Client({
    connectionString: testDatabaseUrl,
    connectionTimeoutMillis: probeTimeoutMs,
  });
  await client.connect();
  try {
    await client.query(text);
  } finally {
    await client.end();
  }
}

/** The test database, with `schema` first on the search path of every connection. */
export function schemaUrl(schema: string): string {
  return withSearchPath(testDatabaseUrl, schema);
}

/** A PostgreSQL store on a fresh schema of its own; `dispose` closes it and drops the schema. */
export async function openTestPostgresStore(): Promise<{
  store: PostgresLedgerStore;
  dispose(): Promise<void>;
}> {
  const { schema, drop } = await createTestSchema();
  const store = await PostgresLedgerStore.open({ url: testDatabaseUrl, schema, connectionsMax: 2 });
  return {
    store,
    async dispose() {
      await store.close();
      await drop();
    },
  };
}
