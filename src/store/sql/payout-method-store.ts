import type {
  PayoutMethodStore,
  StoredPayoutMethod,
} from "../../economy/payout-methods/payout-method-store.js";
import type { Row, SqlDb } from "./sql-db.js";

const sql = {
  byId: "SELECT * FROM payout_methods WHERE id = ?",
  activeByUser:
    "SELECT * FROM payout_methods WHERE user_id = ? AND deleted_at IS NULL ORDER BY created_at, rowid",
  // Counted and inserted in one statement.
  insert: `INSERT INTO payout_methods (id, user_id, type, details, masked, created_at, deleted_at)
     SELECT ?, ?, ?, ?, ?, ?, NULL
     WHERE (SELECT COUNT(*) FROM payout_methods WHERE user_id = ? AND deleted_at IS NULL) < ?`,
  // PostgreSQL only: the lock that makes the count and the insert above one step among processes.
  // It conflicts with itself and with every other write of the table (reads go on), and changes
  // no row, so it adds nothing to the count `execute` returns.
  lockPostgres: "LOCK TABLE payout_methods IN SHARE ROW EXCLUSIVE MODE",
  markDeleted: "UPDATE payout_methods SET deleted_at = ? WHERE id = ? AND user_id = ? AND deleted_at IS NULL",
};

export class SqlPayoutMethodStore implements PayoutMethodStore {
  constructor(private readonly db: SqlDb) {}

  async insert(method: StoredPayoutMethod, perUserMax: number): Promise<boolean> {
    // Two concurrent links must not both pass the limit. On SQLite the count and the insert are
    // one statement on the single writer. On PostgreSQL, under read committed, two such statements
    // could each count before the other's insert commits: the table lock before it serialises them,
    // and the insert, a statement of its own, counts what committed up to the lock.
    const insert = {
      sql: sql.insert,
      params: [
        method.id,
        method.userId,
        method.type,
        method.sealed,
        method.masked,
        BigInt(method.createdAt),
        method.userId,
        BigInt(perUserMax),
      ],
    };
    const changed = await this.db.execute(
      this.db.dialect === "postgres" ? [{ sql: sql.lockPostgres, params: [] }, insert] : [insert],
    );
    return changed === 1;
  }

  async get(id: string): Promise<StoredPayoutMethod | undefined> {
    const row = await this.db.get(sql.byId, [id]);
    return row ? toMethod(row) : undefined;
  }

  async listActive(userId: string): Promise<StoredPayoutMethod[]> {
    return (await this.db.all(sql.activeByUser, [userId])).map(toMethod);
  }

  async markDeleted(userId: string, id: string, at: number): Promise<boolean> {
    const changed = await this.db.execute([{ sql: sql.markDeleted, params: [BigInt(at), id, userId] }]);
    return changed === 1;
  }
}

function toMethod(row: Row): StoredPayoutMethod {
  return {
    id: row.id as string,
    userId: row.user_id as string,
    type: row.type as string,
    sealed: row.details as Buffer,
    masked: row.masked as string,
    createdAt: Number(row.created_at),
    deletedAt: row.deleted_at === null ? null : Number(row.deleted_at),
  };
}
