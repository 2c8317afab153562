import {
  type Activity,
  type ActivityStore,
  type HistoryEntry,
  type HistoryPosition,
  HistorySource,
} from "../../economy/history/activity.js";
import type { Row, SqlDb } from "./sql-db.js";

/**
 * The three sources of a user's history, each its own newest-first page, merged by one statement
 * (a single snapshot on either database). Each branch reads along an index in its order:
 * `activity_history` (user_id, at, id), `gifts_sender` and `gifts_recipient`
 * (user, created_at); gifts of one millisecond are then ordered by id.
 */
const text = "CAST(NULL AS TEXT)";
const bigint = "CAST(NULL AS BIGINT)";
/** A gift's entry for one side of it: whose column, the other side's, and the amount that side sees. */
function giftBranch(source: HistorySource, user: string, counterparty: string, amount: string) {
  return {
    source,
    select: `SELECT ${source}, created_at, ${bigint}, id, ${text}, ${counterparty}, context_type, context_id,
      ${amount}, economy_version
      FROM gifts WHERE ${user} = ? AND context_type IS NOT NULL`,
    at: "created_at",
    key: "id",
  };
}

const branches = [
  {
    source: HistorySource.activity,
    // Typed NULLs: PostgreSQL takes an untyped NULL in a subquery for text, which bigint rows
    // of another branch then cannot join.
    select: `SELECT ${HistorySource.activity} AS source, at, id AS row_id, ${text} AS gift_id, data,
      ${text} AS counterparty, ${text} AS context_type, ${text} AS context_id, ${bigint} AS amount,
      ${text} AS economy_version
      FROM activity WHERE user_id = ?`,
    at: "at",
    key: "id",
  },
  giftBranch(HistorySource.giftSent, "sender_id", "recipient_id", "coins"),
  giftBranch(HistorySource.giftReceived, "recipient_id", "sender_id", "diamonds"),
];

export class SqlActivityStore implements ActivityStore {
  constructor(private readonly db: SqlDb) {}

  async list(userId: string, before: HistoryPosition | null, limit: number): Promise<HistoryEntry[]> {
    const parts: string[] = [];
    const params: unknown[] = [];
    for (const branch of branches) {
      params.push(userId);
      let where = "";
      if (before !== null) {
        // Strictly after `before` in (at, source, key) descending: a source listed before the
        // cursor's in a millisecond keeps that millisecond, the cursor's own source resumes after
        // its key, and a source listed after it starts at the next millisecond down.
        if (branch.source < before.source) {
          where = ` AND ${branch.at} <= ?`;
          params.push(BigInt(before.at));
        } else if (branch.source > before.source) {
          where = ` AND ${branch.at} < ?`;
          params.push(BigInt(before.at));
        } else {
          where = ` AND (${branch.at} < ? OR (${branch.at} = ? AND ${branch.key} < ?))`;
          const key = branch.source === HistorySource.activity ? BigInt(before.key) : before.key;
          params.push(BigInt(before.at), BigInt(before.at), key);
        }
      }
      parts.push(
        `SELECT * FROM (${branch.select}${where} ORDER BY ${branch.at} DESC, ${branch.key} DESC LIMIT ?) AS s${branch.source}`,
      );
      params.push(BigInt(limit));
    }
    params.push(BigInt(limit));
    const rows = await this.db.all(
      `${parts.join(" UNION ALL ")} ORDER BY at DESC, source DESC, row_id DESC, gift_id DESC LIMIT ?`,
      params,
    );
    return rows.map((row) => entryOf(row, userId));
  }
}

function entryOf(row: Row, userId: string): HistoryEntry {
  const source = Number(row.source) as HistorySource;
  const at = Number(row.at);
  if (source === HistorySource.activity) {
    const id = String(row.row_id);
    return { ...(JSON.parse(row.data as string) as Activity), id, position: { at, source, key: id } };
  }
  const giftId = row.gift_id as string;
  const sent = source === HistorySource.giftSent;
  return {
    userId,
    kind: sent ? "gift_sent" : "gift_received",
    at,
    amounts: { [sent ? "coins" : "diamonds"]: String(row.amount) },
    counterparty: row.counterparty as string,
    context: { type: row.context_type as string, id: row.context_id as string },
    economyVersion: row.economy_version as string,
    ref: giftId,
    id: giftId,
    position: { at, source, key: giftId },
  };
}
