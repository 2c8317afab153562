import type { KycQueueCursor, KycQueueEntry, KycRecord } from "../../economy/kyc/kyc-record.js";
import type { KycStore } from "../../economy/kyc/kyc-store.js";
import type { SqliteStore } from "./sqlite-store.js";

type Row = Record<string, unknown>;

export class SqliteKycStore implements KycStore {
  private readonly byUser;
  private readonly page;
  private readonly pageAfter;

  constructor(private readonly store: SqliteStore) {
    const db = store.database;
    this.byUser = db.prepare("SELECT * FROM kyc WHERE user_id = ?");
    const queue = `SELECT k.user_id, k.status, k.submitted_at, k.reviewed_at, k.rejection_reason,
        EXISTS (SELECT 1 FROM kyc_documents d WHERE d.user_id = k.user_id) AS document_uploaded
      FROM kyc k WHERE k.status = ?`;
    this.page = db.prepare(`${queue} ORDER BY k.submitted_at, k.user_id LIMIT ?`);
    this.pageAfter = db.prepare(
      `${queue} AND (k.submitted_at, k.user_id) > (?, ?) ORDER BY k.submitted_at, k.user_id LIMIT ?`,
    );
  }

  async get(userId: string): Promise<KycRecord | undefined> {
    const row = this.byUser.get(userId) as Row | undefined;
    return row ? toRecord(row) : undefined;
  }

  async submit(userId: string, submission: Uint8Array, at: number): Promise<boolean> {
    const changed = await this.store.execute([
      {
        sql: `INSERT INTO kyc (user_id, status, submission, rejection_reason, submitted_at, reviewed_at, reviewed_by, updated_at)
              VALUES (?, 'pending', ?, NULL, ?, NULL, NULL, ?)
              ON CONFLICT (user_id) DO UPDATE SET status = 'pending', submission = excluded.submission,
                rejection_reason = NULL, submitted_at = excluded.submitted_at, reviewed_at = NULL,
                reviewed_by = NULL, updated_at = excluded.updated_at
              WHERE kyc.status <> 'verified'`,
        params: [userId, submission, BigInt(at), BigInt(at)],
      },
    ]);
    return changed === 1;
  }

  async approve(
    userId: string,
    expected: Uint8Array,
    birthDate: string,
    actor: string,
    at: number,
  ): Promise<boolean> {
    const changed = await this.store.execute([
      {
        sql: `UPDATE kyc SET status = 'verified', rejection_reason = NULL, reviewed_at = ?, reviewed_by = ?, updated_at = ?
              WHERE user_id = ? AND status = 'pending' AND submission = ?`,
        params: [BigInt(at), actor, BigInt(at), userId, expected],
      },
      {
        // changes(): only when the statement above verified this submission.
        sql: "UPDATE users SET birth_date = ?, birth_date_verified = 1, updated_at = ? WHERE id = ? AND changes() = 1",
        params: [birthDate, BigInt(at), userId],
      },
    ]);
    return changed === 2;
  }

  async reject(
    userId: string,
    expected: Uint8Array,
    reason: string,
    actor: string,
    at: number,
  ): Promise<boolean> {
    const changed = await this.store.execute([
      {
        sql: `UPDATE kyc SET status = 'rejected', rejection_reason = ?, reviewed_at = ?, reviewed_by = ?, updated_at = ?
              WHERE user_id = ? AND status = 'pending' AND submission = ?`,
        params: [reason, BigInt(at), actor, BigInt(at), userId, expected],
      },
    ]);
    return changed === 1;
  }

  async list(
    status: KycRecord["status"],
    after: KycQueueCursor | null,
    limit: number,
  ): Promise<KycQueueEntry[]> {
    const rows = (
      after === null
        ? this.page.all(status, BigInt(limit))
        : this.pageAfter.all(status, BigInt(after.submittedAt), after.userId, BigInt(limit))
    ) as Row[];
    return rows.map((row) => ({
      userId: row.user_id as string,
      status: row.status as KycRecord["status"],
      submittedAt: Number(row.submitted_at),
      reviewedAt: row.reviewed_at === null ? null : Number(row.reviewed_at),
      rejectionReason: (row.rejection_reason as string | null) ?? null,
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
