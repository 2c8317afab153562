import type { StoredTransfer } from "../ledger/store.js";
import {
  type AccountState,
  type JsonObject,
  TransferType,
  type TransferTypeCode,
  type TransferTypeName,
} from "../ledger/types.js";

/**
 * The ledger's rows as both stores read them back: the SQLite and PostgreSQL schemas name their
 * columns alike. Integers may arrive as bigint or number (a small column), so times and codes go
 * through `Number`, and amounts stay bigint.
 */
export type Row = Record<string, unknown>;

const typeNames = Object.fromEntries(
  Object.entries(TransferType).map(([name, code]) => [code, name]),
) as Record<TransferTypeCode, TransferTypeName>;

/** The previous transfer of `accountId`'s history chain, from a transfer row it is on. */
export function previousOf(row: Row, accountId: string): bigint | null {
  return (
    ((row.debit_account_id === accountId ? row.debit_prev_id : row.credit_prev_id) as bigint | null) ?? null
  );
}

export function accountFromRow(row: Row): AccountState {
  return {
    id: row.id as string,
    unit: row.unit as string,
    flags: Number(row.flags),
    debitsPosted: row.debits_posted as bigint,
    creditsPosted: row.credits_posted as bigint,
    debitsPending: row.debits_pending as bigint,
    creditsPending: row.credits_pending as bigint,
    createdAt: Number(row.created_at),
  };
}

export function transferFromRow(row: Row): StoredTransfer {
  return {
    id: row.id as bigint,
    type: typeNames[Number(row.type) as TransferTypeCode],
    debitAccountId: row.debit_account_id as string,
    creditAccountId: row.credit_account_id as string,
    amount: row.amount as bigint,
    kind: row.kind as string,
    pendingId: (row.pending_id as bigint | null) ?? null,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    metadata: row.metadata === null ? null : (JSON.parse(row.metadata as string) as JsonObject),
    createdAt: Number(row.created_at),
  };
}
