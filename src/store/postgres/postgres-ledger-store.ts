import type pg from "pg";
import type { KeyedLocks } from "../../economy/cashouts/keyed-lock.js";
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
import { jsonDocuments, jsonIntegers, jsonTexts, type PgElementType, pgArray } from "../sql/json-lists.js";
import type { SqlDb, Statement } from "../sql/sql-db.js";
import { AdvisoryKeyedLock, runExclusive } from "./advisory-lock.js";
import { postgresEffectStatements } from "./bulk-effects.js";
import { checkout } from "./checkout.js";
import { migratePostgres, type PostgresMigrationReport } from "./migrate.js";
import { numbered } from "./placeholders.js";
import { openPool, type PostgresPoolOptions } from "./pool.js";

export interface PostgresLedgerStoreOptions extends PostgresPoolOptions {
  /**
   * Connections kept for group-commit batches, apart from the reads' pool, so that a batch never
   * queues behind reads (set it to the ledger's pipelineBatchesMax and one more).
   */
  writeConnectionsMax?: number;
  /** Accounts read per round trip by `reconcileRows`. */
  reconcilePageRows?: number;
}

export const postgresLedgerStoreDefaults = {
  reconcilePageRows: 1000,
  writeConnectionsMax: 3,
} as const;

/**
 * Idempotency keys and account ids are locked by stripe: the key's hash picks one of
 * `lockStripes` advisory locks of its kind (the two-int form, whose first int names the kind, so
 * an idempotency key and an account id never share a lock). A batch so takes at most
 * 2 × lockStripes advisory locks however many keys and accounts it has: one lock per id
 * overflowed PostgreSQL's shared lock table (max_locks_per_transaction × max_connections, 6,400
 * by default) with large batches, failing every request in them. Two ids on one stripe only
 * wait for each other, which batches sharing a hot account do anyway.
 */
const lockStripes = 256;
const idempotencyLockKind = 1;
const accountLockKind = 2;
/**
 * Connections of each lock scope's pool: keys of that scope locked at once, per process, beyond
 * which lockers queue (they are rare: cash-out requests and transitions, payout files, seeding).
 * Jobs get their own pool, one connection per job pass running.
 */
const lockConnectionsMax = 4;
const jobConnectionsMax = 8;

/** The one advisory lock gift-writing transactions take (see `writeEffects`). */
const giftFeedLock = 0x6769_6674_6665_6564n; // "giftfeed"

/**
 * The ledger store on PostgreSQL, for several processes sharing one database.
 *
 * Each `write` is one transaction on its own pooled connection, at READ COMMITTED, committed with
 * `synchronous_commit=on`. Everything a batch decides on is read under a lock held to its commit,
 * taken in one global order so that no two batches, in this process or another, wait on each
 * other in a cycle:
 * 1. idempotency keys: transaction advisory locks on their stripes, in stripe order (a key not yet stored has no
 *    row to lock, and two processes must not both apply it);
 * 2. holds: `SELECT … ORDER BY transfer_id FOR UPDATE`;
 * 3. accounts: advisory locks on every id's stripe in stripe order, existing or not (so two processes
 *    cannot both create one account), then `SELECT … ORDER BY id FOR UPDATE`, which then never
 *    waits: a batch holding a row's lock holds its id's advisory lock too.
 * The ledger loads in exactly that order (see LedgerStore). A READ COMMITTED statement that
 * waited for a row lock reads the row as its holder committed it, so balances are never stale.
 *
 * Writes are set-based: each write method is one statement over `unnest` arrays, whatever the
 * batch size. Transfer ids come from a sequence, fetched in one round trip before the insert,
 * because each row links to the previous transfer of its accounts (the history chain) and
 * needs its own id and its neighbours' first. Ids are taken while the accounts are locked, so
 * along each account's chain they grow in commit order.
 */
export class PostgresLedgerStore implements LedgerStore, SqlDb, Coordination {
  readonly dialect = "postgres" as const;
  private closing: Promise<void> | undefined;

  /** One small pool per lock scope (and one for jobs): see `lockPool`. */
  private readonly locks = new Map<string, pg.Pool>();
  private writes: pg.Pool | undefined;
  /** Settles once the batch handed over last has done its reads and writes (see `write`). */
  private preparing: Promise<void> = Promise.resolve();

  private constructor(
    private readonly poolOptions: PostgresLedgerStoreOptions,
    /** The pool, for tests and for stores built beside this one. */
    readonly pool: pg.Pool,
    /** What opening the database migrated. */
    readonly migration: PostgresMigrationReport,
    private readonly reconcilePageRows: number,
  ) {}

  /** Connects, brings the schema up to date, and returns the store. */
  static async open(options: PostgresLedgerStoreOptions): Promise<PostgresLedgerStore> {
    const pool = openPool(options);
    try {
      const migration = await migratePostgres(pool);
      return new PostgresLedgerStore(
        options,
        pool,
        migration,
        options.reconcilePageRows ?? postgresLedgerStoreDefaults.reconcilePageRows,
      );
    } catch (error) {
      await pool.end().catch(() => undefined);
      throw error;
    }
  }

  async write<T>(work: (tx: LedgerWriteTx) => Promise<T>): Promise<T> {
    invariant(this.closing === undefined, "no write after close");
    // Batches in flight (ledger.pipelineBatchesMax) do their reads and writes one after another,
    // in the order the ledger handed them over, and overlap only their commits, as on SQLite.
    // Otherwise a later batch could lock a sender's account first and spend coins that an
    // earlier request of the same sender was refused for.
    const previous = this.preparing;
    let prepared!: () => void;
    this.preparing = new Promise<void>((resolve) => {
      prepared = resolve;
    });
    try {
      return await this.transaction(this.writePool(), async (client) => {
        await previous;
        try {
          const tx = new PostgresWriteTx(client);
          const result = await work(tx);
          await tx.finish();
          return result;
        } finally {
          prepared();
        }
      });
    } finally {
      // Opened only once the batch before has prepared, even when this one failed to connect.
      void previous.then(prepared);
    }
  }

  async getAccounts(ids: readonly string[]): Promise<Map<string, AccountState>> {
    const found = new Map<string, AccountState>();
    if (ids.length === 0) return found;
    const { rows } = await this.pool.query<Row>(sql.accountsById, [ids]);
    for (const row of rows) found.set(row.id as string, accountFromRow(row));
    return found;
  }

  async getTransfers(ids: readonly bigint[]): Promise<StoredTransfer[]> {
    if (ids.length === 0) return [];
    const { rows } = await this.pool.query<Row>(sql.transfersById, [ids]);
    const byId = new Map(rows.map((row) => [row.id as bigint, transferFromRow(row)]));
    // In the order asked for, like the SQLite store; ids with no transfer are left out.
    const found: StoredTransfer[] = [];
    for (const id of ids) {
      const transfer = byId.get(id);
      if (transfer) found.push(transfer);
    }
    return found;
  }

  async listAccountTransfers(
    accountId: string,
    beforeId: bigint | null,
    limit: number,
  ): Promise<StoredTransfer[]> {
    let start: bigint | null;
    if (beforeId === null) {
      const { rows } = await this.pool.query<Row>(sql.accountHead, [accountId]);
      start = (rows[0]?.last_transfer_id as bigint | null | undefined) ?? null;
    } else {
      const { rows } = await this.pool.query<Row>(sql.transfersById, [[beforeId]]);
      const from = rows[0];
      if (!from || (from.debit_account_id !== accountId && from.credit_account_id !== accountId)) {
        throw new GiftstreamError("invalid_request", "cursor does not belong to this account");
      }
      start = previousOf(from, accountId);
    }
    if (start === null || limit < 1) return [];
    // The whole page in one statement: a recursive walk down the chain, a primary-key lookup a step.
    const { rows } = await this.pool.query<Row>(sql.chainPage, [start, accountId, limit]);
    return rows.map(transferFromRow);
  }

  async getIdempotency(key: string): Promise<IdempotencyRecord | undefined> {
    const { rows } = await this.pool.query<Row>(sql.idempotencyByKey, [jsonTexts([key])]);
    return rows[0] ? toIdempotency(rows[0]) : undefined;
  }

  async listExpiredPending(now: number, limit: number): Promise<bigint[]> {
    const { rows } = await this.pool.query<Row>(sql.expiredHolds, [BigInt(now), limit]);
    return rows.map((row) => row.transfer_id as bigint);
  }

  async purgeIdempotency(before: number, limit: number): Promise<number> {
    const result = await this.pool.query(sql.purgeIdempotency, [BigInt(before), limit]);
    return result.rowCount ?? 0;
  }

  /**
   * One REPEATABLE READ snapshot for the whole walk, so that the check sees a single moment of a
   * ledger that may be taking writes; read through a cursor, a page at a time.
   */
  async *reconcileRows(): AsyncIterable<ReconcileRow> {
    const client = await checkout(this.pool);
    // Open until COMMIT or ROLLBACK: a caller that stops iterating early leaves it open.
    let open = false;
    let broken = false;
    try {
      await client.query("BEGIN ISOLATION LEVEL REPEATABLE READ READ ONLY");
      open = true;
      await client.query(`DECLARE reconcile_rows NO SCROLL CURSOR FOR ${sql.reconcile}`);
      for (;;) {
        const { rows } = await client.query<Row>(`FETCH ${this.reconcilePageRows} FROM reconcile_rows`);
        for (const row of rows) {
          yield {
            account: accountFromRow(row),
            fromEntries: {
              // SUM over bigint is numeric: an exact decimal string.
              debitsPosted: BigInt(row.e_debits_posted as string),
              creditsPosted: BigInt(row.e_credits_posted as string),
              debitsPending: BigInt(row.e_debits_pending as string),
              creditsPending: BigInt(row.e_credits_pending as string),
            },
          };
        }
        if (rows.length < this.reconcilePageRows) break;
      }
      await client.query("COMMIT");
      open = false;
    } finally {
      if (open) {
        await client.query("ROLLBACK").catch(() => {
          broken = true;
        });
      }
      client.release(broken);
    }
  }

  async all(text: string, params: readonly unknown[] = []): Promise<Row[]> {
    return (await this.pool.query<Row>(numbered(text), params as unknown[])).rows;
  }

  async get(text: string, params: readonly unknown[] = []): Promise<Row | undefined> {
    return (await this.all(text, params))[0];
  }

  async execute(statements: readonly Statement[]): Promise<number> {
    invariant(this.closing === undefined, "no write after close");
    return this.transaction(this.pool, async (client) => {
      let changed = 0;
      for (const statement of statements) {
        changed += (await client.query(numbered(statement.sql), statement.params)).rowCount ?? 0;
      }
      return changed;
    });
  }

  /** Runs `work` in one transaction on its own connection of `pool`. */
  async transaction<T>(pool: pg.Pool, work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    const client = await checkout(pool);
    // A connection whose ROLLBACK failed is in an unknown state: the pool must not hand it out again.
    let broken = false;
    try {
      await client.query("BEGIN");
      try {
        const result = await work(client);
        await client.query("COMMIT");
        return result;
      } catch (error) {
        await client.query("ROLLBACK").catch(() => {
          broken = true;
        });
        throw error;
      }
    } finally {
      client.release(broken);
    }
  }

  keyedLocks(scope: string): KeyedLocks {
    return new AdvisoryKeyedLock(this.lockPool(`scope:${scope}`), scope);
  }

  exclusive<T>(name: string, work: () => Promise<T>): Promise<T | undefined> {
    return runExclusive(this.lockPool("jobs"), name, work);
  }

  /**
   * Connections for group-commit batches only, so that a batch never queues behind reads.
   */
  private writePool(): pg.Pool {
    this.writes ??= openPool({
      ...this.poolOptions,
      connectionsMax: this.poolOptions.writeConnectionsMax ?? postgresLedgerStoreDefaults.writeConnectionsMax,
    });
    return this.writes;
  }

  /**
   * Connections that only hold advisory locks, apart from the main pool, so that lock holders
   * waiting for their work's queries can never take every connection that work needs. Each
   * scope has its own, because work under one lock may take another (a payout file's lock,
   * then its cash-outs'; a job pass, then a cash-out's): holders of the outer lock must not be
   * able to use up the connections the inner one needs.
   */
  private lockPool(name: string): pg.Pool {
    let pool = this.locks.get(name);
    if (pool === undefined) {
      const connectionsMax = name === "jobs" ? jobConnectionsMax : lockConnectionsMax;
      pool = openPool({ ...this.poolOptions, connectionsMax });
      this.locks.set(name, pool);
    }
    return pool;
  }

  close(): Promise<void> {
    this.closing ??= Promise.all([
      this.pool.end(),
      this.writes?.end(),
      ...[...this.locks.values()].map((pool) => pool.end()),
    ]).then(() => undefined);
    return this.closing;
  }
}

/** One batch's side of the store: every method is one statement on the batch's connection. */
class PostgresWriteTx implements LedgerWriteTx {
  /** The history head of each account this transaction locked or created; null: none yet. */
  private readonly heads = new Map<string, bigint | null>();
  /** Accounts whose head moved since this transaction last wrote their row. */
  private readonly headsDirty = new Set<string>();

  constructor(private readonly client: pg.PoolClient) {}

  async loadAccounts(ids: readonly string[]): Promise<Map<string, AccountState>> {
    const found = new Map<string, AccountState>();
    if (ids.length === 0) return found;
    // Every id first, by advisory lock on its stripe in stripe order, the ones with no row yet as well: a batch
    // that locked existing rows first and only then the missing ids could find one of them
    // created and locked by a batch that waits on it (found by three processes in
    // test/scale-out.test.ts). Holding an id's advisory lock is the right to lock its row, so
    // the row locks that follow never wait, and the advisory locks are taken in one global order.
    const idList = jsonTexts(ids);
    await this.client.query(sql.advisoryLocks, [idList, accountLockKind]);
    this.collect(found, (await this.client.query<Row>(sql.lockAccounts, [idList])).rows);
    for (const id of ids) if (!found.has(id)) this.heads.set(id, null);
    return found;
  }

  async loadPending(ids: readonly bigint[]): Promise<Map<bigint, PendingState>> {
    const found = new Map<bigint, PendingState>();
    if (ids.length === 0) return found;
    const { rows } = await this.client.query<Row>(sql.lockHolds, [ids]);
    for (const row of rows) found.set(row.transfer_id as bigint, toPending(row));
    return found;
  }

  async loadIdempotency(keys: readonly string[]): Promise<Map<string, IdempotencyRecord>> {
    const found = new Map<string, IdempotencyRecord>();
    if (keys.length === 0) return found;
    // Locked before they are read: a key another batch is applying right now has no row yet, and
    // this batch must wait for it rather than apply the same request a second time. The read is
    // its own statement so that its snapshot is taken after the wait.
    const keyList = jsonTexts(keys);
    await this.client.query(sql.advisoryLocks, [keyList, idempotencyLockKind]);
    const { rows } = await this.client.query<Row>(sql.idempotencyByKey, [keyList]);
    for (const row of rows) found.set(row.key as string, toIdempotency(row));
    return found;
  }

  async insertAccounts(accounts: readonly AccountState[]): Promise<void> {
    if (accounts.length === 0) return;
    const heads = accounts.map((a) => {
      this.headsDirty.delete(a.id);
      // The ledger inserts a batch's transfers before the accounts it creates: the new row
      // starts with the chain those transfers began.
      const head = this.heads.get(a.id) ?? null;
      this.heads.set(a.id, head);
      return head;
    });
    const result = await this.client.query({
      name: "gs_insert_accounts",
      text: sql.insertAccounts,
      values: [
        jsonTexts(accounts.map((a) => a.id)),
        jsonTexts(accounts.map((a) => a.unit)),
        jsonIntegers(accounts.map((a) => a.flags)),
        ...totalsLists(accounts),
        jsonIntegers(accounts.map((a) => a.createdAt)),
        jsonIntegers(heads),
      ],
    });
    invariant(result.rowCount === accounts.length, "every new account is inserted");
  }

  async insertTransfers(rows: readonly TransferRow[], texts: JsonTexts = freshJson): Promise<bigint[]> {
    const n = rows.length;
    if (n === 0) return [];
    await this.lockUnknownAccounts(rows);
    const idRows = (await this.client.query<Row>({ name: "gs_next_ids", text: sql.nextIds, values: [n] }))
      .rows;
    invariant(idRows.length === n, "the sequence hands out one id per transfer");
    const ids = idRows.map((row) => row.id as bigint);
    const debitPrev = new Array<bigint | null>(n);
    const creditPrev = new Array<bigint | null>(n);
    for (let j = 0; j < n; j++) {
      const r = rows[j]!;
      const id = ids[j]!;
      invariant(j === 0 || id > ids[j - 1]!, "transfer ids grow within a batch");
      debitPrev[j] = this.heads.get(r.debitAccountId) ?? null;
      creditPrev[j] = this.heads.get(r.creditAccountId) ?? null;
      this.heads.set(r.debitAccountId, id);
      this.heads.set(r.creditAccountId, id);
      this.headsDirty.add(r.debitAccountId);
      this.headsDirty.add(r.creditAccountId);
    }
    const result = await this.client.query({
      name: "gs_insert_transfers",
      text: sql.insertTransfers,
      values: [
        jsonIntegers(ids),
        jsonIntegers(rows.map((r) => TransferType[r.type])),
        jsonTexts(rows.map((r) => r.debitAccountId)),
        jsonTexts(rows.map((r) => r.creditAccountId)),
        jsonIntegers(rows.map((r) => r.amount)),
        jsonTexts(rows.map((r) => r.kind)),
        jsonIntegers(rows.map((r) => r.pendingId)),
        jsonIntegers(rows.map((r) => r.expiresAt)),
        jsonDocuments(rows.map((r) => (r.metadata === null ? null : texts.of(r.metadata)))),
        jsonIntegers(rows.map((r) => r.createdAt)),
        jsonIntegers(debitPrev),
        jsonIntegers(creditPrev),
      ],
    });
    invariant(result.rowCount === n, "every transfer is inserted");
    return ids;
  }

  async updateBalances(accounts: readonly AccountState[]): Promise<void> {
    if (accounts.length === 0) return;
    const heads = accounts.map((a) => {
      this.headsDirty.delete(a.id);
      return this.heads.get(a.id) ?? null;
    });
    const result = await this.client.query({
      name: "gs_update_balances",
      text: sql.updateBalances,
      values: [jsonTexts(accounts.map((a) => a.id)), ...totalsLists(accounts), jsonIntegers(heads)],
    });
    invariant(result.rowCount === accounts.length, "every account whose balance changes exists");
  }

  async insertPending(rows: readonly PendingState[]): Promise<void> {
    if (rows.length === 0) return;
    const result = await this.client.query({
      name: "gs_insert_holds",
      text: sql.insertHolds,
      values: [
        rows.map((h) => h.id),
        rows.map((h) => h.debitAccountId),
        rows.map((h) => h.creditAccountId),
        rows.map((h) => h.amount),
        rows.map((h) => (h.expiresAt === null ? null : BigInt(h.expiresAt))),
        rows.map((h) => h.status),
      ],
    });
    invariant(result.rowCount === rows.length, "every hold is inserted");
  }

  async closePending(updates: readonly { id: bigint; status: PendingStatusCode }[]): Promise<void> {
    if (updates.length === 0) return;
    const result = await this.client.query({
      name: "gs_close_holds",
      text: sql.closeHolds,
      values: [updates.map((u) => u.id), updates.map((u) => u.status)],
    });
    // Only an open hold closes; the ledger checked that under the hold's row lock.
    invariant(result.rowCount === updates.length, "every hold closed was open");
  }

  async insertIdempotency(rows: readonly IdempotencyRecord[]): Promise<void> {
    if (rows.length === 0) return;
    await this.client.query({
      name: "gs_insert_idempotency",
      text: sql.insertIdempotency,
      values: [
        jsonTexts(rows.map((r) => r.key)),
        jsonTexts(rows.map((r) => r.requestHash)),
        jsonDocuments(rows.map((r) => r.result)),
        jsonIntegers(rows.map((r) => r.createdAt)),
      ],
    });
  }

  async writeEffects(effects: readonly StoreEffect[], texts: JsonTexts = freshJson): Promise<void> {
    if (effects.length === 0) return;
    // A live feed reads gifts after its cursor in `rowid` order, and a rowid is drawn at insert,
    // not at commit. Held to the commit, this lock makes gift-writing transactions, in every
    // process, draw rowids in the order they commit, so no reader passes a gift still to come.
    // Taken last, after every account lock, so it cannot close a cycle with them.
    if (effects.some((e) => e.type === "gift.record")) {
      await this.client.query("SELECT pg_advisory_xact_lock($1::bigint)", [giftFeedLock]);
    }
    let wanted: ((type: string) => boolean) | undefined;
    if (effects.some((e) => e.type === "outbox.events")) {
      const { rows } = await this.client.query<Row>(sql.subscribedTypes);
      const types = new Set(rows.map((row) => row.type as string));
      wanted = types.has("*") ? () => true : (type) => types.has(type);
    }
    for (const { sql: text, params, name } of postgresEffectStatements(effects, texts, wanted)) {
      await this.client.query({ text, values: params, ...(name === undefined ? {} : { name }) });
    }
  }

  /** Writes the chain heads no account row carried yet (none on the ledger's own path). */
  async finish(): Promise<void> {
    if (this.headsDirty.size === 0) return;
    const ids = [...this.headsDirty];
    const result = await this.client.query(sql.updateHeads, [
      jsonTexts(ids),
      jsonIntegers(ids.map((id) => this.heads.get(id)!)),
    ]);
    invariant(result.rowCount === ids.length, "every account with new transfers exists");
    this.headsDirty.clear();
  }

  /**
   * The ledger locks every account a batch touches before it inserts transfers; a caller that
   * did not (a test, a tool) gets the same locks here, so the chain heads read are current.
   */
  private async lockUnknownAccounts(rows: readonly TransferRow[]): Promise<void> {
    const unknown = new Set<string>();
    for (const r of rows) {
      if (!this.heads.has(r.debitAccountId)) unknown.add(r.debitAccountId);
      if (!this.heads.has(r.creditAccountId)) unknown.add(r.creditAccountId);
    }
    if (unknown.size > 0) await this.loadAccounts([...unknown]);
  }

  private collect(found: Map<string, AccountState>, rows: Row[]): void {
    for (const row of rows) {
      found.set(row.id as string, accountFromRow(row));
      this.heads.set(row.id as string, (row.last_transfer_id as bigint | null) ?? null);
    }
  }
}

/** The four running totals of `accounts`, one JSON list each, in the column order of both statements. */
function totalsLists(accounts: readonly AccountState[]): string[] {
  return [
    jsonIntegers(accounts.map((a) => a.debitsPosted)),
    jsonIntegers(accounts.map((a) => a.creditsPosted)),
    jsonIntegers(accounts.map((a) => a.debitsPending)),
    jsonIntegers(accounts.map((a) => a.creditsPending)),
  ];
}

/** `$1, $2, …` as arrays of `types`, each bound as a JSON list (json-lists.ts). */
function pgArrays(...types: PgElementType[]): string {
  return types.map((type, i) => pgArray(`$${i + 1}`, type)).join(", ");
}

const postedTypes = `${TransferType.posted}, ${TransferType.post_pending}`;
const accountColumns = `id, unit, flags, debits_posted, credits_posted, debits_pending, credits_pending,
  created_at, last_transfer_id`;
const transferColumns = `id, type, debit_account_id, credit_account_id, amount, kind, pending_id,
  expires_at, metadata, created_at, debit_prev_id, credit_prev_id`;

const sql = {
  accountsById: `SELECT ${accountColumns} FROM accounts WHERE id = ANY($1::text[])`,
  accountHead: "SELECT last_transfer_id FROM accounts WHERE id = $1",
  // ORDER BY puts the row locks after the sort: every transaction locks accounts in id order.
  lockAccounts: `SELECT ${accountColumns} FROM accounts WHERE id = ANY(${pgArray("$1", "text")}) ORDER BY id FOR UPDATE`,
  lockHolds: `SELECT transfer_id, debit_account_id, credit_account_id, amount, expires_at, status
    FROM holds WHERE transfer_id = ANY($1::bigint[]) ORDER BY transfer_id FOR UPDATE`,
  // A volatile call in the select list runs after the sort, so the locks are taken in stripe order.
  advisoryLocks: `SELECT pg_advisory_xact_lock($2::integer, s) FROM (
      SELECT DISTINCT (hashtextextended(k, 0) & ${lockStripes - 1})::integer AS s
      FROM json_array_elements_text($1::json) AS k
    ) AS l ORDER BY s`,
  idempotencyByKey: `SELECT key, request_hash, result, created_at FROM idempotency WHERE key = ANY(${pgArray("$1", "text")})`,
  transfersById: `SELECT ${transferColumns} FROM transfers WHERE id = ANY($1::bigint[])`,
  chainPage: `WITH RECURSIVE chain (id, n) AS (
      SELECT $1::bigint, 1
      UNION ALL
      SELECT CASE WHEN t.debit_account_id = $2::text THEN t.debit_prev_id ELSE t.credit_prev_id END, c.n + 1
      FROM chain c JOIN transfers t ON t.id = c.id
      WHERE c.n < $3::integer
        AND (CASE WHEN t.debit_account_id = $2::text THEN t.debit_prev_id ELSE t.credit_prev_id END) IS NOT NULL
    )
    SELECT t.* FROM chain c JOIN transfers t ON t.id = c.id ORDER BY c.n`,
  expiredHolds: `SELECT transfer_id FROM holds
    WHERE status = ${PendingStatus.open} AND expires_at IS NOT NULL AND expires_at <= $1
    ORDER BY expires_at, transfer_id LIMIT $2`,
  // Keys of a purchase's own lifecycle are kept for good, as in the SQLite store: a dispute may
  // close months later and is undone from its record.
  purgeIdempotency: `DELETE FROM idempotency WHERE key IN (
      SELECT key FROM idempotency WHERE created_at < $1 AND key NOT LIKE 'purchase:%'
      ORDER BY created_at LIMIT $2)`,
  nextIds: "SELECT nextval('transfers_id_seq') AS id FROM generate_series(1, $1::integer) ORDER BY 1",
  insertAccounts: `INSERT INTO accounts (${accountColumns})
    SELECT * FROM unnest(${pgArrays("text", "text", "integer", "bigint", "bigint", "bigint", "bigint", "bigint", "bigint")})`,
  insertTransfers: `INSERT INTO transfers (${transferColumns})
    SELECT * FROM unnest(${pgArrays("bigint", "smallint", "text", "text", "bigint", "text", "bigint", "bigint", "document", "bigint", "bigint", "bigint")})`,
  // A head never goes back to null, so a null here means "this batch did not move it".
  updateBalances: `UPDATE accounts AS a SET debits_posted = u.dp, credits_posted = u.cp,
      debits_pending = u.dh, credits_pending = u.ch, last_transfer_id = COALESCE(u.head, a.last_transfer_id)
    FROM unnest(${pgArrays("text", "bigint", "bigint", "bigint", "bigint", "bigint")})
      AS u (id, dp, cp, dh, ch, head)
    WHERE a.id = u.id`,
  updateHeads: `UPDATE accounts AS a SET last_transfer_id = u.head
    FROM unnest(${pgArrays("text", "bigint")}) AS u (id, head) WHERE a.id = u.id`,
  insertHolds: `INSERT INTO holds (transfer_id, debit_account_id, credit_account_id, amount, expires_at, status)
    SELECT * FROM unnest($1::bigint[], $2::text[], $3::text[], $4::bigint[], $5::bigint[], $6::smallint[])`,
  closeHolds: `UPDATE holds AS h SET status = u.status
    FROM unnest($1::bigint[], $2::smallint[]) AS u (id, status)
    WHERE h.transfer_id = u.id AND h.status = ${PendingStatus.open}`,
  subscribedTypes: "SELECT DISTINCT type FROM webhook_subscriptions",
  insertIdempotency: `INSERT INTO idempotency (key, request_hash, result, created_at)
    SELECT * FROM unnest(${pgArrays("text", "text", "document", "bigint")})`,
  reconcile: `WITH
      dp AS (SELECT debit_account_id AS id, SUM(amount) AS s FROM transfers WHERE type IN (${postedTypes}) GROUP BY 1),
      cp AS (SELECT credit_account_id AS id, SUM(amount) AS s FROM transfers WHERE type IN (${postedTypes}) GROUP BY 1),
      dh AS (SELECT debit_account_id AS id, SUM(amount) AS s FROM holds WHERE status = ${PendingStatus.open} GROUP BY 1),
      ch AS (SELECT credit_account_id AS id, SUM(amount) AS s FROM holds WHERE status = ${PendingStatus.open} GROUP BY 1)
    SELECT a.id, a.unit, a.flags, a.debits_posted, a.credits_posted, a.debits_pending, a.credits_pending,
      a.created_at,
      COALESCE(dp.s, 0)::numeric AS e_debits_posted, COALESCE(cp.s, 0)::numeric AS e_credits_posted,
      COALESCE(dh.s, 0)::numeric AS e_debits_pending, COALESCE(ch.s, 0)::numeric AS e_credits_pending
    FROM accounts a
    LEFT JOIN dp ON dp.id = a.id LEFT JOIN cp ON cp.id = a.id
    LEFT JOIN dh ON dh.id = a.id LEFT JOIN ch ON ch.id = a.id
    ORDER BY a.id`,
} as const;

function toPending(row: Row): PendingState {
  return {
    id: row.transfer_id as bigint,
    debitAccountId: row.debit_account_id as string,
    creditAccountId: row.credit_account_id as string,
    amount: row.amount as bigint,
    expiresAt: row.expires_at === null ? null : Number(row.expires_at as bigint),
    status: row.status as PendingStatusCode,
  };
}

function toIdempotency(row: Row): IdempotencyRecord {
  return {
    key: row.key as string,
    requestHash: row.request_hash as string,
    result: row.result as string,
    createdAt: Number(row.created_at as bigint),
  };
}
