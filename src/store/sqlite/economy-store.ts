import type { EconomyStore } from "../../economy/catalog.js";
import type { EconomyDocument } from "../../economy/config/document.js";
import type { SqliteStore } from "./sqlite-store.js";

type Row = Record<string, unknown>;

export class SqliteEconomyStore implements EconomyStore {
  private readonly all;

  constructor(private readonly store: SqliteStore) {
    this.all = store.database.prepare("SELECT * FROM economy_versions ORDER BY effective_at, created_at, id");
  }

  async listVersions() {
    return (this.all.all() as Row[]).map((row) => ({
      id: row.id as string,
      effectiveAt: Number(row.effective_at),
      document: JSON.parse(row.document as string) as unknown,
      createdAt: Number(row.created_at),
    }));
  }

  async insertVersion(version: {
    id: string;
    effectiveAt: number;
    document: EconomyDocument;
    createdAt: number;
  }) {
    await this.store.execute([
      {
        sql: "INSERT INTO economy_versions (id, effective_at, document, created_at) VALUES (?, ?, ?, ?)",
        params: [
          version.id,
          BigInt(version.effectiveAt),
          JSON.stringify(version.document),
          BigInt(version.createdAt),
        ],
      },
    ]);
  }
}
