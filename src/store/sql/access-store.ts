import type { AccessStore, AuditEntry } from "../../access/access-store.js";
import type { ApiKey, Scope } from "../../access/api-keys.js";
import { int64Max } from "../../ledger/int64.js";
import { auditedChange, auditParams, auditSql } from "./audit-sql.js";
import type { Row, SqlDb } from "./sql-db.js";

const sql = {
  byHash: "SELECT * FROM api_keys WHERE hash = ?",
  byId: "SELECT * FROM api_keys WHERE id = ?",
  list: "SELECT * FROM api_keys ORDER BY created_at, id",
  activeCount: "SELECT COUNT(*) AS n FROM api_keys WHERE revoked_at IS NULL",
  audit: "SELECT * FROM audit_log WHERE id < ? ORDER BY id DESC LIMIT ?",
  insertKey:
    "INSERT INTO api_keys (id, name, scopes, hash, prefix, created_at, revoked_at) VALUES (?, ?, ?, ?, ?, ?, NULL)",
  // Scopes are a JSON array of lower-case names, so LIKE matches alike on SQLite (where it ignores
  // case) and on PostgreSQL (where it does not).
  revoke: `UPDATE api_keys SET revoked_at = ? WHERE id = ? AND revoked_at IS NULL AND (
             scopes NOT LIKE '%"admin"%' OR
             (SELECT COUNT(*) FROM api_keys WHERE revoked_at IS NULL AND scopes LIKE '%"admin"%') > 1)`,
};

/** Operator keys and the audit log; writes go through the store's control-plane writes. */
export class SqlAccessStore implements AccessStore {
  constructor(private readonly db: SqlDb) {}

  async findKeyByHash(hash: string): Promise<ApiKey | undefined> {
    const row = await this.db.get(sql.byHash, [hash]);
    return row ? toKey(row) : undefined;
  }

  async getKey(id: string): Promise<ApiKey | undefined> {
    const row = await this.db.get(sql.byId, [id]);
    return row ? toKey(row) : undefined;
  }

  async listKeys(): Promise<ApiKey[]> {
    return (await this.db.all(sql.list)).map(toKey);
  }

  async insertKey(key: ApiKey, hash: string, audit: AuditEntry): Promise<void> {
    await this.db.execute([
      {
        sql: sql.insertKey,
        params: [key.id, key.name, JSON.stringify(key.scopes), hash, key.prefix, BigInt(key.createdAt)],
      },
      { sql: auditSql.insert, params: auditParams(audit) },
    ]);
  }

  async revokeKey(
    id: string,
    at: number,
    auditOf: (before: ApiKey, after: ApiKey) => AuditEntry,
  ): Promise<"revoked" | "last_admin" | "not_found"> {
    const key = await this.getKey(id);
    if (!key || key.revokedAt !== null) return "not_found";
    // Checked and written in one statement so two concurrent revocations cannot both pass; the
    // audit entry follows in the same transaction, written only if this revocation took place.
    const changed = await this.db.execute(
      auditedChange(
        this.db.dialect,
        { sql: sql.revoke, params: [BigInt(at), id] },
        auditOf(key, { ...key, revokedAt: at }),
      ),
    );
    if (changed > 0) return "revoked";
    return (await this.getKey(id))?.revokedAt === null ? "last_admin" : "not_found";
  }

  async countActiveKeys(): Promise<number> {
    const row = await this.db.get(sql.activeCount);
    return Number(row!.n as bigint);
  }

  async appendAudit(entry: AuditEntry): Promise<void> {
    await this.db.execute([{ sql: auditSql.insert, params: auditParams(entry) }]);
  }

  async listAudit(beforeId: bigint | null, limit: number): Promise<(AuditEntry & { id: bigint })[]> {
    const rows = await this.db.all(sql.audit, [beforeId ?? int64Max, BigInt(limit)]);
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
