import DataLoader from "dataloader";
import { jsonTexts, pgArray } from "./json-lists.js";
import type { Row, SqlDb, SqlDialect } from "./sql-db.js";

/** Most keys one coalesced read asks for: one statement's list, and its answer, stay small. */
export const keysPerReadMax = 1_000;

/**
 * `column` is one of a list of text keys, bound as one parameter, the list's JSON text: one SQL
 * text whatever the number of keys, so it is prepared once.
 */
export function keyIn(dialect: SqlDialect, column: string): string {
  return dialect === "postgres"
    ? `${column} = ANY(${pgArray("?", "text")})`
    : `${column} IN (SELECT value FROM json_each(?))`;
}

/**
 * Reads by key that run concurrently are coalesced into one statement over all their keys:
 * under load many requests each read one row (the gift hot path reads its sender and the
 * sender's lot order), and one round trip for all of them costs the database, and this process,
 * far less than one each. `sql` holds one `keyIn` placeholder, first; `group` gives each key its
 * answer from the rows. Nothing is cached here: the callers keep their own caches, with their own
 * rules for dropping an entry.
 */
export function batchedReads<T>(
  db: SqlDb,
  sql: string,
  group: (rows: Row[], keys: readonly string[]) => Map<string, T>,
  /** The answer for a key with no rows. */
  missing: () => T,
): (key: string) => Promise<T> {
  const loader = new DataLoader<string, T>(
    async (keys) => {
      const rows = await db.all(sql, [jsonTexts(keys)]);
      const found = group(rows, keys);
      return keys.map((key) => (found.has(key) ? found.get(key)! : missing()));
    },
    { cache: false, maxBatchSize: keysPerReadMax },
  );
  return (key) => loader.load(key);
}
