import { checkout } from "../../store/postgres/checkout.js";
import { numbered } from "../../store/postgres/placeholders.js";
import type { Row, SqlDialect } from "../../store/sql/sql-db.js";
import { SqliteStore } from "../../store/sqlite/sqlite-store.js";
import type { RuntimeStore } from "../runtime.js";

/** Reads in `?` form, as `SqlDb.all` takes them: a store, or one snapshot of it. */
export interface Reader {
  readonly dialect: SqlDialect;
  all(sql: string, params?: readonly unknown[]): Promise<Row[]>;
}

export interface Snapshot {
  reader: Reader;
  /** Ends the read transaction (and, on PostgreSQL, returns its connection). */
  close(): Promise<void>;
}

/**
 * One consistent view of the whole database for an export, so that the row counts and the ledger
 * digest in the header and every row after it describe the same moment.
 * - PostgreSQL: a REPEATABLE READ READ ONLY transaction on a connection of its own.
 * - SQLite: a read transaction on the store's main connection (WAL: the writer, a separate
 *   connection, is not blocked, and this connection keeps seeing the moment of its first read).
 */
export async function openSnapshot(store: RuntimeStore): Promise<Snapshot> {
  if (store instanceof SqliteStore) {
    const db = store.database;
    db.exec("BEGIN DEFERRED");
    return {
      reader: { dialect: "sqlite", all: (sql, params = []) => store.all(sql, params) },
      async close() {
        if (db.inTransaction) db.exec("COMMIT");
      },
    };
  }
  const client = await checkout(store.pool);
  let broken = false;
  try {
    await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
  } catch (error) {
    client.release(true);
    throw error;
  }
  return {
    reader: {
      dialect: "postgres",
      all: async (sql, params = []) => (await client.query<Row>(numbered(sql), params as unknown[])).rows,
    },
    async close() {
      // Read only: COMMIT and ROLLBACK end it alike; a connection whose end failed is dropped.
      await client.query("ROLLBACK").catch(() => {
        broken = true;
      });
      client.release(broken);
    },
  };
}
