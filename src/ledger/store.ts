import type { JsonTexts } from "./json-texts.js";
import type { AccountState, PendingState, PendingStatusCode, StoreEffect, TransferRecord } from "./types.js";

/**
 * The ledger's storage port. Async so that a networked store (PostgreSQL) fits the same shape
 * as the embedded one; the ledger never sees SQL.
 *
 * The ledger computes every effect itself, then asks the store to persist it inside one
 * `write` transaction. A store must make `load*` inside a write transaction return state that
 * no other writer can change until the transaction ends (SQLite: one writer; PostgreSQL:
 * `SELECT … ORDER BY id FOR UPDATE`). A store that locks rows locks them in id order within each
 * table, and the ledger always loads holds before accounts, so lock waits cannot form a cycle.
 */
export interface LedgerStore {
  /** Runs `work` in one durable transaction: all of it commits, or none of it. */
  write<T>(work: (tx: LedgerWriteTx) => Promise<T>): Promise<T>;

  getAccounts(ids: readonly string[]): Promise<Map<string, AccountState>>;
  getTransfers(ids: readonly bigint[]): Promise<StoredTransfer[]>;
  /** Newest first, strictly older than `beforeId` when given. */
  listAccountTransfers(accountId: string, beforeId: bigint | null, limit: number): Promise<StoredTransfer[]>;
  /** The committed idempotency record of `key`, if any. */
  getIdempotency(key: string): Promise<IdempotencyRecord | undefined>;
  /** Open holds whose expiry is at or before `now`, oldest expiry first. */
  listExpiredPending(now: number, limit: number): Promise<bigint[]>;
  /** Idempotency records created before `before` are deleted, at most `limit` at a time. */
  purgeIdempotency(before: number, limit: number): Promise<number>;

  /** Every account with the totals recomputed from its entries, for the full check. */
  reconcileRows(): AsyncIterable<ReconcileRow>;

  close(): Promise<void>;
}

export interface LedgerWriteTx {
  /** Distinct ids, in any order. Missing accounts are absent from the map. */
  loadAccounts(ids: readonly string[]): Promise<Map<string, AccountState>>;
  loadPending(ids: readonly bigint[]): Promise<Map<bigint, PendingState>>;
  loadIdempotency(keys: readonly string[]): Promise<Map<string, IdempotencyRecord>>;

  insertAccounts(accounts: readonly AccountState[]): Promise<void>;
  /**
   * Returns the ids the store assigned, in the order of `rows`; ids only ever grow. Metadata is
   * written as `texts` gives it (the ledger passes the texts it checked).
   */
  insertTransfers(rows: readonly TransferRow[], texts?: JsonTexts): Promise<bigint[]>;
  /** Writes the four running totals of each account. */
  updateBalances(accounts: readonly AccountState[]): Promise<void>;
  insertPending(rows: readonly PendingState[]): Promise<void>;
  closePending(updates: readonly { id: bigint; status: PendingStatusCode }[]): Promise<void>;
  insertIdempotency(rows: readonly IdempotencyRecord[]): Promise<void>;
  /** Writes the records requests carried beside their transfers (see `LedgerRequest.effects`). */
  writeEffects(effects: readonly StoreEffect[], texts?: JsonTexts): Promise<void>;
}

/** A transfer as the store writes it; the store assigns the id. */
export type TransferRow = Omit<TransferRecord, "id" | "unit">;

/** A transfer as the store reads it back; the unit is its accounts'. */
export type StoredTransfer = Omit<TransferRecord, "unit">;

export interface IdempotencyRecord {
  key: string;
  requestHash: string;
  /**
   * The serialized first result (see ledger/serialize.ts): one line of JSON, as `JSON.stringify`
   * writes it. PostgreSQL binds a batch's results a line each (store/sql/json-lists.ts), and so
   * transfer metadata and effect texts, which the ledger also writes with `JSON.stringify`.
   */
  result: string;
  createdAt: number;
}

export interface ReconcileRow {
  account: AccountState;
  /** The same four totals, summed from the transfers table and the open holds. */
  fromEntries: {
    debitsPosted: bigint;
    creditsPosted: bigint;
    debitsPending: bigint;
    creditsPending: bigint;
  };
}
