import type {
  FilePageStart,
  LineChange,
  PayoutFile,
  PayoutFileLine,
  PayoutFileStore,
  PayoutLineStatus,
} from "../../providers/payouts/files/payout-file.js";
import type { SqliteStore } from "./sqlite-store.js";

type Row = Record<string, unknown>;

/** Most ids one `IN (…)` lookup binds: well under SQLite's parameter limit. */
const lookupChunk = 500;

/** Bank files and their lines; writes go through the writer thread, each in one transaction. */
export class SqlitePayoutFileStore implements PayoutFileStore {
  private readonly s;

  constructor(private readonly store: SqliteStore) {
    const db = store.database;
    const fileColumns =
      "id, rail, format, filename, content_type, currency, line_count, total_minor, sha256, created_at";
    const page = "(created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?";
    this.s = {
      file: db.prepare(`SELECT ${fileColumns} FROM payout_files WHERE id = ?`),
      content: db.prepare("SELECT content FROM payout_files WHERE id = ?"),
      all: db.prepare(`SELECT ${fileColumns} FROM payout_files WHERE ${page}`),
      byRail: db.prepare(`SELECT ${fileColumns} FROM payout_files WHERE rail = ? AND ${page}`),
      lines: db.prepare(
        "SELECT * FROM payout_file_lines WHERE file_id = ? AND position > ? ORDER BY position LIMIT ?",
      ),
      line: db.prepare("SELECT * FROM payout_file_lines WHERE cashout_id = ?"),
      since: db.prepare(
        `SELECT l.* FROM payout_file_lines l JOIN payout_files f ON f.id = l.file_id
         WHERE f.rail = ? AND f.created_at >= ? ORDER BY f.created_at, l.file_id, l.position`,
      ),
      count: db.prepare(
        "SELECT COUNT(*) AS n FROM payout_files WHERE rail = ? AND created_at >= ? AND created_at < ?",
      ),
      lastSerial: db.prepare("SELECT COALESCE(MAX(serial), 0) AS n FROM payout_file_lines WHERE rail = ?"),
      counts: db.prepare(
        "SELECT status, COUNT(*) AS n FROM payout_file_lines WHERE file_id = ? GROUP BY status",
      ),
    };
  }

  async insert(file: PayoutFile, sealedContent: Buffer, lines: readonly PayoutFileLine[]): Promise<void> {
    await this.store.execute([
      {
        sql: `INSERT INTO payout_files (id, rail, format, filename, content_type, currency, line_count,
                total_minor, sha256, content, created_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
        sql: `INSERT INTO payout_file_lines (cashout_id, file_id, rail, position, serial, reference, user_id,
                currency, net_minor, status, reason, paid_at, returned_at, updated_at)
              VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
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
    const row = this.s.file.get(id) as Row | undefined;
    return row ? toFile(row) : undefined;
  }

  async sealedContent(id: string): Promise<Buffer | undefined> {
    const row = this.s.content.get(id) as Row | undefined;
    return row ? (row.content as Buffer) : undefined;
  }

  async list(rail: string | null, before: FilePageStart | null, limit: number): Promise<PayoutFile[]> {
    const at = BigInt(before?.createdAt ?? Number.MAX_SAFE_INTEGER);
    const page = [at, at, before?.id ?? "\uffff", BigInt(limit)];
    const rows = rail === null ? this.s.all.all(...page) : this.s.byRail.all(rail, ...page);
    return (rows as Row[]).map(toFile);
  }

  async lines(fileId: string, afterPosition: number, limit: number): Promise<PayoutFileLine[]> {
    return (this.s.lines.all(fileId, BigInt(afterPosition), BigInt(limit)) as Row[]).map(toLine);
  }

  async line(cashoutId: string): Promise<PayoutFileLine | undefined> {
    const row = this.s.line.get(cashoutId) as Row | undefined;
    return row ? toLine(row) : undefined;
  }

  async linesOf(cashoutIds: readonly string[]): Promise<Map<string, PayoutFileLine>> {
    const found = new Map<string, PayoutFileLine>();
    for (let start = 0; start < cashoutIds.length; start += lookupChunk) {
      const chunk = cashoutIds.slice(start, start + lookupChunk);
      const rows = this.store.database
        .prepare(`SELECT * FROM payout_file_lines WHERE cashout_id IN (${chunk.map(() => "?").join(", ")})`)
        .all(...chunk) as Row[];
      for (const row of rows) found.set(row.cashout_id as string, toLine(row));
    }
    return found;
  }

  async updateLine(cashoutId: string, from: PayoutLineStatus, change: LineChange): Promise<boolean> {
    const changed = await this.store.execute([
      {
        sql: `UPDATE payout_file_lines SET status = ?, reason = ?, paid_at = ?, returned_at = ?, updated_at = ?
              WHERE cashout_id = ? AND status = ?`,
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
    return (this.s.since.all(rail, BigInt(sinceMs)) as Row[]).map(toLine);
  }

  async countCreated(rail: string, fromMs: number, toMs: number): Promise<number> {
    return Number((this.s.count.get(rail, BigInt(fromMs), BigInt(toMs)) as { n: bigint }).n);
  }

  async lastSerial(rail: string): Promise<number> {
    return Number((this.s.lastSerial.get(rail) as { n: bigint }).n);
  }

  async lineCounts(fileId: string): Promise<Record<PayoutLineStatus, number>> {
    const counts: Record<PayoutLineStatus, number> = { pending: 0, paid: 0, returned: 0 };
    for (const row of this.s.counts.all(fileId) as Row[])
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
