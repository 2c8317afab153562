import type { User, UserStatus } from "../../economy/users/user.js";
import type { UserStore } from "../../economy/users/user-store.js";
import type { StoreEffect } from "../../ledger/types.js";
import { batchedReads, keyIn } from "./batched-reads.js";
import { statementsFor } from "./effects.js";
import type { Row, SqlDb } from "./sql-db.js";

const sql = {
  put: `INSERT INTO users (id, country, birth_date, display_name, status, status_reason, created_at, updated_at)
        VALUES (?, ?, ?, ?, ?, ?, ?, ?)
        ON CONFLICT (id) DO UPDATE SET country = excluded.country,
          birth_date = CASE WHEN users.birth_date_verified = 1 THEN users.birth_date ELSE excluded.birth_date END,
          display_name = excluded.display_name, updated_at = excluded.updated_at`,
  setStatus: "UPDATE users SET status = ?, status_reason = ?, updated_at = ? WHERE id = ?",
};

export class SqlUserStore implements UserStore {
  /** Concurrent reads of users, one statement for all (batched-reads.ts). */
  private readonly read: (id: string) => Promise<User | undefined>;

  constructor(private readonly db: SqlDb) {
    this.read = batchedReads<User | undefined>(
      db,
      `SELECT * FROM users WHERE ${keyIn(db.dialect, "id")}`,
      (rows) => new Map(rows.map((row) => [row.id as string, toUser(row)])),
      () => undefined,
    );
  }

  async getUser(id: string): Promise<User | undefined> {
    return await this.read(id);
  }

  async putUser(user: User): Promise<void> {
    await this.db.execute([
      {
        sql: sql.put,
        params: [
          user.id,
          user.country,
          user.birthDate,
          user.displayName,
          user.status,
          user.statusReason,
          BigInt(user.createdAt),
          BigInt(user.updatedAt),
        ],
      },
    ]);
  }

  async setStatus(
    id: string,
    status: UserStatus,
    reason: string | null,
    at: number,
    effects: readonly StoreEffect[] = [],
  ): Promise<void> {
    await this.db.execute([
      { sql: sql.setStatus, params: [status, reason, BigInt(at), id] },
      ...effects.flatMap((effect) => statementsFor(effect, this.db.dialect)),
    ]);
  }
}

function toUser(row: Row): User {
  return {
    id: row.id as string,
    country: row.country as string,
    birthDate: row.birth_date as string,
    birthDateVerified: Number(row.birth_date_verified) === 1,
    displayName: row.display_name as string,
    status: row.status as UserStatus,
    statusReason: (row.status_reason as string | null) ?? null,
    createdAt: Number(row.created_at),
    updatedAt: Number(row.updated_at),
  };
}
