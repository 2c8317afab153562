import type { Activity, ActivityStore } from "../../economy/history/activity.js";
import { int64Max } from "../../ledger/int64.js";
import type { SqlDb } from "./sql-db.js";

const sql = {
  page: "SELECT id, data FROM activity WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
};

export class SqlActivityStore implements ActivityStore {
  constructor(private readonly db: SqlDb) {}

  async list(userId: string, beforeId: bigint | null, limit: number) {
    const rows = await this.db.all(sql.page, [userId, beforeId ?? int64Max, BigInt(limit)]);
    return rows.map((row) => ({ ...(JSON.parse(row.data as string) as Activity), id: row.id as bigint }));
  }
}
