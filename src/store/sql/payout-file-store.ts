import type {
  FilePageStart,
  LineChange,
  PayoutFile,
  PayoutFileLine,
  PayoutFileStore,
  PayoutLineStatus,
} from "../../providers/payouts/files/payout-file.js";
import type { Row, SqlDb } from "./sql-db.js";

/** Most ids one `IN (…)` lookup binds: well under SQLite's parameter limit (and PostgreSQL's). */
const lookupChunk = 500;

const fileColumns =
  "id, rail, format, filename, content_type, currency, line_count, total_minor, sha256, created_at";
const page = "(created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?";

const sql = {
  file: `SELECT ${fileColumns} FROM payout_files WHERE id = ?`,
  content: "SELECT content FROM payout_files WHERE id = ?",
  all: `SELECT ${fileColumns} FROM payout_files WHERE ${page}`,
  byRail: `SELECT ${fileColumns} FROM payout_files WHERE rail = ? AND ${page}`,
  lines: "SELECT * FROM payout_file_lines WHERE file_id = ? AND position > ? ORDER BY position LIMIT ?",
  line: "SELECT * FROM payout_file_lines WHERE cashout_id = ?",
  linesOf: (n: number) =>
    `SELECT * FROM payout_file_lines WHERE cashout_id IN (${Array.from({ length: n }, () => "?").join(", ")})`,
  since: `SELECT l.* FROM payout_file_lines l JOIN payout_files f ON f.id = l.file_id
     WHERE f.rail = ? AND f.created_at >= ? ORDER BY f.created_at, l.file_id, l.position`,
  count: "SELECT COUNT(*) AS n FROM payout_files WHERE rail = ? AND created_at >= ? AND created_at < ?",
  lastSerial: "SELECT COALESCE(MAX(serial), 0) AS n FROM payout_file_lines WHERE rail = ?",
  counts: "SELECT status, COUNT(*) AS n FROM payout_file_lines WHERE file_id = ? GROUP BY status",
  insertFile: `INSERT INTO payout_files (id, rail, format, filename, content_type, currency, line_count,
       total_minor, sha256, content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  insertLine: `INSERT INTO payout_file_lines (cashout_id, file_id, rail, position, serial, reference, user_id,
       currency, net_minor, status, reason, paid_at, returned_at, updated_at)
     VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  updateLine: `UPDATE payout_file_lines SET status = ?, reason = ?, paid_at = ?, returned_at = ?, updated_at = ?
     WHERE cashout_id = ? AND status = ?`,
};

/** Bank files and their lines; each write is one transaction. */
export class SqlPayoutFileStore implements PayoutFileStore {
  constructor(private readonly db: SqlDb) {}

  async insert(file: PayoutFile, sealedContent: Buffer, lines: readonly PayoutFileLine[]): Promise<void> {
    await this.db.execute([
      {
        sql: sql.insertFile,
        params: [
          file.id,
          file.rail,
          file.format,
          file.filename,
          file.contentType,
          file.currency,
          BigInt(file.lineCount),
          file.totalMinor,
          file.sha256,
          sealedContent,
          BigInt(file.createdAt),
        ],
      },
      ...lines.map((l) => ({
        sql: sql.insertLine,
        params: [
          l.cashoutId,
          l.fileId,
          l.rail,
          BigInt(l.position),
          BigInt(l.serial),
          l.reference,
          l.userId,
          l.currency,
          l.netMinor,
          l.status,
          l.reason,
          nullableBigint(l.paidAt),
          nullableBigint(l.returnedAt),
          BigInt(l.updatedAt),
        ],
      })),
    ]);
  }

  async get(id: string): Promise<PayoutFile | undefined> {
    const row = await this.db.get(sql.file, [id]);
    return row ? toFile(row) : undefined;
  }

  async sealedContent(id: string): Promise<Buffer | undefined> {
    const row = await this.db.get(sql.content, [id]);
    return row ? (row.content as Buffer) : undefined;
  }

  async list(rail: string | null, before: FilePageStart | null, limit: number): Promise<PayoutFile[]> {
    const at = BigInt(before?.createdAt ?? Number.MAX_SAFE_INTEGER);
    const cursor = [at, at, before?.id ?? "\uffff", BigInt(limit)];
    const rows =
      rail === null ? await this.db.all(sql.all, cursor) : await this.db.all(sql.byRail, [rail, ...cursor]);
    return rows.map(toFile);
  }

  async lines(fileId: string, afterPosition: number, limit: number): Promise<PayoutFileLine[]> {
    return (await this.db.all(sql.lines, [fileId, BigInt(afterPosition), BigInt(limit)])).map(toLine);
  }

  async line(cashoutId: string): Promise<PayoutFileLine | undefined> {
    const row = await this.db.get(sql.line, [cashoutId]);
    return row ? toLine(row) : undefined;
  }

  async linesOf(cashoutIds: readonly string[]): Promise<Map<string, PayoutFileLine>> {
    const found = new Map<string, PayoutFileLine>();
    for (let start = 0; start < cashoutIds.length; start += lookupChunk) {
      const chunk = cashoutIds.slice(start, start + lookupChunk);
      const rows = await this.db.all(sql.linesOf(chunk.length), chunk);
      for (const row of rows) found.set(row.cashout_id as string, toLine(row));
    }
    return found;
  }

  async updateLine(cashoutId: string, from: PayoutLineStatus, change: LineChange): Promise<boolean> {
    const changed = await this.db.execute([
      {
        sql: sql.updateLine,
        params: [
          change.status,
          change.reason,
          nullableBigint(change.paidAt),
          nullableBigint(change.returnedAt),
          BigInt(change.updatedAt),
          cashoutId,
          from,
        ],
      },
    ]);
    return changed === 1;
  }

  async linesSince(rail: string, sinceMs: number): Promise<PayoutFileLine[]> {
    return (await this.db.all(sql.since, [rail, BigInt(sinceMs)])).map(toLine);
  }

  async countCreated(rail: string, fromMs: number, toMs: number): Promise<number> {
    return Number((await this.db.get(sql.count, [rail, BigInt(fromMs), BigInt(toMs)]))!.n);
  }

  /**
   * Read, then numbered from by the caller (file-rail.ts) for lines inserted later. Files of a
   * rail are written by one job pass at a time; should two processes ever write one at once, the
   * unique `(rail, serial)` index fails the second file's insert whole, and its cash-outs go into
   * a file of the next pass.
   */
  async lastSerial(rail: string): Promise<number> {
    return Number((await this.db.get(sql.lastSerial, [rail]))!.n);
  }

  async lineCounts(fileId: string): Promise<Record<PayoutLineStatus, number>> {
    const counts: Record<PayoutLineStatus, number> = { pending: 0, paid: 0, returned: 0 };
    for (const row of await this.db.all(sql.counts, [fileId]))
      counts[row.status as PayoutLineStatus] = Number(row.n);
    return counts;
  }
}

function nullableBigint(value: number | null): bigint | null {
  return value === null ? null : BigInt(value);
}

function nullableNumber(value: unknown): number | null {
  return value === null || value === undefined ? null : Number(value);
}

function toFile(row: Row): PayoutFile {
  return {
    id: row.id as string,
    rail: row.rail as string,
    format: row.format as string,
    filename: row.filename as string,
    contentType: row.content_type as string,
    currency: row.currency as string,
    lineCount: Number(row.line_count),
    totalMinor: row.total_minor as bigint,
    sha256: row.sha256 as string,
    createdAt: Number(row.created_at),
  };
}

function toLine(row: Row): PayoutFileLine {
  return {
    cashoutId: row.cashout_id as string,
    fileId: row.file_id as string,
    rail: row.rail as string,
    position: Number(row.position),
    serial: Number(row.serial),
    reference: row.reference as string,
    userId: row.user_id as string,
    currency: row.currency as string,
    netMinor: row.net_minor as bigint,
    status: row.status as PayoutLineStatus,
    reason: (row.reason as string | null) ?? null,
    paidAt: nullableNumber(row.paid_at),
    returnedAt: nullableNumber(row.returned_at),
    updatedAt: Number(row.updated_at),
  };
}
