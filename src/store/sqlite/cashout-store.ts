import type { AvailableLot } from "../../economy/cashouts/allocate.js";
import {
  type Cashout,
  type CashoutDocument,
  type CashoutStatus,
  type CashoutStore,
  cashoutFromDocument,
  type PageStart,
  type Quote,
  type QuoteDocument,
  quoteDocument,
  quoteFromDocument,
} from "../../economy/cashouts/cashout.js";
import type { SqliteStore } from "./sqlite-store.js";

type Row = Record<string, unknown>;

/** Cash-outs are written as ledger effects (effects.ts), in the transaction that moves their diamonds. */
export class SqliteCashoutStore implements CashoutStore {
  private readonly s;

  constructor(private readonly store: SqliteStore) {
    const db = store.database;
    const page = "(created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?";
    this.s = {
      byId: db.prepare("SELECT document FROM cashouts WHERE id = ?"),
      byUser: db.prepare(`SELECT document FROM cashouts WHERE user_id = ? AND ${page}`),
      byStatus: db.prepare(`SELECT document FROM cashouts WHERE status = ? AND ${page}`),
      all: db.prepare(`SELECT document FROM cashouts WHERE ${page}`),
      due: db.prepare(
        `SELECT document FROM cashouts WHERE status = ? AND updated_at >= ? AND (updated_at > ? OR (updated_at = ? AND id > ?))
         ORDER BY updated_at, id LIMIT ?`,
      ),
      lots: db.prepare(
        `SELECT id, diamonds - reversed_diamonds - cashed_diamonds AS left, value_usd, commission_rate
         FROM gifts WHERE recipient_id = ? AND status = 'matured'
           AND diamonds - reversed_diamonds - cashed_diamonds > 0
         ORDER BY created_at, rowid LIMIT ?`,
      ),
      quote: db.prepare("SELECT document FROM cashout_quotes WHERE id = ?"),
    };
  }

  async get(id: string): Promise<Cashout | undefined> {
    return read(this.s.byId.get(id) as Row | undefined);
  }

  async listByUser(userId: string, before: PageStart | null, limit: number): Promise<Cashout[]> {
    return this.page((...p) => this.s.byUser.all(userId, ...p), before, limit);
  }

  async listByStatus(
    status: CashoutStatus | null,
    before: PageStart | null,
    limit: number,
  ): Promise<Cashout[]> {
    return status === null
      ? this.page((...p) => this.s.all.all(...p), before, limit)
      : this.page((...p) => this.s.byStatus.all(status, ...p), before, limit);
  }

  async due(
    status: CashoutStatus,
    updatedAtMin: number,
    after: { updatedAt: number; id: string } | null,
    limit: number,
  ): Promise<Cashout[]> {
    const at = BigInt(after?.updatedAt ?? -1);
    const rows = this.s.due.all(
      status,
      BigInt(updatedAtMin),
      at,
      at,
      after?.id ?? "",
      BigInt(limit),
    ) as Row[];
    return rows.map((r) => read(r)!);
  }

  async availableLots(userId: string, limit: number): Promise<AvailableLot[]> {
    return (this.s.lots.all(userId, BigInt(limit)) as Row[]).map((row) => ({
      giftId: row.id as string,
      diamonds: row.left as bigint,
      valueUsd: row.value_usd as string,
      commissionRate: row.commission_rate as string,
    }));
  }

  async saveQuote(quote: Quote): Promise<void> {
    await this.store.execute([
      {
        sql: "INSERT INTO cashout_quotes (id, user_id, expires_at, document) VALUES (?, ?, ?, ?)",
        params: [quote.id, quote.userId, BigInt(quote.expiresAt), JSON.stringify(quoteDocument(quote))],
      },
      // Expired quotes are of no use to anyone: each new one sweeps a few away.
      {
        sql: "DELETE FROM cashout_quotes WHERE id IN (SELECT id FROM cashout_quotes WHERE expires_at < ? ORDER BY expires_at LIMIT 100)",
        params: [BigInt(quote.createdAt)],
      },
    ]);
  }

  async getQuote(id: string): Promise<Quote | undefined> {
    const row = this.s.quote.get(id) as Row | undefined;
    return row ? quoteFromDocument(JSON.parse(row.document as string) as QuoteDocument) : undefined;
  }

  private page(
    query: (...params: unknown[]) => unknown[],
    before: PageStart | null,
    limit: number,
  ): Cashout[] {
    const at = BigInt(before?.createdAt ?? Number.MAX_SAFE_INTEGER);
    return (query(at, at, before?.id ?? "\uffff", BigInt(limit)) as Row[]).map((r) => read(r)!);
  }
}

function read(row: Row | undefined): Cashout | undefined {
  return row ? cashoutFromDocument(JSON.parse(row.document as string) as CashoutDocument) : undefined;
}
