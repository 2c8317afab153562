import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
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
} from "../../ledger/types.js";
import { migrate } from "./migrate.js";

export interface SqliteStoreOptions {
  /** A file path, or ":memory:" (tests only: a memory database is not durable). */
  path: string;
  /** Most accounts the writer keeps cached; the cache is dropped whole when it would pass this. */
  accountCacheMax?: number;
}

type Row = Record<string, unknown>;

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
  private readonly accountCache = new Map<string, AccountState>();
  private readonly accountCacheMax: number;
  private readonly tx: SqliteWriteTx;
  private readonly statements: ReturnType<typeof prepareReads>;
  private writing: Promise<unknown> = Promise.resolve();

  constructor(options: SqliteStoreOptions) {
    if (options.path !== ":memory:") mkdirSync(dirname(options.path), { recursive: true });
    this.accountCacheMax = options.accountCacheMax ?? 1_000_000;
    this.writer = openDatabase(options.path);
    migrate(this.writer);
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
        this.writer.exec("COMMIT");
        return result;
      } catch (error) {
        if (this.writer.inTransaction) this.writer.exec("ROLLBACK");
        // The cache may hold the failed batch's totals; start again from the disk.
        this.accountCache.clear();
        throw error;
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

  async listAccountTransfers(accountId: string, beforeId: bigint | null, limit: number): Promise<StoredTransfer[]> {
    const rows = this.statements.accountTransfers.all({
      account: accountId,
      before: beforeId ?? 2n ** 63n - 1n,
      limit: BigInt(limit),
    }) as Row[];
    return rows.map(toTransfer);
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
  return db;
}

function prepareReads(db: Database.Database) {
  return {
    account: db.prepare("SELECT * FROM accounts WHERE id = ?"),
    transfer: db.prepare("SELECT * FROM transfers WHERE id = ?"),
    accountTransfers: db.prepare(
      `SELECT * FROM (
         SELECT * FROM (SELECT * FROM transfers WHERE debit_account_id = @account AND id < @before ORDER BY id DESC LIMIT @limit)
         UNION ALL
         SELECT * FROM (SELECT * FROM transfers WHERE credit_account_id = @account AND id < @before ORDER BY id DESC LIMIT @limit)
       ) ORDER BY id DESC LIMIT @limit`,
    ),
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

/** The writer's side of a transaction. Every method runs inside `SqliteStore.write`. */
class SqliteWriteTx implements LedgerWriteTx {
  private readonly s;

  constructor(
    db: Database.Database,
    private readonly cache: Map<string, AccountState>,
    private readonly cacheMax: number,
  ) {
    this.s = {
      account: db.prepare("SELECT * FROM accounts WHERE id = ?"),
      hold: db.prepare("SELECT * FROM holds WHERE transfer_id = ?"),
      closedHold: db.prepare(
        `SELECT p.id, p.debit_account_id, p.credit_account_id, p.amount, p.expires_at, c.type AS closed_by
         FROM transfers p JOIN transfers c ON c.pending_id = p.id WHERE p.id = ? AND p.type = ${TransferType.pending}`,
      ),
      idempotency: db.prepare("SELECT * FROM idempotency WHERE key = ?"),
      insertAccount: db.prepare(
        `INSERT INTO accounts (id, unit, flags, debits_posted, credits_posted, debits_pending, credits_pending, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      insertTransfer: db.prepare(
        `INSERT INTO transfers (type, debit_account_id, credit_account_id, amount, kind, pending_id, expires_at, metadata, created_at)
         VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      ),
      updateBalance: db.prepare(
        "UPDATE accounts SET debits_posted = ?, credits_posted = ?, debits_pending = ?, credits_pending = ? WHERE id = ?",
      ),
      insertHold: db.prepare(
        "INSERT INTO holds (transfer_id, debit_account_id, credit_account_id, amount, expires_at) VALUES (?, ?, ?, ?, ?)",
      ),
      deleteHold: db.prepare("DELETE FROM holds WHERE transfer_id = ?"),
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
        account = toAccount(row);
        this.remember(account);
      }
      // The ledger mutates what it loads; the cache keeps the committed state until updateBalances.
      found.set(id, { ...account });
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
        const status = closed.closed_by === BigInt(TransferType.post_pending) ? PendingStatus.posted : PendingStatus.voided;
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
      this.s.insertAccount.run(
        a.id,
        a.unit,
        BigInt(a.flags),
        a.debitsPosted,
        a.creditsPosted,
        a.debitsPending,
        a.creditsPending,
        BigInt(a.createdAt),
      );
      this.remember({ ...a });
    }
  }

  async insertTransfers(rows: readonly TransferRow[]): Promise<bigint[]> {
    const ids = new Array<bigint>(rows.length);
    for (let i = 0; i < rows.length; i++) {
      const r = rows[i]!;
      const info = this.s.insertTransfer.run(
        BigInt(r.type),
        r.debitAccountId,
        r.creditAccountId,
        r.amount,
        r.kind,
        r.pendingId,
        r.expiresAt === null ? null : BigInt(r.expiresAt),
        r.metadata === null ? null : JSON.stringify(r.metadata),
        BigInt(r.createdAt),
      );
      ids[i] = BigInt(info.lastInsertRowid);
    }
    return ids;
  }

  async updateBalances(accounts: readonly AccountState[]): Promise<void> {
    for (const a of accounts) {
      this.s.updateBalance.run(a.debitsPosted, a.creditsPosted, a.debitsPending, a.creditsPending, a.id);
      this.remember({ ...a });
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

  private remember(account: AccountState): void {
    if (this.cache.size >= this.cacheMax && !this.cache.has(account.id)) this.cache.clear();
    this.cache.set(account.id, account);
  }
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
    type: Number(row.type) as TransferTypeCode,
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
