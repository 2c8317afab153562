import { GiftstreamError, InvariantViolation, invariant } from "../errors.js";
import { applyRequest, assertBatchInvariants, type BatchState, newBatchEffects } from "./apply.js";
import { balanceOf } from "./balance.js";
import { decodeCursor, encodeCursor } from "./cursor.js";
import { type GroupCommitOptions, GroupCommitter, type Queued } from "./group-commit.js";
import { JsonTextCache } from "./json-texts.js";
import { deserializeResult, requestHash, serializeResult, transferRecord } from "./serialize.js";
import type { IdempotencyRecord, LedgerStore, LedgerWriteTx } from "./store.js";
import {
  type AccountInput,
  type Balance,
  type HistoryPage,
  type JsonValue,
  type LedgerRequest,
  type LedgerResult,
  type PendingState,
  PendingStatus,
  type PendingStatusCode,
  type TransferRecord,
} from "./types.js";
import { type RequestLimits, transfersAtMost, validateRequest } from "./validate.js";

export interface LedgerOptions extends RequestLimits, GroupCommitOptions {
  store: LedgerStore;
  /** The service clock: every time the ledger records comes from here. */
  clock: () => number;
  historyPageMax: number;
  /** Most batches handed to the store and not yet durable (default 2). */
  pipelineBatchesMax?: number;
  /**
   * Callers of a durable batch answered between two turns of the event loop (default: the whole
   * batch in one). Their continuations run on the ledger's thread; on PostgreSQL, answered all at
   * once, a batch of hundreds kept the next batch's store replies waiting behind them (measured:
   * docs/benchmarks.md).
   */
  answerSliceRequests?: number;
  /** Told about a broken invariant before the batch is rolled back: it is a bug to stop on. */
  onInvariantViolation?: (error: InvariantViolation) => void;
}

interface Work {
  request: LedgerRequest;
  hash: string | null;
  /** The JSON texts validation computed, for the store to write. */
  texts: JsonTextCache;
}

type Item = Queued<Work, LedgerResult>;

/**
 * The double-entry ledger. Writes go through the group committer: concurrent requests share one
 * durable transaction, each is applied all-or-nothing on its own, and each caller gets its own
 * result or error once the transaction has committed.
 */
export class Ledger {
  private readonly committer: GroupCommitter<Work, LedgerResult>;
  /** Batches handed to the store and not yet durable. */
  private readonly inflight = new Set<Promise<void>>();

  constructor(private readonly options: LedgerOptions) {
    this.committer = new GroupCommitter(options, (batch) => this.commitBatch(batch));
  }

  /** Applies one atomic request. Rejects with a GiftstreamError when any transfer in it is refused. */
  submit(request: LedgerRequest): Promise<LedgerResult> {
    let hash: string | null;
    const texts = new JsonTextCache();
    try {
      validateRequest(request, this.options, texts);
      hash = request.idempotencyKey === undefined ? null : (request.fingerprint ?? requestHash(request));
    } catch (error) {
      return Promise.reject(error);
    }
    return this.committer.submit({ request, hash, texts }, Math.max(1, transfersAtMost(request.transfers)));
  }

  /** Creates accounts that do not exist yet; existing ones must match unit and flags. */
  async createAccounts(accounts: AccountInput[]): Promise<void> {
    if (accounts.length === 0) return;
    await this.submit({ accounts, transfers: [] });
  }

  async balances(accountIds: readonly string[]): Promise<Map<string, Balance>> {
    const accounts = await this.options.store.getAccounts(accountIds);
    return new Map([...accounts].map(([id, account]) => [id, balanceOf(account)]));
  }

  async balance(accountId: string): Promise<Balance> {
    const found = (await this.balances([accountId])).get(accountId);
    if (!found) throw new GiftstreamError("account_not_found", `no account ${accountId}`, { accountId });
    return found;
  }

  /** Newest first, `limit` at most `historyPageMax`. */
  async history(accountId: string, options: { cursor?: string; limit?: number } = {}): Promise<HistoryPage> {
    const limit = Math.min(options.limit ?? 100, this.options.historyPageMax);
    if (!Number.isSafeInteger(limit) || limit < 1)
      throw new GiftstreamError("invalid_request", "limit must be ≥ 1");
    const before = options.cursor === undefined ? null : decodeCursor(options.cursor);
    const account = (await this.options.store.getAccounts([accountId])).get(accountId);
    if (!account) throw new GiftstreamError("account_not_found", `no account ${accountId}`, { accountId });
    const stored = await this.options.store.listAccountTransfers(accountId, before, limit + 1);
    const page = stored.slice(0, limit).map((t) => transferRecord(t, account.unit));
    const last = page.at(-1);
    return { transfers: page, nextCursor: stored.length > limit && last ? encodeCursor(last.id) : null };
  }

  /**
   * The first answer of an idempotent request already committed under `key`: its memo. Undefined
   * when nothing was committed under the key; `idempotency_key_reused` when it was, for another
   * fingerprint. Lets a caller answer a replay before redoing work whose inputs have since changed.
   */
  async replayOf(key: string, fingerprint: string): Promise<JsonValue | undefined> {
    const record = await this.options.store.getIdempotency(key);
    if (!record) return undefined;
    if (record.requestHash !== fingerprint) throw new GiftstreamError("idempotency_key_reused");
    return deserializeResult(record.result).memo ?? null;
  }

  /** The transfers a committed idempotent request made; undefined when nothing was committed under `key`. */
  async transfersOf(key: string): Promise<TransferRecord[] | undefined> {
    const record = await this.options.store.getIdempotency(key);
    return record ? deserializeResult(record.result).transfers : undefined;
  }

  /** Voids holds whose expiry has passed, each on its own so that a concurrent post loses nothing. */
  async expirePending(limit = 1000): Promise<number> {
    const ids = await this.options.store.listExpiredPending(this.options.clock(), limit);
    const results = await Promise.allSettled(
      ids.map((pendingId) =>
        this.submit({ transfers: [{ type: "void_pending", pendingId, kind: "pending_expired" }] }),
      ),
    );
    return results.filter((r) => r.status === "fulfilled").length;
  }

  /** Deletes idempotency records older than `retentionMs`; returns how many went. */
  purgeIdempotency(retentionMs: number, limit = 10_000): Promise<number> {
    return this.options.store.purgeIdempotency(this.options.clock() - retentionMs, limit);
  }

  /** Stops taking writes, and resolves once every queued request has been answered. */
  async close(): Promise<void> {
    await this.committer.close();
    await Promise.all([...this.inflight]);
  }

  /**
   * Applies a batch and hands it to the store, then returns so the next batch can be prepared
   * while this one becomes durable (a pipelined store overlaps the two). Callers are answered
   * only once the store reports the batch durable; at most `pipelineBatchesMax` batches wait so.
   */
  private async commitBatch(batch: Item[]): Promise<void> {
    const answers = new Map<Item, LedgerResult | GiftstreamError>();
    let markApplied: () => void = () => {};
    const applied = new Promise<void>((resolve) => {
      markApplied = resolve;
    });
    const durable = this.options.store.write(async (tx) => {
      await this.applyBatch(tx, batch, answers);
      markApplied();
    });
    // Neither side throws, so no later batch ever sees this one's trouble through `inflight`.
    const settled = durable.then(
      () => this.answer(batch, answers),
      (error: unknown) => {
        for (const item of batch) item.reject(error);
        if (error instanceof InvariantViolation) this.report(error);
      },
    );
    this.inflight.add(settled);
    const forget = (): void => {
      this.inflight.delete(settled);
    };
    void settled.then(forget, forget);
    await Promise.race([applied, settled]);
    while (this.inflight.size >= (this.options.pipelineBatchesMax ?? 2)) await Promise.race(this.inflight);
  }

  /**
   * Answers a durable batch's callers in their order in the batch, a slice at a time, and lets
   * the event loop turn between slices so that the batch behind this one, whose store replies may
   * be waiting, moves on (its callers may then be answered before the rest of this batch's).
   * Every caller is answered: one the batch has no answer for (a bug) gets the broken invariant.
   */
  private async answer(batch: Item[], answers: Map<Item, LedgerResult | GiftstreamError>): Promise<void> {
    let broken: InvariantViolation | undefined;
    const ordered = batch.map((item) => {
      const answer = answers.get(item);
      if (answer !== undefined) return answer;
      broken ??= new InvariantViolation("every request in a batch is answered");
      return broken;
    });
    if (broken) this.report(broken);
    const slice = this.options.answerSliceRequests ?? batch.length;
    for (let i = 0; i < batch.length; i++) {
      if (i > 0 && i % slice === 0) await new Promise<void>((resolve) => setImmediate(resolve));
      const answer = ordered[i]!;
      if (answer instanceof GiftstreamError || answer instanceof InvariantViolation) batch[i]!.reject(answer);
      else batch[i]!.resolve(answer);
    }
  }

  /** Tells `onInvariantViolation`; the callers already carry the error, whatever the hook does. */
  private report(error: InvariantViolation): void {
    try {
      this.options.onInvariantViolation?.(error);
    } catch {
      // A hook that throws (the tests' does, to fail loudly) must not leave callers unanswered.
    }
  }

  private async applyBatch(
    tx: LedgerWriteTx,
    batch: Item[],
    answers: Map<Item, LedgerResult | GiftstreamError>,
  ): Promise<void> {
    const now = this.options.clock();
    const toApply = await this.settleIdempotency(tx, batch, answers);

    const pendingIds = new Set<bigint>();
    const accountIds = new Set<string>();
    for (const { request } of toApply.map((i) => i.request)) {
      for (const account of request.accounts ?? []) {
        accountIds.add(account.id);
        if (account.opening) accountIds.add(account.opening.debitAccountId);
      }
      for (const t of request.transfers) {
        if (t.type === "post_pending" || t.type === "void_pending") pendingIds.add(t.pendingId);
        else if (t.type === "cascade") {
          for (const id of t.debitAccountIds) accountIds.add(id);
          accountIds.add(t.creditAccountId);
        } else {
          accountIds.add(t.debitAccountId);
          accountIds.add(t.creditAccountId);
        }
      }
    }
    // Lock order: holds, then accounts. Within a table the store locks in its own canonical order
    // (see LedgerStore), so no two writers can wait on each other.
    const pending =
      pendingIds.size === 0
        ? new Map<bigint, PendingState>()
        : await tx.loadPending([...pendingIds].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0)));
    for (const hold of pending.values()) {
      accountIds.add(hold.debitAccountId);
      accountIds.add(hold.creditAccountId);
    }
    const accounts = await tx.loadAccounts([...accountIds]);
    const state: BatchState = { accounts, pending, now };
    const texts = new JsonTextCache();
    const effects = newBatchEffects();

    const applied: { item: Item; transfers: TransferRecord[] }[] = [];
    const rows: TransferRecord[] = [];
    const closes: { id: bigint; status: PendingStatusCode }[] = [];
    for (const item of toApply) {
      const outcome = applyRequest(state, effects, item.request.request, this.options);
      if (outcome instanceof GiftstreamError) {
        answers.set(item, outcome);
        continue;
      }
      applied.push({ item, transfers: outcome.transfers });
      texts.addAll(item.request.texts);
      for (const row of outcome.transfers) rows.push(row);
      for (const close of outcome.closes) closes.push(close);
    }
    assertBatchInvariants(state, effects);

    if (rows.length > 0) {
      const ids = await tx.insertTransfers(rows, texts);
      invariant(ids.length === rows.length, "the store assigns one id per transfer");
      for (let i = 0; i < rows.length; i++) rows[i]!.id = ids[i]!;
    }
    const holds: PendingState[] = [];
    for (const row of rows) {
      if (row.type === "pending") {
        holds.push({
          id: row.id,
          debitAccountId: row.debitAccountId,
          creditAccountId: row.creditAccountId,
          amount: row.amount,
          expiresAt: row.expiresAt,
          status: PendingStatus.open,
        });
      }
    }
    if (effects.newAccounts.size > 0) await tx.insertAccounts([...effects.newAccounts.values()]);
    if (effects.touched.size > 0)
      await tx.updateBalances([...effects.touched.keys()].map((id) => accounts.get(id)!));
    if (holds.length > 0) await tx.insertPending(holds);
    if (closes.length > 0) await tx.closePending(closes);

    const effectsToWrite = [];
    for (const { item, transfers } of applied) {
      const request = item.request.request;
      for (const effect of request.effects ?? []) effectsToWrite.push(effect);
      if (request.effectsOf) for (const effect of request.effectsOf(transfers)) effectsToWrite.push(effect);
    }
    if (effectsToWrite.length > 0) await tx.writeEffects(effectsToWrite, texts);

    const records: IdempotencyRecord[] = [];
    for (const { item, transfers } of applied) {
      const request = item.request.request;
      const result: LedgerResult = { transfers, memo: request.memo ?? null, replayed: false };
      answers.set(item, result);
      if (request.idempotencyKey !== undefined && item.request.hash !== null) {
        records.push({
          key: request.idempotencyKey,
          requestHash: item.request.hash,
          result: serializeResult(replayable(request, result), texts),
          createdAt: now,
        });
      }
    }
    if (records.length > 0) await tx.insertIdempotency(records);
    this.answerFollowers(batch, answers);
  }

  /**
   * Answers requests whose key is already stored, and holds back later requests that share a key
   * with an earlier one in the same batch (they are answered from the first once it is settled).
   */
  private async settleIdempotency(
    tx: LedgerWriteTx,
    batch: Item[],
    answers: Map<Item, LedgerResult | GiftstreamError>,
  ): Promise<Item[]> {
    const keys = new Set<string>();
    for (const item of batch)
      if (item.request.request.idempotencyKey !== undefined) keys.add(item.request.request.idempotencyKey);
    const stored =
      keys.size === 0 ? new Map<string, IdempotencyRecord>() : await tx.loadIdempotency([...keys].sort());
    const leaders = new Set<string>();
    const toApply: Item[] = [];
    for (const item of batch) {
      const key = item.request.request.idempotencyKey;
      if (key === undefined) {
        toApply.push(item);
        continue;
      }
      const record = stored.get(key);
      if (record) {
        answers.set(
          item,
          replayOrReuse(record.requestHash, item.request.hash, () => deserializeResult(record.result)),
        );
      } else if (!leaders.has(key)) {
        leaders.add(key);
        toApply.push(item);
      }
    }
    return toApply;
  }

  private answerFollowers(batch: Item[], answers: Map<Item, LedgerResult | GiftstreamError>): void {
    const leaderByKey = new Map<string, Item>();
    for (const item of batch) {
      const key = item.request.request.idempotencyKey;
      if (key === undefined || answers.has(item)) {
        if (key !== undefined && !leaderByKey.has(key)) leaderByKey.set(key, item);
        continue;
      }
      const leader = leaderByKey.get(key)!;
      const first = answers.get(leader)!;
      answers.set(
        item,
        first instanceof GiftstreamError
          ? item.request.hash === leader.request.hash
            ? first
            : new GiftstreamError("idempotency_key_reused")
          : replayOrReuse(leader.request.hash!, item.request.hash, () =>
              replayable(leader.request.request, first),
            ),
      );
    }
  }
}

/** What a replay of `request` answers: its result, without the transfers if it asked so. */
function replayable(request: LedgerRequest, result: LedgerResult): Omit<LedgerResult, "replayed"> {
  return request.replayTransfers === false ? { transfers: [], memo: result.memo } : result;
}

function replayOrReuse(
  storedHash: string,
  hash: string | null,
  result: () => Omit<LedgerResult, "replayed">,
): LedgerResult | GiftstreamError {
  if (storedHash !== hash) {
    return new GiftstreamError(
      "idempotency_key_reused",
      "this idempotency key was used with a different request",
    );
  }
  return { ...result(), replayed: true };
}
