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
import type { Row, SqlDb } from "./sql-db.js";

const page = "(created_at < ? OR (created_at = ? AND id < ?)) ORDER BY created_at DESC, id DESC LIMIT ?";

const sql = {
  byId: "SELECT document FROM cashouts WHERE id = ?",
  byUser: `SELECT document FROM cashouts WHERE user_id = ? AND ${page}`,
  byStatus: `SELECT document FROM cashouts WHERE status = ? AND ${page}`,
  all: `SELECT document FROM cashouts WHERE ${page}`,
  due: `SELECT document FROM cashouts WHERE status = ? AND updated_at >= ? AND (updated_at > ? OR (updated_at = ? AND id > ?))
     ORDER BY updated_at, id LIMIT ?`,
  lots: `SELECT id, diamonds - reversed_diamonds - cashed_diamonds AS remaining, value_usd, commission_rate
     FROM gifts WHERE recipient_id = ? AND status = 'matured'
       AND diamonds - reversed_diamonds - cashed_diamonds > 0
     ORDER BY created_at, rowid LIMIT ?`,
  quote: "SELECT document FROM cashout_quotes WHERE id = ?",
  insertQuote: "INSERT INTO cashout_quotes (id, user_id, expires_at, document) VALUES (?, ?, ?, ?)",
  sweepQuotes:
    "DELETE FROM cashout_quotes WHERE id IN (SELECT id FROM cashout_quotes WHERE expires_at < ? ORDER BY expires_at LIMIT 100)",
};

/** How long a quote is kept past its expiry before a later quote sweeps it away: a day. */
export const expiredQuotesKeptMs = 86_400_000;

/** Cash-outs are written as ledger effects (effects.ts), in the transaction that moves their diamonds. */
export class SqlCashoutStore implements CashoutStore {
  constructor(private readonly db: SqlDb) {}

  async get(id: string): Promise<Cashout | undefined> {
    return read(await this.db.get(sql.byId, [id]));
  }

  async listByUser(userId: string, before: PageStart | null, limit: number): Promise<Cashout[]> {
    return this.page(sql.byUser, [userId], before, limit);
  }

  async listByStatus(
    status: CashoutStatus | null,
    before: PageStart | null,
    limit: number,
  ): Promise<Cashout[]> {
    return status === null
      ? this.page(sql.all, [], before, limit)
      : this.page(sql.byStatus, [status], before, limit);
  }

  async due(
    status: CashoutStatus,
    updatedAtMin: number,
    after: { updatedAt: number; id: string } | null,
    limit: number,
  ): Promise<Cashout[]> {
    const at = BigInt(after?.updatedAt ?? -1);
    const rows = await this.db.all(sql.due, [
      status,
      BigInt(updatedAtMin),
      at,
      at,
      after?.id ?? "",
      BigInt(limit),
    ]);
    return rows.map((r) => read(r)!);
  }

  async availableLots(userId: string, limit: number): Promise<AvailableLot[]> {
    return (await this.db.all(sql.lots, [userId, BigInt(limit)])).map((row) => ({
      giftId: row.id as string,
      diamonds: row.remaining as bigint,
      valueUsd: row.value_usd as string,
      commissionRate: row.commission_rate as string,
    }));
  }

  async saveQuote(quote: Quote): Promise<void> {
    await this.db.execute([
      {
        sql: sql.insertQuote,
        params: [quote.id, quote.userId, BigInt(quote.expiresAt), JSON.stringify(quoteDocument(quote))],
      },
      // Each new quote sweeps a few long-expired ones away. An expired quote is kept a while, so
      // that a request naming it is told `quote_expired`, not `not_found`.
      { sql: sql.sweepQuotes, params: [BigInt(quote.createdAt - expiredQuotesKeptMs)] },
    ]);
  }

  async getQuote(id: string): Promise<Quote | undefined> {
    const row = await this.db.get(sql.quote, [id]);
    return row ? quoteFromDocument(JSON.parse(row.document as string) as QuoteDocument) : undefined;
  }

  private async page(
    text: string,
    leading: readonly unknown[],
    before: PageStart | null,
    limit: number,
  ): Promise<Cashout[]> {
    const at = BigInt(before?.createdAt ?? Number.MAX_SAFE_INTEGER);
    const rows = await this.db.all(text, [...leading, at, at, before?.id ?? "\uffff", BigInt(limit)]);
    return rows.map((r) => read(r)!);
  }
}

function read(row: Row | undefined): Cashout | undefined {
  return row ? cashoutFromDocument(JSON.parse(row.document as string) as CashoutDocument) : undefined;
}
