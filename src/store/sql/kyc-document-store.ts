import type { KycDocument, KycDocumentInfo, KycDocumentStore } from "../../economy/kyc/document-store.js";
import type { DocumentContentType } from "../../economy/kyc/document-type.js";
import type { Row, SqlDb } from "./sql-db.js";

const sql = {
  byUser: "SELECT * FROM kyc_documents WHERE user_id = ?",
  infoByUser:
    "SELECT id, user_id, content_type, size_bytes, uploaded_at FROM kyc_documents WHERE user_id = ?",
  put: `INSERT INTO kyc_documents (user_id, id, content_type, size_bytes, content, uploaded_at)
     VALUES (?, ?, ?, ?, ?, ?)
     ON CONFLICT (user_id) DO UPDATE SET id = excluded.id, content_type = excluded.content_type,
       size_bytes = excluded.size_bytes, content = excluded.content, uploaded_at = excluded.uploaded_at
     WHERE NOT EXISTS (SELECT 1 FROM kyc WHERE kyc.user_id = excluded.user_id AND kyc.status = 'verified')`,
};

/** Identity documents as sealed blobs in the database (BLOB, or bytea), one per user. */
export class SqlKycDocumentStore implements KycDocumentStore {
  constructor(private readonly db: SqlDb) {}

  async put(document: KycDocument): Promise<boolean> {
    const changed = await this.db.execute([
      {
        sql: sql.put,
        params: [
          document.userId,
          document.id,
          document.contentType,
          BigInt(document.sizeBytes),
          document.content,
          BigInt(document.uploadedAt),
        ],
      },
    ]);
    return changed === 1;
  }

  async get(userId: string): Promise<KycDocument | undefined> {
    const row = await this.db.get(sql.byUser, [userId]);
    return row ? { ...toInfo(row), content: row.content as Buffer } : undefined;
  }

  async info(userId: string): Promise<KycDocumentInfo | undefined> {
    const row = await this.db.get(sql.infoByUser, [userId]);
    return row ? toInfo(row) : undefined;
  }
}

function toInfo(row: Row): KycDocumentInfo {
  return {
    id: row.id as string,
    userId: row.user_id as string,
    contentType: row.content_type as DocumentContentType,
    sizeBytes: Number(row.size_bytes),
    uploadedAt: Number(row.uploaded_at),
  };
}
