import type Database from "better-sqlite3";
import type { AccessStore, AuditEntry } from "../../access/access-store.js";
import type { ApiKey, Scope } from "../../access/api-keys.js";
import type { SqliteStore } from "./sqlite-store.js";

type Row = Record<string, unknown>;

/** Operator keys and the audit log in the embedded database; writes go through the writer thread. */
export class SqliteAccessStore implements AccessStore {
  private readonly db: Database.Database;
  private readonly s;

  constructor(private readonly store: SqliteStore) {
    this.db = store.database;
    this.s = {
      byHash: this.db.prepare("SELECT * FROM api_keys WHERE hash = ?"),
      byId: this.db.prepare("SELECT * FROM api_keys WHERE id = ?"),
      list: this.db.prepare("SELECT * FROM api_keys ORDER BY created_at, id"),
      activeCount: this.db.prepare("SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL"),
      audit: this.db.prepare("SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?"),
    };
  }

  async findKeyByHash(hash: string): Promise<ApiKey | undefined> {
    const row = this.s.byHash.get(hash) as Row | undefined;
    return row ? toKey(row) : undefined;
  }

  async getKey(id: string): Promise<ApiKey | undefined> {
    const row = this.s.byId.get(id) as Row | undefined;
    return row ? toKey(row) : undefined;
  }

  async listKeys(): Promise<ApiKey[]> {
    return (this.s.list.all() as Row[]).map(toKey);
  }

  async insertKey(key: ApiKey, hash: string): Promise<void> {
    await this.store.execute([
      {
        sql: "INSERT INTO api_keys (id, name, scopes, hash, prefix, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)",
        params: [key.id, key.name, JSON.stringify(key.scopes), hash, key.prefix, BigInt(key.createdAt)],
      },
    ]);
  }

  async revokeKey(id: string, at: number): Promise<"revoked" | "last_admin" | "not_found"> {
    const key = await this.getKey(id);
    if (!key || key.revokedAt !== null) return "not_found";
    // Checked and written in one statement so two concurrent revocations cannot both pass.
    const changed = await this.store.execute([
      {
        sql: `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL AND (
                scopes NOT LIKE '%"admin"%' OR
                (SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL AND scopes LIKE '%"admin"%') > 1)`,
        params: [BigInt(at), id],
      },
    ]);
    if (changed === 1) return "revoked";
    return (await this.getKey(id))?.revokedAt === null ? "last_admin" : "not_found";
  }

  async countActiveKeys(): Promise<number> {
    return Number((this.s.activeCount.get() as { n: bigint }).n);
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    await this.store.execute([
      {
        sql: "INSERT INTO audit_log (actor, action, target, before, after, at) VALUES (?, ?, ?, ?, ?, ?)",
        params: [
          entry.actor,
          entry.action,
          entry.target,
          entry.before === undefined ? null : JSON.stringify(entry.before),
          entry.after === undefined ? null : JSON.stringify(entry.after),
          BigInt(entry.at),
        ],
      },
    ]);
  }

  async listAudit(beforeId: bigint | null, limit: number): Promise<(AuditEntry & { id: bigint })[]> {
    const rows = this.s.audit.all(beforeId ?? 2n ** 63n - 1n, BigInt(limit)) as Row[];
    return rows.map((row) => ({
      id: row.id as bigint,
      actor: row.actor as string,
      action: row.action as string,
      target: row.target as string,
      before: row.before === null ? null : JSON.parse(row.before as string),
      after: row.after === null ? null : JSON.parse(row.after as string),
      at: Number(row.at),
    }));
  }
}

function toKey(row: Row): ApiKey {
  return {
    id: row.id as string,
    name: row.name as string,
    scopes: JSON.parse(row.scopes as string) as Scope[],
    prefix: row.prefix as string,
    createdAt: Number(row.created_at),
    revokedAt: row.revoked_at === null ? null : Number(row.revoked_at),
  };
}
