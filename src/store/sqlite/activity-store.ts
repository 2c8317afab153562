import type { Activity, ActivityStore } from "../../economy/history/activity.js";
import type { SqliteStore } from "./sqlite-store.js";

type Row = Record<string, unknown>;

export class SqliteActivityStore implements ActivityStore {
  private readonly page;

  constructor(store: SqliteStore) {
    this.page = store.database.prepare(
      "SELECT id, data FROM activity WHERE user_id = ? AND id < ? ORDER BY id DESC LIMIT ?",
    );
  }

  async list(userId: string, beforeId: bigint | null, limit: number) {
    const rows = this.page.all(userId, beforeId ?? 2n ** 63n - 1n, BigInt(limit)) as Row[];
    return rows.map((row) => ({ ...(JSON.parse(row.data as string) as Activity), id: row.id as bigint }));
  }
}
