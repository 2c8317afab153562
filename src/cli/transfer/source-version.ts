import { existsSync } from "node:fs";
import Database from "better-sqlite3";
import { databaseLocation } from "../../config/database-url.js";
import type { Config } from "../../config/index.js";
import { postgresMigrations } from "../../store/postgres/migrations.js";
import { openPool } from "../../store/postgres/pool.js";
import { migrations } from "../../store/sqlite/migrations.js";
import { TransferError } from "./transfer-error.js";

/**
 * Refuses an export's source unless it is a Giftstream database at this version's schema, read
 * without changing it. Opening a store creates and migrates what it finds: a mistyped data
 * directory or `DATABASE_URL` became a new, empty database that exported "0 rows" and imported as
 * "ledgers identical", and an older source was migrated (its rows rewritten) by the export that was
 * only to read it.
 */
export async function checkExportSource(config: Config): Promise<void> {
  const location = databaseLocation(config);
  const newest =
    location.kind === "postgres" ? postgresMigrations.at(-1)!.version : migrations.at(-1)!.version;
  let version: number;
  if (location.kind === "sqlite") {
    if (!existsSync(location.path)) {
      throw new TransferError(
        `there is no database at ${location.path} (check the data directory); nothing exported`,
      );
    }
    version = sqliteVersion(location.path);
  } else {
    version = await postgresVersion(location.url);
  }
  if (version === 0) {
    throw new TransferError(
      "the source holds no Giftstream schema (check DATABASE_URL, its schema, or the data directory); nothing exported",
    );
  }
  if (version !== newest) {
    throw new TransferError(
      `the source's schema is at version ${version}, this Giftstream's at ${newest}: export with the version that wrote it, or run \`giftstream migrate\` on it first (with its servers stopped or upgraded)`,
    );
  }
}

function sqliteVersion(path: string): number {
  const db = new Database(path, { readonly: true, fileMustExist: true });
  try {
    const table = db
      .prepare("SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'")
      .get();
    if (table === undefined) return 0;
    const row = db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as { v: number | null };
    return row.v === null ? 0 : Number(row.v);
  } finally {
    db.close();
  }
}

async function postgresVersion(url: string): Promise<number> {
  const pool = openPool({ url, connectionsMax: 1 });
  try {
    // The table on the connection's search_path, as the store would use it; none there: version 0.
    const { rows } = await pool.query<{ t: string | null }>(
      "SELECT to_regclass('schema_migrations')::text AS t",
    );
    if (rows[0]?.t === null || rows[0]?.t === undefined) return 0;
    const max = await pool.query<{ v: number | null }>("SELECT MAX(version) AS v FROM schema_migrations");
    return max.rows[0]?.v ?? 0;
  } finally {
    await pool.end();
  }
}
