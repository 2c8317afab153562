import type { SqlDb } from "../../store/sql/sql-db.js";
import { TransferError } from "./transfer-error.js";

/**
 * The `settings` row an import writes before its first row of data and deletes only once the
 * target has been proved a copy of the dump. A process killed part way (SIGKILL, a crash, a lost
 * machine) cannot delete the rows it loaded; this row stays with them, and every command that
 * opens the database refuses it, so a half-loaded target, which reconciles on what it holds, is
 * never served or exported as if it were whole.
 */
export const unfinishedImportKey = "import.unfinished";

/** Rows of `settings` that belong to the import itself rather than to the dump. */
export const importOwnSettingsRows = 1;

/** Marks the target as being loaded from `file`. Written before any of the dump's rows. */
export async function markImportStarted(db: SqlDb, file: string, startedAtMs: number): Promise<void> {
  const value = JSON.stringify({ file, startedAt: new Date(startedAtMs).toISOString() });
  await db.execute([
    { sql: "INSERT INTO settings (key, value) VALUES (?, ?)", params: [unfinishedImportKey, value] },
  ]);
}

/** Clears the mark: the import was verified. */
export async function markImportFinished(db: SqlDb): Promise<void> {
  await db.execute([{ sql: "DELETE FROM settings WHERE key = ?", params: [unfinishedImportKey] }]);
}

/** Refuses a database that an import did not finish loading, saying what to do about it. */
export async function refuseUnfinishedImport(db: SqlDb): Promise<void> {
  const row = await db.get("SELECT value FROM settings WHERE key = ?", [unfinishedImportKey]);
  if (row === undefined) return;
  let from = "";
  try {
    const mark = JSON.parse(String(row.value)) as { file?: unknown; startedAt?: unknown };
    if (typeof mark.file === "string" && typeof mark.startedAt === "string") {
      from = ` (from ${mark.file}, started ${mark.startedAt})`;
    }
  } catch {
    // The mark alone is enough to refuse; its details only help the message.
  }
  throw new TransferError(
    `this database holds an import that did not finish${from}: it holds part of a dump at most. Drop it (delete the SQLite file, or drop and recreate the PostgreSQL schema), run giftstream migrate, and import again`,
  );
}
