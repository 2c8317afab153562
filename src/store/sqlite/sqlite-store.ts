import { mkdirSync } from "node:fs";
import { dirname } from "node:path";
import Database from "better-sqlite3";
import { KeyedLock, type KeyedLocks } from "../../economy/cashouts/keyed-lock.js";
import { GiftstreamError, invariant } from "../../errors.js";
import { freshJson, type JsonTexts } from "../../ledger/json-texts.js";
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
  type PendingState,
  PendingStatus,
  type PendingStatusCode,
  type StoreEffect,
  TransferType,
} from "../../ledger/types.js";
import type { Coordination } from "../coordination.js";
import { accountFromRow, previousOf, type Row, transferFromRow } from "../ledger-rows.js";
import { statementsFor } from "../sql/effects.js";
import type { SqlDb } from "../sql/sql-db.js";
import { type MigrationReport, migrate } from "./migrate.js";
import { type BalanceColumns, type TransferColumns, type WriterOp, WriterThread } from "./writer-thread.js";

export interface SqliteStoreOptions {
  /** A file path, or ":memory:" (tests only: a memory database is not durable). */
  path: string;
  /** Most accounts the writer keeps cached; the cache is dropped whole when it would pass this. */
  accountCacheMax?: number;
}

/** An account row as the writer caches it: the ledger's state, its rowid and its history head. */
interface StoredAccount {
  state: AccountState;
  rowid: bigint;
  lastTransferId: bigint | null;
}

/**
 * The embedded store: better-sqlite3 in WAL mode with synchronous=FULL.
 *
 * Writes are pipelined onto a writer thread (writer-thread.ts). The main thread runs the ledger's
 * batch against this store's own view of the data (the account cache, plus the writes of batches
 * sent but not yet committed), turns the effects into prepared-statement calls, and hands them to
 * the writer; the batch's callers are answered when the writer has committed it. Meanwhile the
 * next batch is prepared on this thread: the fsync and page writes of one batch overlap with the
 * logic of the next, on the machine's other core.
 *
 * That view is sound because one process owns a database file and this store is its only writer.
 * If a batch fails, every batch prepared on top of it fails too, and the store rebuilds its view
 * from the committed file before taking another. Reads (`getAccounts`, history, …) go to the
 * main connection and see committed data only.
 */
/** Most distinct statements `all`/`get` keep prepared: the stores have a few hundred. */
const preparedMax = 2_000;

export class SqliteStore implements LedgerStore, SqlDb, Coordination {
  readonly dialect = "sqlite" as const;
  private readonly prepared = new Map<string, Database.Statement>();
  private readonly db: Database.Database;
  private writer: WriterThread;
  private readonly path: string;
  private readonly statements: ReturnType<typeof prepareReads>;
  private readonly view: WriteView;
  /** Serializes the preparing of batches; committing them overlaps. */
  private preparing: Promise<unknown> = Promise.resolve();
  private readonly inflight = new Set<Promise<unknown>>();
  private broken = false;
  /** What opening the database migrated. */
  readonly migration: MigrationReport;

  constructor(options: SqliteStoreOptions) {
    if (options.path === ":memory:" || options.path.startsWith("file::memory:")) {
      throw new Error(
        "the SQLite store needs a file: its writer thread opens the database on its own connection",
      );
    }
    mkdirSync(dirname(options.path), { recursive: true });
    this.db = openDatabase(options.path);
    this.migration = migrate(this.db);
    this.statements = prepareReads(this.db);
    this.path = options.path;
    this.writer = this.openWriter();
    this.view = new WriteView(this.db, options.accountCacheMax ?? 1_000_000);
  }

  /** The main connection, for integrity checks and for tests. Writes through it bypass the ledger. */
  get database(): Database.Database {
    return this.db;
  }

  private openWriter(): WriterThread {
    return new WriterThread({
      path: this.path,
      chunkRows,
      pragmas: connectionPragmas,
      statements: writeStatements,
    });
  }

  /** Whether writes can go through: false once the writer thread died and nothing wrote since. */
  get writable(): boolean {
    return !this.writer.dead;
  }

  write<T>(work: (tx: LedgerWriteTx) => Promise<T>): Promise<T> {
    const prepared = this.preparing.then(async () => {
      if (this.broken || this.writer.dead) await this.recover();
      const tx = new SqliteWriteTx(this.view, this.inflight.size > 0);
      let result: T;
      let seq: number;
      let ops: ReturnType<SqliteWriteTx["finish"]>;
      try {
        result = await work(tx);
        seq = this.view.nextSeq();
        ops = tx.finish(seq);
      } catch (error) {
        // The work may have changed cached accounts before it threw (or its write could not be
        // finished): rebuild before the next batch, which would otherwise write totals that
        // include transfers never written.
        this.broken = true;
        throw error;
      }
      const committed = this.writer.run(ops).then(
        () => this.view.release(seq),
        (error: unknown) => {
          this.broken = true;
          throw error;
        },
      );
      const settled = committed.catch(() => undefined);
      this.inflight.add(settled);
      void settled.then(() => this.inflight.delete(settled));
      return { result, committed };
    });
    this.preparing = prepared.catch(() => undefined);
    return prepared.then(async ({ result, committed }) => {
      await committed;
      return result;
    });
  }

  /** After a failure: let every batch in flight settle, then start again from the committed file. */
  private async recover(): Promise<void> {
    await Promise.all([...this.inflight]);
    if (this.writer.dead) {
      // A writer that died is gone for good (out of memory, a throw in its error path): start
      // another on the same file. The file says what committed, whichever way the lost batch went.
      await this.writer.close().catch(() => undefined);
      this.writer = this.openWriter();
    } else {
      await this.writer.reset();
    }
    this.view.rebuild();
    this.broken = false;
  }

  async getAccounts(ids: readonly string[]): Promise<Map<string, AccountState>> {
    const found = new Map<string, AccountState>();
    for (const id of ids) {
      const row = this.statements.account.get(id) as Row | undefined;
      if (row) found.set(id, accountFromRow(row));
    }
    return found;
  }

  async getTransfers(ids: readonly bigint[]): Promise<StoredTransfer[]> {
    const found: StoredTransfer[] = [];
    for (const id of ids) {
      const row = this.statements.transfer.get(id) as Row | undefined;
      if (row) found.push(transferFromRow(row));
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
      page.push(transferFromRow(row));
      next = previousOf(row, accountId);
    }
    return page;
  }

  async getIdempotency(key: string): Promise<IdempotencyRecord | undefined> {
    const row = this.statements.idempotency.get(key) as Row | undefined;
    if (!row) return undefined;
    return {
      key,
      requestHash: row.request_hash as string,
      result: row.result as string,
      createdAt: Number(row.created_at),
    };
  }

  async listExpiredPending(now: number, limit: number): Promise<bigint[]> {
    const rows = this.statements.expiredHolds.all(BigInt(now), BigInt(limit)) as Row[];
    return rows.map((row) => row.transfer_id as bigint);
  }

  /**
   * Control-plane writes (keys, users, economy versions, audit): run in order on the writer thread,
   * in one transaction, outside the ledger. Resolves with the rows changed once committed.
   */
  async execute(statements: readonly { sql: string; params: unknown[] }[]): Promise<number> {
    // A dead writer is replaced through the batch path, which waits for every batch in flight.
    if (this.writer.dead) await this.write(async () => undefined);
    return this.writer.control(statements.map(({ sql, params }) => ["exec", sql, params] as WriterOp));
  }

  /** One process: a lock in memory is a lock for everyone. */
  keyedLocks(_scope: string): KeyedLocks {
    return new KeyedLock();
  }

  /** One process: its jobs already run one pass at a time (startJobs). */
  exclusive<T>(_name: string, work: () => Promise<T>): Promise<T | undefined> {
    return work();
  }

  async all(sql: string, params: readonly unknown[] = []): Promise<Row[]> {
    return this.statement(sql).all(...params) as Row[];
  }

  async get(sql: string, params: readonly unknown[] = []): Promise<Row | undefined> {
    return this.statement(sql).get(...params) as Row | undefined;
  }

  /** Reads run on the main connection; each text is prepared once. */
  private statement(sql: string): Database.Statement {
    let statement = this.prepared.get(sql);
    if (statement === undefined) {
      statement = this.db.prepare(sql);
      if (this.prepared.size >= preparedMax) this.prepared.clear();
      this.prepared.set(sql, statement);
    }
    return statement;
  }

  async purgeIdempotency(before: number, limit: number): Promise<number> {
    // Only committed records are old enough to purge, so this needs none of the write view.
    return this.writer.control([
      ["exec", writeStatements.purgeIdempotency!, [BigInt(before), BigInt(limit)]],
    ]);
  }

  async *reconcileRows(): AsyncIterable<ReconcileRow> {
    for (const row of this.statements.reconcile.iterate() as Iterable<Row>) {
      yield {
        account: accountFromRow(row),
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
    const rows = this.db.pragma("integrity_check") as { integrity_check: string }[];
    return rows.map((row) => row.integrity_check);
  }

  async close(): Promise<void> {
    await this.preparing;
    await Promise.all([...this.inflight]);
    await this.writer.close();
    this.db.close();
  }
}

/**
 * The same settings on every connection. FULL: a committed batch survives power loss, not only a
 * crash. Checkpoints run on the committing connection, the writer thread: at SQLite's default of
 * every 1,000 WAL pages (4 MiB) a gift load checkpointed every few batches and rewrote the same hot
 * pages each time. Every 10,000 pages measured about 5 µs less of the writer's system time per gift
 * (bench/gifts-http.ts); the WAL file is cut back to 64 MiB after a checkpoint that leaves it larger.
 */
const connectionPragmas = [
  "journal_mode = WAL",
  "synchronous = FULL",
  "busy_timeout = 5000",
  "cache_size = -65536",
  "wal_autocheckpoint = 10000",
  "journal_size_limit = 67108864",
];

function openDatabase(path: string): Database.Database {
  const db = new Database(path);
  db.defaultSafeIntegers(true);
  for (const pragma of connectionPragmas) db.pragma(pragma);
  return db;
}

function prepareReads(db: Database.Database) {
  return {
    account: db.prepare("SELECT * FROM accounts WHERE id = ?"),
    transfer: db.prepare("SELECT * FROM transfers WHERE id = ?"),
    idempotency: db.prepare("SELECT * FROM idempotency WHERE key = ?"),
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

/** Rows per multi-row statement; 64 × 12 parameters stays far under SQLite's limit of 32,766. */
const chunkRows = 64;

const insertTransferSql = `INSERT INTO transfers (id, type, debit_account_id, credit_account_id, amount, kind,
  pending_id, expires_at, metadata, created_at, debit_prev_id, credit_prev_id) VALUES`;
const transferValues = "(?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)";
// Balances are written as an upsert on rowid: cheaper per row than one UPDATE each. Every row
// already exists, so the insert half never applies.
const upsertBalanceSql = `INSERT INTO accounts (rowid, id, unit, flags, debits_posted, credits_posted,
  debits_pending, credits_pending, created_at, last_transfer_id) VALUES`;
const balanceValues = "(?, '', '', 0, ?, ?, ?, ?, 0, ?)";
const upsertBalanceConflict = `ON CONFLICT (rowid) DO UPDATE SET debits_posted = excluded.debits_posted,
  credits_posted = excluded.credits_posted, debits_pending = excluded.debits_pending,
  credits_pending = excluded.credits_pending, last_transfer_id = excluded.last_transfer_id`;

/** Every statement the writer thread runs, by name. `…N` names take `chunkRows` rows at once. */
const writeStatements: Record<string, string> = {
  insertAccount: `INSERT INTO accounts (rowid, id, unit, flags, debits_posted, credits_posted, debits_pending,
    credits_pending, created_at, last_transfer_id) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?)`,
  insertTransfer: `${insertTransferSql} ${transferValues}`,
  insertTransferN: `${insertTransferSql} ${Array(chunkRows).fill(transferValues).join(", ")}`,
  upsertBalance: `${upsertBalanceSql} ${balanceValues} ${upsertBalanceConflict}`,
  upsertBalanceN: `${upsertBalanceSql} ${Array(chunkRows).fill(balanceValues).join(", ")} ${upsertBalanceConflict}`,
  updateHead: "UPDATE accounts SET last_transfer_id = ? WHERE rowid = ?",
  insertHold:
    "INSERT INTO holds (transfer_id, debit_account_id, credit_account_id, amount, expires_at) VALUES (?, ?, ?, ?, ?)",
  deleteHold: "DELETE FROM holds WHERE transfer_id = ?",
  insertIdempotency: "INSERT INTO idempotency (key, request_hash, result, created_at) VALUES (?, ?, ?, ?)",
  purgeIdempotency:
    // Keys of a purchase's own lifecycle (completion, chargebacks, fees) are kept for good: a dispute
    // may close months later and is undone from its record. There are a handful per purchase.
    "DELETE FROM idempotency WHERE key IN (SELECT key FROM idempotency WHERE created_at < ? AND key NOT LIKE 'purchase:%' ORDER BY created_at LIMIT ?)",
};

/**
 * What the main thread knows that the file may not show yet: the account cache (authoritative,
 * since this process is the only writer) and the holds and idempotency records of batches sent to
 * the writer but not yet committed, each tagged with its batch so its commit can retire it.
 */
class WriteView {
  readonly cache = new Map<string, StoredAccount>();
  readonly holds = new Map<bigint, { hold: PendingState; seq: number }>();
  readonly keys = new Map<string, { record: IdempotencyRecord; seq: number }>();
  nextTransferId = 0n;
  nextAccountRowid = 0n;
  private seq = 0;
  readonly s;

  constructor(
    readonly db: Database.Database,
    readonly cacheMax: number,
  ) {
    this.s = {
      account: db.prepare("SELECT rowid AS row_id, * FROM accounts WHERE id = ?"),
      hold: db.prepare("SELECT * FROM holds WHERE transfer_id = ?"),
      closedHold: db.prepare(
        `SELECT p.id, p.debit_account_id, p.credit_account_id, p.amount, p.expires_at, c.type AS closed_by
         FROM transfers p JOIN transfers c ON c.pending_id = p.id WHERE p.id = ? AND p.type = ${TransferType.pending}`,
      ),
      idempotency: db.prepare("SELECT * FROM idempotency WHERE key = ?"),
      maxTransferId: db.prepare("SELECT COALESCE(MAX(id), 0) AS m FROM transfers"),
      maxAccountRowid: db.prepare("SELECT COALESCE(MAX(rowid), 0) AS m FROM accounts"),
    };
    this.rebuild();
  }

  nextSeq(): number {
    return ++this.seq;
  }

  /** Forgets everything not on disk and reads the counters back from the committed file. */
  rebuild(): void {
    this.cache.clear();
    this.holds.clear();
    this.keys.clear();
    this.nextTransferId = (this.s.maxTransferId.get() as { m: bigint }).m;
    this.nextAccountRowid = (this.s.maxAccountRowid.get() as { m: bigint }).m;
  }

  /** A batch committed: its holds and keys are readable from the file now. */
  release(seq: number): void {
    for (const [id, entry] of this.holds) if (entry.seq === seq) this.holds.delete(id);
    for (const [key, entry] of this.keys) if (entry.seq === seq) this.keys.delete(key);
  }

  account(id: string, mayEvict: boolean): StoredAccount | undefined {
    const cached = this.cache.get(id);
    if (cached) return cached;
    const row = this.s.account.get(id) as Row | undefined;
    if (!row) return undefined;
    // Evicting is safe only when no batch is in flight: then the file holds everything the cache does.
    if (mayEvict && this.cache.size >= this.cacheMax) this.cache.clear();
    const stored = toStoredAccount(row);
    this.cache.set(id, stored);
    return stored;
  }
}

/** One batch's side of the store: reads from the view, and turns writes into statement calls. */
class SqliteWriteTx implements LedgerWriteTx {
  private readonly ops: WriterOp[] = [];
  /** Chain heads this batch moved, by account id. */
  private readonly heads = new Map<string, bigint>();
  /** Accounts whose written row already carries the head above. */
  private readonly headsWritten = new Set<string>();
  private readonly newRowids = new Map<string, bigint>();
  private readonly loadedHolds = new Map<bigint, PendingState>();
  private readonly holdWrites: PendingState[] = [];
  private readonly keyWrites: IdempotencyRecord[] = [];

  constructor(
    private readonly view: WriteView,
    private readonly othersInFlight: boolean,
  ) {}

  async loadAccounts(ids: readonly string[]): Promise<Map<string, AccountState>> {
    const found = new Map<string, AccountState>();
    for (const id of ids) {
      // The ledger works on the cached object itself: it checks before it changes anything, undoes
      // a refused request itself, and a failed batch makes the store rebuild its view.
      const account = this.view.account(id, !this.othersInFlight);
      if (account) found.set(id, account.state);
    }
    return found;
  }

  async loadPending(ids: readonly bigint[]): Promise<Map<bigint, PendingState>> {
    const found = new Map<bigint, PendingState>();
    for (const id of ids) {
      const hold = this.view.holds.get(id)?.hold ?? this.readHold(id);
      if (hold) {
        found.set(id, { ...hold });
        this.loadedHolds.set(id, hold);
      }
    }
    return found;
  }

  async loadIdempotency(keys: readonly string[]): Promise<Map<string, IdempotencyRecord>> {
    const found = new Map<string, IdempotencyRecord>();
    for (const key of keys) {
      const pending = this.view.keys.get(key)?.record;
      if (pending) {
        found.set(key, pending);
        continue;
      }
      const row = this.view.s.idempotency.get(key) as Row | undefined;
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
      const rowid = ++this.view.nextAccountRowid;
      const head = this.heads.get(a.id) ?? null;
      if (head !== null) this.headsWritten.add(a.id);
      this.ops.push([
        "insertAccount",
        [
          rowid,
          a.id,
          a.unit,
          BigInt(a.flags),
          a.debitsPosted,
          a.creditsPosted,
          a.debitsPending,
          a.creditsPending,
          BigInt(a.createdAt),
          head,
        ],
      ]);
      this.newRowids.set(a.id, rowid);
      this.view.cache.set(a.id, { state: a, rowid, lastTransferId: head });
    }
  }

  async insertTransfers(rows: readonly TransferRow[], texts: JsonTexts = freshJson): Promise<bigint[]> {
    const n = rows.length;
    const ids = new Array<bigint>(n);
    const c: TransferColumns = {
      n,
      id: new BigInt64Array(n),
      type: new Uint8Array(n),
      debit: new Array<string>(n),
      credit: new Array<string>(n),
      amount: new BigInt64Array(n),
      kind: new Array<string>(n),
      pendingId: new BigInt64Array(n),
      expiresAt: new Float64Array(n),
      metadata: new Array<string | null>(n),
      createdAt: new Float64Array(n),
      debitPrev: new BigInt64Array(n),
      creditPrev: new BigInt64Array(n),
    };
    const rewritten = this.headsWritten.size > 0;
    for (let j = 0; j < n; j++) {
      const r = rows[j]!;
      // This process is the only writer, so it hands out ids itself: each row can link to the
      // previous transfer of its accounts before any of it is written.
      const id = ++this.view.nextTransferId;
      ids[j] = id;
      c.id[j] = id;
      c.type[j] = TransferType[r.type];
      c.debit[j] = r.debitAccountId;
      c.credit[j] = r.creditAccountId;
      c.amount[j] = r.amount;
      c.kind[j] = r.kind;
      c.pendingId[j] = r.pendingId ?? 0n;
      c.expiresAt[j] = r.expiresAt ?? Number.NaN;
      c.metadata[j] = r.metadata === null ? null : texts.of(r.metadata);
      c.createdAt[j] = r.createdAt;
      c.debitPrev[j] = this.headOf(r.debitAccountId) ?? 0n;
      c.creditPrev[j] = this.headOf(r.creditAccountId) ?? 0n;
      this.heads.set(r.debitAccountId, id);
      this.heads.set(r.creditAccountId, id);
      if (rewritten) {
        this.headsWritten.delete(r.debitAccountId);
        this.headsWritten.delete(r.creditAccountId);
      }
    }
    this.ops.push(["transfers", c]);
    return ids;
  }

  async updateBalances(accounts: readonly AccountState[]): Promise<void> {
    const n = accounts.length;
    const c: BalanceColumns = {
      n,
      rowid: new BigInt64Array(n),
      debitsPosted: new BigInt64Array(n),
      creditsPosted: new BigInt64Array(n),
      debitsPending: new BigInt64Array(n),
      creditsPending: new BigInt64Array(n),
      head: new BigInt64Array(n),
    };
    for (let j = 0; j < n; j++) {
      const a = accounts[j]!;
      const stored = this.stored(a.id);
      const head = this.headOf(a.id);
      if (this.heads.has(a.id)) this.headsWritten.add(a.id);
      c.rowid[j] = stored.rowid;
      c.debitsPosted[j] = a.debitsPosted;
      c.creditsPosted[j] = a.creditsPosted;
      c.debitsPending[j] = a.debitsPending;
      c.creditsPending[j] = a.creditsPending;
      c.head[j] = head ?? 0n;
      stored.state = a;
      stored.lastTransferId = head;
    }
    this.ops.push(["balances", c]);
  }

  async insertPending(rows: readonly PendingState[]): Promise<void> {
    for (const h of rows) {
      this.ops.push([
        "insertHold",
        [
          h.id,
          h.debitAccountId,
          h.creditAccountId,
          h.amount,
          h.expiresAt === null ? null : BigInt(h.expiresAt),
        ],
      ]);
      this.holdWrites.push({ ...h });
    }
  }

  async closePending(updates: readonly { id: bigint; status: PendingStatusCode }[]): Promise<void> {
    for (const u of updates) {
      this.ops.push(["deleteHold", [u.id]]);
      const hold = this.loadedHolds.get(u.id) ?? this.holdWrites.find((h) => h.id === u.id);
      invariant(hold !== undefined, `hold ${u.id} is loaded before it is closed`);
      this.holdWrites.push({ ...hold, status: u.status });
    }
  }

  async writeEffects(effects: readonly StoreEffect[], texts: JsonTexts = freshJson): Promise<void> {
    for (const effect of effects) {
      for (const { sql, params } of statementsFor(effect, "sqlite", texts))
        this.ops.push(["exec", sql, params]);
    }
  }

  async insertIdempotency(rows: readonly IdempotencyRecord[]): Promise<void> {
    for (const r of rows) {
      this.ops.push(["insertIdempotency", [r.key, r.requestHash, r.result, BigInt(r.createdAt)]]);
      this.keyWrites.push(r);
    }
  }

  /**
   * Seals the batch: writes the chain heads no balance update carried (none on the ledger's own
   * path), publishes its holds and keys to the view until it commits, and returns its statements.
   */
  finish(seq: number): WriterOp[] {
    for (const [id, head] of this.heads) {
      if (this.headsWritten.has(id)) continue;
      const stored = this.stored(id);
      this.ops.push(["updateHead", [head, stored.rowid]]);
      stored.lastTransferId = head;
    }
    for (const hold of this.holdWrites) this.view.holds.set(hold.id, { hold, seq });
    for (const record of this.keyWrites) this.view.keys.set(record.key, { record, seq });
    return this.ops;
  }

  private readHold(id: bigint): PendingState | undefined {
    const open = this.view.s.hold.get(id) as Row | undefined;
    if (open) return toPending(open, id, PendingStatus.open);
    const closed = this.view.s.closedHold.get(id) as Row | undefined;
    if (!closed) return undefined;
    const status =
      closed.closed_by === BigInt(TransferType.post_pending) ? PendingStatus.posted : PendingStatus.voided;
    return toPending(closed, id, status);
  }

  private stored(accountId: string): StoredAccount {
    const stored = this.view.account(accountId, false);
    invariant(stored !== undefined, `account ${accountId} exists before its row is written`);
    return stored;
  }

  private headOf(accountId: string): bigint | null {
    const head = this.heads.get(accountId);
    if (head !== undefined) return head;
    // Accounts this batch creates are inserted after their transfers; they start a new chain.
    if (this.newRowids.has(accountId)) return null;
    return this.view.account(accountId, false)?.lastTransferId ?? null;
  }
}

function toStoredAccount(row: Row): StoredAccount {
  return {
    state: accountFromRow(row),
    rowid: row.row_id as bigint,
    lastTransferId: (row.last_transfer_id as bigint | null) ?? null,
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
