import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { GiftstreamError, invariant } from "../../errors.js";
import { copyAccount } from "../../ledger/apply.js";
import type {
  IdempotencyRecord,
  LedgerStore,
  LedgerWriteTx,
  ReconcileRow,
  StoredTransfer,
  TransferRow,
} from "../../ledger/store.js";
import {
  type AccountState,
  type JsonObject,
  type PendingState,
  PendingStatus,
  type PendingStatusCode,
  TransferType,
  type TransferTypeCode,
  type TransferTypeName,
} from "../../ledger/types.js";
import { type MigrationReport, migrate } from "./migrate.js";

export interface SqliteStoreOptions {
  /** A file path, or ":memory:" (tests only: a memory database is not durable). */
  path: string;
  /** Most accounts the writer keeps cached; the cache is dropped whole when it would pass this. */
  accountCacheMax?: number;
}

type Row = Record<string, unknown>;

/** An account row as the writer caches it: the ledger's state, its rowid and its history head. */
interface StoredAccount {
  state: AccountState;
  rowid: bigint;
  lastTransferId: bigint | null;
}

/**
 * The embedded store: better-sqlite3 in WAL mode with synchronous=FULL, so a COMMIT returns only
 * once the batch is on disk.
 *
 * Two connections: the writer, used only inside `write`, and a reader, so that reads never see
 * a batch that is not committed yet. One process owns a database file; the writer caches account
 * rows because nothing else can change them.
 */
export class SqliteStore implements LedgerStore {
  private readonly writer: Database.Database;
  private readonly reader: Database.Database;
  private readonly accountCache = new Map<string, StoredAccount>();
  private readonly accountCacheMax: number;
  private readonly tx: SqliteWriteTx;
  private readonly statements: ReturnType<typeof prepareReads>;
  private writing: Promise<unknown> = Promise.resolve();
  /** What opening the database migrated. */
  readonly migration: MigrationReport;

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
    this.accountCacheMax = options.accountCacheMax ?? 1_000_000;
    this.writer = openDatabase(options.path);
    this.migration = migrate(this.writer);
    // A memory database is private to its connection, so the reader must share the writer there.
    this.reader = options.path === ":memory:" ? this.writer : openDatabase(options.path);
    this.tx = new SqliteWriteTx(this.writer, this.accountCache, this.accountCacheMax);
    this.statements = prepareReads(this.reader);
  }

  /** The writer connection, for the CLI's integrity check and for tests. */
  get database(): Database.Database {
    return this.writer;
  }

  write<T>(work: (tx: LedgerWriteTx) => Promise<T>): Promise<T> {
    // better-sqlite3 is synchronous but `work` is async: chain writes so two never interleave.
    const run = this.writing.then(async () => {
      this.writer.exec("BEGIN IMMEDIATE");
      try {
        const result = await work(this.tx);
        this.tx.flushHeads();
        this.writer.exec("COMMIT");
        return result;
      } catch (error) {
        if (this.writer.inTransaction) this.writer.exec("ROLLBACK");
        // The cache may hold the failed batch's totals; start again from the disk.
        this.accountCache.clear();
        throw error;
      } finally {
        this.tx.reset();
      }
    });
    this.writing = run.catch(() => undefined);
    return run;
  }

  async getAccounts(ids: readonly string[]): Promise<Map<string, AccountState>> {
    const found = new Map<string, AccountState>();
    for (const id of ids) {
      const row = this.statements.account.get(id) as Row | undefined;
      if (row) found.set(id, toAccount(row));
    }
    return found;
  }

  async getTransfers(ids: readonly bigint[]): Promise<StoredTransfer[]> {
    const found: StoredTransfer[] = [];
    for (const id of ids) {
      const row = this.statements.transfer.get(id) as Row | undefined;
      if (row) found.push(toTransfer(row));
    }
    return found;
  }

  async listAccountTransfers(
    accountId: string,
    beforeId: bigint | null,
    limit: number,
  ): Promise<StoredTransfer[]> {
    let next: bigint | null;
    if (beforeId === null) {
      const account = this.statements.account.get(accountId) as Row | undefined;
      next = (account?.last_transfer_id as bigint | null | undefined) ?? null;
    } else {
      const from = this.statements.transfer.get(beforeId) as Row | undefined;
      if (!from || (from.debit_account_id !== accountId && from.credit_account_id !== accountId)) {
        throw new GiftstreamError("invalid_request", "cursor does not belong to this account");
      }
      next = previousOf(from, accountId);
    }
    // Walk the account's chain newest first; every step is a primary-key lookup.
    const page: StoredTransfer[] = [];
    while (next !== null && page.length < limit) {
      const row = this.statements.transfer.get(next) as Row;
      page.push(toTransfer(row));
      next = previousOf(row, accountId);
    }
    return page;
  }

  async listExpiredPending(now: number, limit: number): Promise<bigint[]> {
    const rows = this.statements.expiredHolds.all(BigInt(now), BigInt(limit)) as Row[];
    return rows.map((row) => row.transfer_id as bigint);
  }

  async purgeIdempotency(before: number, limit: number): Promise<number> {
    return this.write(async () => {
      const info = this.writer
        .prepare(
          "DELETE FROM idempotency WHERE key IN (SELECT key FROM idempotency WHERE created_at < ? ORDER BY created_at LIMIT ?)",
        )
        .run(BigInt(before), BigInt(limit));
      return Number(info.changes);
    });
  }

  async *reconcileRows(): AsyncIterable<ReconcileRow> {
    for (const row of this.statements.reconcile.iterate() as Iterable<Row>) {
      yield {
        account: toAccount(row),
        fromEntries: {
          debitsPosted: row.e_debits_posted as bigint,
          creditsPosted: row.e_credits_posted as bigint,
          debitsPending: row.e_debits_pending as bigint,
          creditsPending: row.e_credits_pending as bigint,
        },
      };
    }
  }

  /** SQLite's own structural check of the file: "ok" or the list of problems it found. */
  integrityCheck(): string[] {
    const rows = this.reader.pragma("integrity_check") as { integrity_check: string }[];
    return rows.map((row) => row.integrity_check);
  }

  async close(): Promise<void> {
    await this.writing;
    if (this.reader !== this.writer) this.reader.close();
    this.writer.close();
  }
}

function openDatabase(path: string): Database.Database {
  const db = new Database(path);
  db.defaultSafeIntegers(true);
  db.pragma("journal_mode = WAL");
  // FULL: a committed batch survives power loss, not only a process crash.
  db.pragma("synchronous = FULL");
  db.pragma("busy_timeout = 5000");
  db.pragma(`cache_size = -${process.env.GS_CACHE_KB ?? 65536}`);
  db.pragma(`wal_autocheckpoint = ${process.env.GS_CKPT ?? 1000}`);
  return db;
}

function prepareReads(db: Database.Database) {
  return {
    account: db.prepare("SELECT * FROM accounts WHERE id = ?"),
    transfer: db.prepare("SELECT * FROM transfers WHERE id = ?"),
    expiredHolds: db.prepare(
      "SELECT transfer_id FROM holds WHERE expires_at IS NOT NULL AND expires_at <= ? ORDER BY expires_at, transfer_id LIMIT ?",
    ),
    reconcile: db.prepare(
      `WITH
         dp AS (SELECT debit_account_id AS id, SUM(amount) AS s FROM transfers WHERE type IN (${TransferType.posted}, ${TransferType.post_pending}) GROUP BY 1),
         cp AS (SELECT credit_account_id AS id, SUM(amount) AS s FROM transfers WHERE type IN (${TransferType.posted}, ${TransferType.post_pending}) GROUP BY 1),
         dh AS (SELECT debit_account_id AS id, SUM(amount) AS s FROM holds GROUP BY 1),
         ch AS (SELECT credit_account_id AS id, SUM(amount) AS s FROM holds GROUP BY 1)
       SELECT a.*,
         COALESCE(dp.s, 0) AS e_debits_posted, COALESCE(cp.s, 0) AS e_credits_posted,
         COALESCE(dh.s, 0) AS e_debits_pending, COALESCE(ch.s, 0) AS e_credits_pending
       FROM accounts a
       LEFT JOIN dp ON dp.id = a.id LEFT JOIN cp ON cp.id = a.id
       LEFT JOIN dh ON dh.id = a.id LEFT JOIN ch ON ch.id = a.id
       ORDER BY a.id`,
    ),
  };
}

const insertTransferSql = `INSERT INTO transfers (id, type, debit_account_id, credit_account_id, amount, kind,
  pending_id, expires_at, metadata, created_at, debit_prev_id, credit_prev_id) VALUES`;
const transferValues = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
/** Rows per multi-row INSERT; 64 × 12 parameters stays far under SQLite's limit of 32,766. */
const insertChunkRows = 64;

const upsertBalanceSql = `INSERT INTO accounts (rowid, id, unit, flags, debits_posted, credits_posted,
  debits_pending, credits_pending, created_at, last_transfer_id) VALUES`;
const balanceValues = "(?, '', '', 0, ?, ?, ?, ?, 0, ?)";
const upsertBalanceConflict = `ON CONFLICT (rowid) DO UPDATE SET debits_posted = excluded.debits_posted,
  credits_posted = excluded.credits_posted, debits_pending = excluded.debits_pending,
  credits_pending = excluded.credits_pending, last_transfer_id = excluded.last_transfer_id`;
/** Accounts per multi-row balance upsert. */
const updateChunkRows = 64;

/** The writer's side of a transaction. Every method runs inside `SqliteStore.write`. */
class SqliteWriteTx implements LedgerWriteTx {
  private readonly s;
  /** Head of each history chain this transaction has extended, by account id. */
  private readonly heads = new Map<string, bigint>();
  /** Accounts whose row already carries the head above. */
  private readonly headsWritten = new Set<string>();

  constructor(
    db: Database.Database,
    private readonly cache: Map<string, StoredAccount>,
    private readonly cacheMax: number,
  ) {
    this.s = {
      account: db.prepare("SELECT rowid AS row_id, * FROM accounts WHERE id = ?"),
      hold: db.prepare("SELECT * FROM holds WHERE transfer_id = ?"),
      closedHold: db.prepare(
        `SELECT p.id, p.debit_account_id, p.credit_account_id, p.amount, p.expires_at, c.type AS closed_by
         FROM transfers p JOIN transfers c ON c.pending_id = p.id WHERE p.id = ? AND p.type = ${TransferType.pending}`,
      ),
      idempotency: db.prepare("SELECT * FROM idempotency WHERE key = ?"),
      insertAccount: db.prepare(
        `INSERT INTO accounts (id, unit, flags, debits_posted, credits_posted, debits_pending, credits_pending, created_at, last_transfer_id)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      maxTransferId: db.prepare("SELECT MAX(id) AS m FROM transfers"),
      insertTransfer: db.prepare(`${insertTransferSql} ${transferValues}`),
      insertTransfers: db.prepare(
        `${insertTransferSql} ${Array(insertChunkRows).fill(transferValues).join(", ")}`,
      ),
      updateBalance: db.prepare(`${upsertBalanceSql} ${balanceValues} ${upsertBalanceConflict}`),
      updateBalances: db.prepare(
        `${upsertBalanceSql} ${Array(updateChunkRows).fill(balanceValues).join(", ")} ${upsertBalanceConflict}`,
      ),
      insertHold: db.prepare(
        "INSERT INTO holds (transfer_id, debit_account_id, credit_account_id, amount, expires_at) VALUES (?, ?, ?, ?, ?)",
      ),
      deleteHold: db.prepare("DELETE FROM holds WHERE transfer_id = ?"),
      updateHead: db.prepare("UPDATE accounts SET last_transfer_id = ? WHERE rowid = ?"),
      insertIdempotency: db.prepare(
        "INSERT INTO idempotency (key, request_hash, result, created_at) VALUES (?, ?, ?, ?)",
      ),
    };
  }

  async loadAccounts(ids: readonly string[]): Promise<Map<string, AccountState>> {
    const found = new Map<string, AccountState>();
    for (const id of ids) {
      let account = this.cache.get(id);
      if (!account) {
        const row = this.s.account.get(id) as Row | undefined;
        if (!row) continue;
        account = toStoredAccount(row);
        this.remember(account);
      }
      // The ledger works on the cached object itself: it checks before it changes anything, undoes
      // a refused request itself, and a failed transaction drops the whole cache.
      found.set(id, account.state);
    }
    return found;
  }

  async loadPending(ids: readonly bigint[]): Promise<Map<bigint, PendingState>> {
    const found = new Map<bigint, PendingState>();
    for (const id of ids) {
      const open = this.s.hold.get(id) as Row | undefined;
      if (open) {
        found.set(id, toPending(open, id, PendingStatus.open));
        continue;
      }
      const closed = this.s.closedHold.get(id) as Row | undefined;
      if (closed) {
        const status =
          closed.closed_by === BigInt(TransferType.post_pending)
            ? PendingStatus.posted
            : PendingStatus.voided;
        found.set(id, toPending(closed, id, status));
      }
    }
    return found;
  }

  async loadIdempotency(keys: readonly string[]): Promise<Map<string, IdempotencyRecord>> {
    const found = new Map<string, IdempotencyRecord>();
    for (const key of keys) {
      const row = this.s.idempotency.get(key) as Row | undefined;
      if (row) {
        found.set(key, {
          key,
          requestHash: row.request_hash as string,
          result: row.result as string,
          createdAt: Number(row.created_at),
        });
      }
    }
    return found;
  }

  async insertAccounts(accounts: readonly AccountState[]): Promise<void> {
    for (const a of accounts) {
      if (this.heads.has(a.id)) this.headsWritten.add(a.id);
      const info = this.s.insertAccount.run(
        a.id,
        a.unit,
        BigInt(a.flags),
        a.debitsPosted,
        a.creditsPosted,
        a.debitsPending,
        a.creditsPending,
        BigInt(a.createdAt),
        this.heads.get(a.id) ?? null,
      );
      this.remember({
        state: copyAccount(a),
        rowid: BigInt(info.lastInsertRowid),
        lastTransferId: this.heads.get(a.id) ?? null,
      });
    }
  }

  async insertTransfers(rows: readonly TransferRow[]): Promise<bigint[]> {
    // This connection is the only writer, so it hands out ids itself: that lets each row link to
    // the previous transfer of its accounts before any of the chunk is written.
    let next = (this.s.maxTransferId.get() as { m: bigint | null }).m ?? 0n;
    const ids = new Array<bigint>(rows.length);
    const params: unknown[] = [];
    // A batch's rows share one timestamp; convert it once.
    let lastCreatedAt = Number.NaN;
    let createdAt = 0n;
    const rewritten = this.headsWritten.size > 0;
    // Rows go in chunks through one multi-row INSERT: binding is most of an INSERT's cost, and
    // one statement per chunk pays the per-call overhead once.
    let i = 0;
    while (i < rows.length) {
      const chunk = rows.length - i >= insertChunkRows ? insertChunkRows : 1;
      params.length = 0;
      for (let j = i; j < i + chunk; j++) {
        const r = rows[j]!;
        const id = ++next;
        if (r.createdAt !== lastCreatedAt) {
          lastCreatedAt = r.createdAt;
          createdAt = BigInt(r.createdAt);
        }
        ids[j] = id;
        params.push(
          id,
          typeCodes[r.type],
          r.debitAccountId,
          r.creditAccountId,
          r.amount,
          r.kind,
          r.pendingId,
          r.expiresAt === null ? null : BigInt(r.expiresAt),
          r.metadata === null ? null : JSON.stringify(r.metadata),
          createdAt,
          this.headOf(r.debitAccountId),
          this.headOf(r.creditAccountId),
        );
        this.heads.set(r.debitAccountId, id);
        this.heads.set(r.creditAccountId, id);
        if (rewritten) {
          this.headsWritten.delete(r.debitAccountId);
          this.headsWritten.delete(r.creditAccountId);
        }
      }
      (chunk === 1 ? this.s.insertTransfer : this.s.insertTransfers).run(params);
      i += chunk;
    }
    return ids;
  }

  /** Forgets the transaction's chain heads; called when the transaction ends either way. */
  reset(): void {
    this.heads.clear();
    this.headsWritten.clear();
  }

  /**
   * Writes the chain heads no balance update carried. The ledger updates every account a transfer
   * names, so on its path this writes nothing; it keeps the store correct for any other caller.
   */
  flushHeads(): void {
    for (const [id, head] of this.heads) {
      if (this.headsWritten.has(id)) continue;
      this.s.updateHead.run(head, this.rowidOf(id));
      const cached = this.cache.get(id);
      if (cached) cached.lastTransferId = head;
    }
  }

  private headOf(accountId: string): bigint | null {
    const head = this.heads.get(accountId);
    if (head !== undefined) return head;
    // Accounts created in this batch are inserted after their transfers; they start a new chain.
    const cached = this.cache.get(accountId);
    if (cached) return cached.lastTransferId;
    const row = this.s.account.get(accountId) as Row | undefined;
    return (row?.last_transfer_id as bigint | null | undefined) ?? null;
  }

  async updateBalances(accounts: readonly AccountState[]): Promise<void> {
    // Chunks through one multi-row upsert on rowid: cheaper per row than one UPDATE each. Every
    // row exists (the conflict target always hits), so the insert half never applies.
    const params: unknown[] = [];
    let i = 0;
    while (i < accounts.length) {
      const chunk = accounts.length - i >= updateChunkRows ? updateChunkRows : 1;
      params.length = 0;
      for (let j = i; j < i + chunk; j++) {
        const a = accounts[j]!;
        const head = this.headOf(a.id);
        if (this.heads.has(a.id)) this.headsWritten.add(a.id);
        const rowid = this.rowidOf(a.id);
        params.push(rowid, a.debitsPosted, a.creditsPosted, a.debitsPending, a.creditsPending, head);
        const cached = this.cache.get(a.id);
        if (cached) {
          cached.state = a;
          cached.lastTransferId = head;
        } else {
          this.remember({ state: a, rowid, lastTransferId: head });
        }
      }
      (chunk === 1 ? this.s.updateBalance : this.s.updateBalances).run(params);
      i += chunk;
    }
  }

  async insertPending(rows: readonly PendingState[]): Promise<void> {
    for (const h of rows) {
      this.s.insertHold.run(
        h.id,
        h.debitAccountId,
        h.creditAccountId,
        h.amount,
        h.expiresAt === null ? null : BigInt(h.expiresAt),
      );
    }
  }

  async closePending(updates: readonly { id: bigint; status: PendingStatusCode }[]): Promise<void> {
    for (const u of updates) this.s.deleteHold.run(u.id);
  }

  async insertIdempotency(rows: readonly IdempotencyRecord[]): Promise<void> {
    for (const r of rows) this.s.insertIdempotency.run(r.key, r.requestHash, r.result, BigInt(r.createdAt));
  }

  private rowidOf(accountId: string): bigint {
    const cached = this.cache.get(accountId);
    if (cached) return cached.rowid;
    const row = this.s.account.get(accountId) as Row | undefined;
    invariant(row !== undefined, `account ${accountId} exists before its balance is updated`);
    return row.row_id as bigint;
  }

  private remember(account: StoredAccount): void {
    const id = account.state.id;
    if (this.cache.size >= this.cacheMax && !this.cache.has(id)) this.cache.clear();
    this.cache.set(id, account);
  }
}

const typeCodes = Object.fromEntries(
  Object.entries(TransferType).map(([name, code]) => [name, BigInt(code)]),
) as Record<TransferTypeName, bigint>;

const typeNames = Object.fromEntries(
  Object.entries(TransferType).map(([name, code]) => [code, name]),
) as Record<TransferTypeCode, TransferTypeName>;

function previousOf(row: Row, accountId: string): bigint | null {
  return (
    ((row.debit_account_id === accountId ? row.debit_prev_id : row.credit_prev_id) as bigint | null) ?? null
  );
}

function toStoredAccount(row: Row): StoredAccount {
  return {
    state: toAccount(row),
    rowid: row.row_id as bigint,
    lastTransferId: (row.last_transfer_id as bigint | null) ?? null,
  };
}

function toAccount(row: Row): AccountState {
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

function toTransfer(row: Row): StoredTransfer {
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

function toPending(row: Row, id: bigint, status: PendingStatusCode): PendingState {
  return {
    id,
    debitAccountId: row.debit_account_id as string,
    creditAccountId: row.credit_account_id as string,
    amount: row.amount as bigint,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at),
    status,
  };
}
