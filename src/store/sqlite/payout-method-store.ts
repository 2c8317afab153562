import type {
  PayoutMethodStore,
  StoredPayoutMethod,
} from "../../economy/payout-methods/payout-method-store.js";
import type { SqliteStore } from "./sqlite-store.js";

type Row = Record<string, unknown>;

export class SqlitePayoutMethodStore implements PayoutMethodStore {
  private readonly byId;
  private readonly activeByUser;

  constructor(private readonly store: SqliteStore) {
    const db = store.database;
    this.byId = db.prepare("SELECT * FROM payout_methods WHERE id = ?");
    this.activeByUser = db.prepare(
      "SELECT * FROM payout_methods WHERE user_id = ? AND deleted_at IS NULL ORDER BY created_at, rowid",
    );
  }

  async insert(method: StoredPayoutMethod, perUserMax: number): Promise<boolean> {
    // The count and the insert are one statement on the single writer: two concurrent links cannot
    // both pass the limit.
    const changed = await this.store.execute([
      {
        sql: `INSERT INTO payout_methods (id, user_id, type, details, masked, created_at, deleted_at)
              SELECT ?, ?, ?, ?, ?, ?, NULL
              WHERE (SELECT COUNT(*) FROM payout_methods WHERE user_id = ? AND deleted_at IS NULL) < ?`,
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
      },
    ]);
    return changed === 1;
  }

  async get(id: string): Promise<StoredPayoutMethod | undefined> {
    const row = this.byId.get(id) as Row | undefined;
    return row ? toMethod(row) : undefined;
  }

  async listActive(userId: string): Promise<StoredPayoutMethod[]> {
    return (this.activeByUser.all(userId) as Row[]).map(toMethod);
  }

  async markDeleted(userId: string, id: string, at: number): Promise<boolean> {
    const changed = await this.store.execute([
      {
        sql: "UPDATE payout_methods SET deleted_at = ? WHERE id = ? AND user_id = ? AND deleted_at IS NULL",
        params: [BigInt(at), id, userId],
      },
    ]);
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
