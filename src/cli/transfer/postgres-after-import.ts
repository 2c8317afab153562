import { invariant } from "../../errors.js";
import { PendingStatus, TransferType } from "../../ledger/types.js";
import type { SqlDb } from "../../store/sql/sql-db.js";
import { quoted } from "./catalog.js";

/**
 * PostgreSQL keeps closed holds, which a dump does not carry (store-differences.ts): each is a
 * pending transfer that a post or a void names, and is written back from those two transfers,
 * with the status the closing one implies, as the SQLite store reads a closed hold.
 */
export async function restoreClosedHolds(db: SqlDb): Promise<number> {
  return db.execute([
    {
      sql: `INSERT INTO holds (transfer_id, debit_account_id, credit_account_id, amount, expires_at, status)
            SELECT p.id, p.debit_account_id, p.credit_account_id, p.amount, p.expires_at,
                   CASE WHEN c.type = ${TransferType.post_pending} THEN ${PendingStatus.posted} ELSE ${PendingStatus.voided} END
            FROM transfers p JOIN transfers c ON c.pending_id = p.id
            WHERE p.type = ${TransferType.pending}`,
      params: [],
    },
  ]);
}

/**
 * Rows were inserted with their ids (OVERRIDING SYSTEM VALUE), which moves no sequence: set each
 * one (every identity column, and `transfers_id_seq`, owned by transfers.id) past the largest id,
 * so that the next row the service writes takes the next id. Returns the sequences set.
 */
export async function resetSequences(db: SqlDb): Promise<string[]> {
  const owned = await db.all(
    `SELECT table_name AS t, column_name AS c, pg_get_serial_sequence(format('%I.%I', table_schema, table_name), column_name) AS s
     FROM information_schema.columns
     WHERE table_schema = current_schema()
       AND pg_get_serial_sequence(format('%I.%I', table_schema, table_name), column_name) IS NOT NULL
     ORDER BY table_name, column_name`,
  );
  invariant(
    owned.some((row) => row.t === "transfers" && row.c === "id"),
    "transfers.id owns the sequence the ledger draws transfer ids from",
  );
  await db.execute(
    owned.map((row) => ({
      sql: `SELECT setval(?, COALESCE((SELECT MAX(${quoted(String(row.c))}) FROM ${quoted(String(row.t))}), 0) + 1, false)`,
      params: [row.s],
    })),
  );
  return owned.map((row) => String(row.s));
}

/**
 * Fresh planner statistics for the tables loaded (they were empty when the schema was made); named,
 * since a bare ANALYZE would go through every schema of the database.
 */
export async function analyze(db: SqlDb, tables: readonly string[]): Promise<void> {
  if (tables.length === 0) return;
  await db.execute([{ sql: `ANALYZE ${tables.map(quoted).join(", ")}`, params: [] }]);
}
