import type { AuditEntry } from "../../access/access-store.js";
import type { EconomyStore, StoredEconomyVersion } from "../../economy/catalog.js";
import { auditParams, auditSql } from "./audit-sql.js";
import type { SqlDb } from "./sql-db.js";

const sql = {
  all: "SELECT * FROM economy_versions ORDER BY effective_at, created_at, id",
  insert: "INSERT INTO economy_versions (id, effective_at, document, created_at) VALUES (?, ?, ?, ?)",
};

export class SqlEconomyStore implements EconomyStore {
  constructor(private readonly db: SqlDb) {}

  async listVersions() {
    return (await this.db.all(sql.all)).map((row) => ({
      id: row.id as string,
      effectiveAt: Number(row.effective_at),
      document: JSON.parse(row.document as string) as unknown,
      createdAt: Number(row.created_at),
    }));
  }

  async insertVersion(version: StoredEconomyVersion, audit: AuditEntry) {
    await this.db.execute([
      {
        sql: sql.insert,
        params: [
          version.id,
          BigInt(version.effectiveAt),
          JSON.stringify(version.document),
          BigInt(version.createdAt),
        ],
      },
      { sql: auditSql.insert, params: auditParams(audit) },
    ]);
  }
}
