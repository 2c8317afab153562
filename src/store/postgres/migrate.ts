import type pg from "pg";
import { checkout } from "./checkout.js";
import { type PostgresMigration, postgresMigrations } from "./migrations.js";

export interface PostgresMigrationReport {
  applied: PostgresMigration[];
  version: number;
}

/**
 * Any fixed number, the same in every Giftstream process: the transaction-scoped advisory lock
 * that makes processes starting together migrate one after the other instead of racing.
 */
const migrationLockId = 0x67_69_66_74n; // "gift"

/**
 * Brings the schema on `search_path` to the newest version, one migration per transaction, and
 * refuses a schema written by a newer Giftstream rather than guessing at it. Safe to run from
 * several processes at once.
 */
export async function migratePostgres(
  pool: pg.Pool,
  available: readonly PostgresMigration[] = postgresMigrations,
): Promise<PostgresMigrationReport> {
  const newest = available.at(-1)?.version ?? 0;
  const applied: PostgresMigration[] = [];
  const client = await checkout(pool);
  try {
    // Bounded by the number of migrations: each pass applies one, or finds none left.
    for (let pass = 0; pass <= available.length; pass++) {
      await client.query("BEGIN");
      try {
        // A migration may rewrite a large table, and may wait for another process's: neither is
        // bounded by the pool's statement timeout (this transaction only).
        await client.query("SET LOCAL statement_timeout = 0");
        await client.query("SELECT pg_advisory_xact_lock($1)", [migrationLockId]);
        await client.query(
          "CREATE TABLE IF NOT EXISTS schema_migrations (version integer PRIMARY KEY, name text NOT NULL, applied_at bigint NOT NULL)",
        );
        const { rows } = await client.query<{ v: number | null }>(
          "SELECT MAX(version) AS v FROM schema_migrations",
        );
        const current = rows[0]?.v ?? 0;
        if (current > newest) {
          throw new Error(
            `database schema version ${current} is newer than this Giftstream knows (${newest})`,
          );
        }
        const next = available.find((migration) => migration.version > current);
        if (next === undefined) {
          await client.query("COMMIT");
          return { applied, version: Math.max(current, newest) };
        }
        await client.query(next.sql);
        await client.query("INSERT INTO schema_migrations (version, name, applied_at) VALUES ($1, $2, $3)", [
          next.version,
          next.name,
          BigInt(Date.now()),
        ]);
        await client.query("COMMIT");
        applied.push(next);
      } catch (error) {
        await client.query("ROLLBACK").catch(() => undefined);
        throw error;
      }
    }
    throw new Error("migrations did not converge");
  } finally {
    client.release();
  }
}
