import type { Claim, HeldKey, ReplyStore } from "../../api/replays.js";
import type { SqlDb } from "./sql-db.js";

const sql = {
  insert: `INSERT INTO http_replies (key, fingerprint, status, reply, created_at, lease_until)
     VALUES (?, ?, NULL, NULL, ?, ?) ON CONFLICT (key) DO NOTHING`,
  byKey: "SELECT fingerprint, status, reply, lease_until FROM http_replies WHERE key = ?",
  // Compare and set: of two retries that both found the lease run out, one takes it over.
  takeOver: "UPDATE http_replies SET lease_until = ? WHERE key = ? AND status IS NULL AND lease_until = ?",
  finish:
    "UPDATE http_replies SET status = ?, reply = ? WHERE key = ? AND status IS NULL AND lease_until = ?",
  release: "DELETE FROM http_replies WHERE key = ? AND status IS NULL AND lease_until = ?",
  purge:
    "DELETE FROM http_replies WHERE key IN (SELECT key FROM http_replies WHERE created_at < ? ORDER BY created_at LIMIT ?)",
};

/**
 * `http_replies` on either store. A claim is named by its key and lease, so a holder whose lease
 * was taken over can no longer finish or release it.
 */
export class SqlReplyStore implements ReplyStore {
  constructor(private readonly db: SqlDb) {}

  async insert(claim: Claim, fingerprint: Uint8Array, createdAtMs: number): Promise<boolean> {
    const inserted = await this.db.execute([
      {
        sql: sql.insert,
        params: [claim.key, fingerprint, BigInt(createdAtMs), BigInt(claim.leaseUntilMs)],
      },
    ]);
    return inserted === 1;
  }

  async get(key: string): Promise<HeldKey | undefined> {
    const row = await this.db.get(sql.byKey, [key]);
    if (row === undefined) return undefined;
    return {
      fingerprint: row.fingerprint as Uint8Array,
      status: row.status === null ? null : Number(row.status),
      reply: (row.reply as Uint8Array | null) ?? null,
      leaseUntilMs: Number(row.lease_until),
    };
  }

  async takeOver(claim: Claim, heldUntilMs: number): Promise<boolean> {
    const taken = await this.db.execute([
      { sql: sql.takeOver, params: [BigInt(claim.leaseUntilMs), claim.key, BigInt(heldUntilMs)] },
    ]);
    return taken === 1;
  }

  async finish(claim: Claim, status: number, reply: Uint8Array): Promise<boolean> {
    const changed = await this.db.execute([
      { sql: sql.finish, params: [BigInt(status), reply, claim.key, BigInt(claim.leaseUntilMs)] },
    ]);
    return changed === 1;
  }

  async release(claim: Claim): Promise<void> {
    await this.db.execute([{ sql: sql.release, params: [claim.key, BigInt(claim.leaseUntilMs)] }]);
  }

  async purge(beforeMs: number, rowsMax: number): Promise<number> {
    return this.db.execute([{ sql: sql.purge, params: [BigInt(beforeMs), BigInt(rowsMax)] }]);
  }
}
