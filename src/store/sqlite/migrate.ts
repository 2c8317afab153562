import type Database from "better-sqlite3";
import { type Migration, migrations } from "./migrations.js";

export interface MigrationReport {
  applied: Migration[];
  version: number;
}

/**
 * Brings the database to the newest schema, one migration per transaction, and refuses a
 * database written by a newer Giftstream rather than guessing at its schema.
 */
export function migrate(
  db: Database.Database,
  available: readonly Migration[] = migrations,
): MigrationReport {
  // A database at version N has applied every migration up to N: one added later below N, or a
  // gap, would be skipped for ever on the databases already past it.
  available.forEach((migration, index) => {
    if (migration.version !== index + 1) {
      throw new Error(
        `migrations must be numbered 1, 2, 3… in order; found version ${migration.version} at position ${index + 1}`,
      );
    }
  });
  db.exec(
    "CREATE TABLE IF NOT EXISTS schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at INTEGER NOT NULL) STRICT",
  );
  const row = db.prepare("SELECT MAX(version) AS v FROM schema_migrations").get() as {
    v: bigint | number | null;
  };
  const current = row.v === null ? 0 : Number(row.v);
  const newest = available.at(-1)?.version ?? 0;
  if (current > newest) {
    throw new Error(`database schema version ${current} is newer than this Giftstream knows (${newest})`);
  }
  const applied: Migration[] = [];
  for (const migration of available) {
    if (migration.version <= current) continue;
    db.transaction(() => {
      db.exec(migration.sql);
      db.prepare("INSERT INTO schema_migrations (version, name, applied_at) VALUES (?, ?, ?)").run(
        BigInt(migration.version),
        migration.name,
        BigInt(Date.now()),
      );
    })();
    applied.push(migration);
  }
  return { applied, version: Math.max(current, newest) };
}
