import type { AuditEntry } from "../../access/access-store.js";
import type { KycQueueCursor, KycQueueEntry, KycRecord } from "../../economy/kyc/kyc-record.js";
import type { KycStore } from "../../economy/kyc/kyc-store.js";
import { auditedChange, auditParams, auditSql } from "./audit-sql.js";
import type { Row, SqlDb } from "./sql-db.js";

const queue = `SELECT k.user_id, k.status, k.submitted_at, k.reviewed_at, k.rejection_reason,
    EXISTS (SELECT 1 FROM kyc_documents d WHERE d.user_id = k.user_id) AS document_uploaded
  FROM kyc k WHERE k.status = ?`;

const verify = `UPDATE kyc SET status = 'verified', rejection_reason = NULL, reviewed_at = ?, reviewed_by = ?, updated_at = ?
  WHERE user_id = ? AND status = 'pending' AND submission = ?
    AND EXISTS (SELECT 1 FROM kyc_documents AS d WHERE d.user_id = kyc.user_id AND d.id = ?)`;

const sql = {
  byUser: "SELECT * FROM kyc WHERE user_id = ?",
  page: `${queue} ORDER BY k.submitted_at, k.user_id LIMIT ?`,
  pageAfter: `${queue} AND (k.submitted_at, k.user_id) > (?, ?) ORDER BY k.submitted_at, k.user_id LIMIT ?`,
  submit: `INSERT INTO kyc (user_id, status, submission, rejection_reason, submitted_at, reviewed_at, reviewed_by, updated_at)
     VALUES (?, 'pending', ?, NULL, ?, NULL, NULL, ?)
     ON CONFLICT (user_id) DO UPDATE SET status = 'pending', submission = excluded.submission,
       rejection_reason = NULL, submitted_at = excluded.submitted_at, reviewed_at = NULL,
       reviewed_by = NULL, updated_at = excluded.updated_at
     WHERE kyc.status <> 'verified'`,
  verify,
  // changes(): only when the statement before (`verify`) verified this submission.
  verifyBirthDateSqlite:
    "UPDATE users SET birth_date = ?, birth_date_verified = 1, updated_at = ? WHERE id = ? AND changes() = 1",
  // PostgreSQL has no `changes()`: one statement, whose users update reads only the kyc row the
  // update before it returned, so it happens exactly when this submission was verified.
  // Its audit entry is written from the users row it updated: exactly when the review took place.
  verifyPostgres: `WITH verified AS (${verify} RETURNING user_id),
    born AS (UPDATE users SET birth_date = ?, birth_date_verified = 1, updated_at = ?
      WHERE id IN (SELECT user_id FROM verified) RETURNING id)
    ${auditSql.fromPostgres("born")}`,
  reject: `UPDATE kyc SET status = 'rejected', rejection_reason = ?, reviewed_at = ?, reviewed_by = ?, updated_at = ?
     WHERE user_id = ? AND status = 'pending' AND submission = ?`,
};

/**
 * Reviews are conditional writes (`status = 'pending' AND submission = ?`): a reviewer acts on
 * the submission they saw, and of two concurrent reviews, or a review and a resubmission, only
 * one takes effect, in any number of processes.
 */
export class SqlKycStore implements KycStore {
  constructor(private readonly db: SqlDb) {}

  async get(userId: string): Promise<KycRecord | undefined> {
    const row = await this.db.get(sql.byUser, [userId]);
    return row ? toRecord(row) : undefined;
  }

  async submit(userId: string, submission: Uint8Array, at: number): Promise<boolean> {
    const changed = await this.db.execute([
      { sql: sql.submit, params: [userId, submission, BigInt(at), BigInt(at)] },
    ]);
    return changed === 1;
  }

  async approve(
    userId: string,
    expected: Uint8Array,
    documentId: string,
    birthDate: string,
    actor: string,
    at: number,
    audit: AuditEntry,
  ): Promise<boolean> {
    const verifyParams = [BigInt(at), actor, BigInt(at), userId, expected, documentId];
    if (this.db.dialect === "postgres") {
      // One statement: it counts the audit entry, written when the users row was updated.
      const changed = await this.db.execute([
        { sql: sql.verifyPostgres, params: [...verifyParams, birthDate, BigInt(at), ...auditParams(audit)] },
      ]);
      return changed === 1;
    }
    const changed = await this.db.execute([
      { sql: sql.verify, params: verifyParams },
      { sql: sql.verifyBirthDateSqlite, params: [birthDate, BigInt(at), userId] },
      { sql: auditSql.ifChangedSqlite, params: auditParams(audit) },
    ]);
    return changed === 3;
  }

  async reject(
    userId: string,
    expected: Uint8Array,
    reason: string,
    actor: string,
    at: number,
    audit: AuditEntry,
  ): Promise<boolean> {
    const changed = await this.db.execute(
      auditedChange(
        this.db.dialect,
        { sql: sql.reject, params: [reason, BigInt(at), actor, BigInt(at), userId, expected] },
        audit,
      ),
    );
    return changed > 0;
  }

  async list(
    status: KycRecord["status"],
    after: KycQueueCursor | null,
    limit: number,
  ): Promise<KycQueueEntry[]> {
    const rows =
      after === null
        ? await this.db.all(sql.page, [status, BigInt(limit)])
        : await this.db.all(sql.pageAfter, [status, BigInt(after.submittedAt), after.userId, BigInt(limit)]);
    return rows.map((row) => ({
      userId: row.user_id as string,
      status: row.status as KycRecord["status"],
      submittedAt: Number(row.submitted_at),
      reviewedAt: row.reviewed_at === null ? null : Number(row.reviewed_at),
      rejectionReason: (row.rejection_reason as string | null) ?? null,
      // EXISTS is 0/1 on SQLite, a boolean on PostgreSQL: Number() reads both.
      documentUploaded: Number(row.document_uploaded) === 1,
    }));
  }
}

function toRecord(row: Row): KycRecord {
  return {
    userId: row.user_id as string,
    status: row.status as KycRecord["status"],
    submission: row.submission as Buffer,
    rejectionReason: (row.rejection_reason as string | null) ?? null,
    submittedAt: Number(row.submitted_at),
    reviewedAt: row.reviewed_at === null ? null : Number(row.reviewed_at),
    reviewedBy: (row.reviewed_by as string | null) ?? null,
    updatedAt: Number(row.updated_at),
  };
}
