import { GiftstreamError, invariant } from "../errors.js";
import { int64Max } from "./int64.js";
import {
  AccountFlag,
  type AccountInput,
  type AccountState,
  type LedgerRequest,
  type PendingState,
  PendingStatus,
  type PendingStatusCode,
  type TransferInput,
  type TransferRecord,
} from "./types.js";
import { checkFollowOn, type RequestLimits } from "./validate.js";

export { int64Max };

/**
 * The working state one group-commit batch applies its requests to: the accounts and holds
 * the batch touches, as loaded under the store's write lock.
 */
export interface BatchState {
  accounts: Map<string, AccountState>;
  pending: Map<bigint, PendingState>;
  now: number;
}

/** What one accepted request adds to the batch: its transfers (ids still 0n) and the holds it closes. */
export interface AppliedRequest {
  transfers: TransferRecord[];
  closes: { id: bigint; status: PendingStatusCode }[];
}

/** The batch's accumulated effects, handed to the store once every request has been tried. */
export interface BatchEffects {
  newAccounts: Map<string, AccountState>;
  /** Existing accounts whose totals changed, with a copy of their state before the batch. */
  touched: Map<string, AccountState>;
}

export function newBatchEffects(): BatchEffects {
  return { newAccounts: new Map(), touched: new Map() };
}

/**
 * Remembers what a multi-step request changed so that a refusal halfway can put it all back.
 * A one-transfer request checks everything before it changes anything, and needs none.
 */
class Journal {
  private readonly accounts = new Map<string, AccountState>();
  private readonly holds = new Map<bigint, PendingStatusCode>();
  readonly created = new Set<string>();

  constructor(
    private readonly state: BatchState,
    private readonly effects: BatchEffects,
  ) {}

  saveAccount(account: AccountState): void {
    if (!this.accounts.has(account.id) && !this.created.has(account.id))
      this.accounts.set(account.id, copyAccount(account));
  }

  saveHold(hold: PendingState): void {
    if (!this.holds.has(hold.id)) this.holds.set(hold.id, hold.status);
  }

  rollback(): void {
    for (const [id, before] of this.accounts) Object.assign(this.state.accounts.get(id)!, before);
    for (const id of this.created) {
      this.state.accounts.delete(id);
      this.effects.newAccounts.delete(id);
    }
    for (const [id, status] of this.holds) this.state.pending.get(id)!.status = status;
  }
}

/**
 * Applies one request to the batch state, all or nothing. On refusal the state is exactly as
 * before and the error says why; on success the returned transfers are ready to insert.
 */
export function applyRequest(
  state: BatchState,
  effects: BatchEffects,
  request: LedgerRequest,
  limits: RequestLimits,
): AppliedRequest | GiftstreamError {
  const accounts = request.accounts;
  const journal =
    request.transfers.length > 1 ||
    (accounts !== undefined && accounts.length > 0) ||
    request.transfersOf !== undefined
      ? new Journal(state, effects)
      : null;
  const applied: AppliedRequest = { transfers: [], closes: [] };
  if (accounts) {
    for (const input of accounts) {
      const created = input.opening !== undefined && !state.accounts.has(input.id);
      let error = ensureAccount(state, effects, input, journal!);
      if (!error && created) {
        const { debitAccountId, amount, kind } = input.opening!;
        const opening = { debitAccountId, creditAccountId: input.id, amount, kind };
        error = move(state, effects, opening, -1, applied, journal);
      }
      if (error) {
        journal!.rollback();
        return error;
      }
    }
  }
  const transfers = request.transfers;
  for (let index = 0; index < transfers.length; index++) {
    const transfer = transfers[index]!;
    const error =
      transfer.type === "post_pending" || transfer.type === "void_pending"
        ? closeHold(state, effects, transfer, index, applied, journal)
        : transfer.type === "cascade"
          ? cascade(state, effects, transfer, index, applied, journal)
          : move(state, effects, transfer, index, applied, journal);
    if (error) {
      journal?.rollback();
      return error;
    }
  }
  if (request.transfersOf) {
    const followOn = request.transfersOf(applied.transfers);
    for (let i = 0; i < followOn.length; i++) {
      const index = transfers.length + i;
      const transfer = followOn[i]!;
      // Counted as made: a cascade makes one transfer per account it draws on.
      const error =
        applied.transfers.length >= limits.requestTransfersMax
          ? new GiftstreamError(
              "batch_too_large",
              `with its follow-ons the request makes more than ${limits.requestTransfersMax} transfers`,
            )
          : (checkFollowOn(transfer, index, limits) ??
            move(state, effects, transfer, index, applied, journal));
      if (error) {
        journal!.rollback();
        return error;
      }
    }
  }
  return applied;
}

function ensureAccount(
  state: BatchState,
  effects: BatchEffects,
  input: AccountInput,
  journal: Journal,
): GiftstreamError | null {
  const flags =
    (input.flags?.debitsMustNotExceedCredits ? AccountFlag.debitsMustNotExceedCredits : 0) |
    (input.flags?.creditsMustNotExceedDebits ? AccountFlag.creditsMustNotExceedDebits : 0);
  const existing = state.accounts.get(input.id);
  if (existing) {
    if (existing.unit === input.unit && existing.flags === flags) return null;
    return new GiftstreamError("account_exists_mismatch", `account ${input.id} exists with other settings`, {
      accountId: input.id,
    });
  }
  const account: AccountState = {
    id: input.id,
    unit: input.unit,
    flags,
    debitsPosted: 0n,
    creditsPosted: 0n,
    debitsPending: 0n,
    creditsPending: 0n,
    createdAt: state.now,
  };
  state.accounts.set(input.id, account);
  effects.newAccounts.set(input.id, account);
  journal.created.add(input.id);
  return null;
}

type MoveInput = Extract<TransferInput, { debitAccountId: string }>;
type CascadeInput = Extract<TransferInput, { type: "cascade" }>;

/** Several debits, in order, each up to what is available, covering `amount`; all checks first. */
function cascade(
  state: BatchState,
  effects: BatchEffects,
  transfer: CascadeInput,
  transferIndex: number,
  applied: AppliedRequest,
  journal: Journal | null,
): GiftstreamError | null {
  const credit = state.accounts.get(transfer.creditAccountId);
  if (!credit) {
    return new GiftstreamError("account_not_found", `no account ${transfer.creditAccountId}`, {
      transferIndex,
      accountId: transfer.creditAccountId,
    });
  }
  const parts: [AccountState, bigint][] = [];
  let remaining = transfer.amount;
  for (const id of transfer.debitAccountIds) {
    if (remaining === 0n) break;
    const debit = state.accounts.get(id);
    if (!debit)
      return new GiftstreamError("account_not_found", `no account ${id}`, { transferIndex, accountId: id });
    if (debit.unit !== credit.unit) {
      return new GiftstreamError(
        "unit_mismatch",
        `${id} holds ${debit.unit}, ${credit.id} holds ${credit.unit}`,
        {
          transferIndex,
        },
      );
    }
    const available =
      debit.flags & AccountFlag.debitsMustNotExceedCredits
        ? debit.creditsPosted - debit.debitsPosted - debit.debitsPending
        : remaining;
    // biome-ignore lint/complexity/useMathMinMax: Math.min takes no bigint.
    const take = available < remaining ? available : remaining;
    if (take <= 0n) continue;
    if (debit.debitsPosted + debit.debitsPending + take > int64Max) {
      return new GiftstreamError("balance_overflow", "running total would pass 2^63-1", { transferIndex });
    }
    parts.push([debit, take]);
    remaining -= take;
  }
  if (remaining > 0n) {
    return new GiftstreamError("debits_exceed_credits", "the accounts have too little available together", {
      transferIndex,
      accountId: transfer.debitAccountIds.at(-1),
      shortBy: remaining.toString(),
    });
  }
  const creditsAfter = credit.creditsPosted + credit.creditsPending + transfer.amount;
  if (credit.flags & AccountFlag.creditsMustNotExceedDebits && creditsAfter > credit.debitsPosted) {
    return new GiftstreamError("credits_exceed_debits", `account ${credit.id} cannot take more credits`, {
      transferIndex,
      accountId: credit.id,
    });
  }
  if (creditsAfter > int64Max) {
    return new GiftstreamError("balance_overflow", "running total would pass 2^63-1", { transferIndex });
  }
  touch(effects, journal, credit);
  for (const [debit, take] of parts) {
    touch(effects, journal, debit);
    debit.debitsPosted += take;
    credit.creditsPosted += take;
    applied.transfers.push({
      id: 0n,
      type: "posted",
      debitAccountId: debit.id,
      creditAccountId: credit.id,
      amount: take,
      unit: credit.unit,
      kind: transfer.kind,
      pendingId: null,
      expiresAt: null,
      metadata: transfer.metadata ?? null,
      createdAt: state.now,
    });
  }
  return null;
}
type CloseInput = Extract<TransferInput, { pendingId: bigint }>;

/** A posted or pending transfer: every check first, then the change. */
function move(
  state: BatchState,
  effects: BatchEffects,
  transfer: MoveInput,
  transferIndex: number,
  applied: AppliedRequest,
  journal: Journal | null,
): GiftstreamError | null {
  const debit = state.accounts.get(transfer.debitAccountId);
  const credit = state.accounts.get(transfer.creditAccountId);
  if (!debit || !credit) {
    const missing = debit ? transfer.creditAccountId : transfer.debitAccountId;
    return new GiftstreamError("account_not_found", `no account ${missing}`, {
      transferIndex,
      accountId: missing,
    });
  }
  if (debit.unit !== credit.unit) {
    return new GiftstreamError(
      "unit_mismatch",
      `${debit.id} holds ${debit.unit}, ${credit.id} holds ${credit.unit}`,
      {
        transferIndex,
      },
    );
  }
  const amount = transfer.amount;
  const debitsAfter = debit.debitsPosted + debit.debitsPending + amount;
  const creditsAfter = credit.creditsPosted + credit.creditsPending + amount;
  if (debit.flags & AccountFlag.debitsMustNotExceedCredits && debitsAfter > debit.creditsPosted) {
    return new GiftstreamError("debits_exceed_credits", `account ${debit.id} has too little available`, {
      transferIndex,
      accountId: debit.id,
    });
  }
  if (credit.flags & AccountFlag.creditsMustNotExceedDebits && creditsAfter > credit.debitsPosted) {
    return new GiftstreamError("credits_exceed_debits", `account ${credit.id} cannot take more credits`, {
      transferIndex,
      accountId: credit.id,
    });
  }
  if (debitsAfter > int64Max || creditsAfter > int64Max) {
    return new GiftstreamError("balance_overflow", "running total would pass 2^63-1", { transferIndex });
  }
  touch(effects, journal, debit);
  touch(effects, journal, credit);
  const isPending = transfer.type === "pending";
  if (isPending) {
    debit.debitsPending += amount;
    credit.creditsPending += amount;
  } else {
    debit.debitsPosted += amount;
    credit.creditsPosted += amount;
  }
  applied.transfers.push({
    id: 0n,
    type: isPending ? "pending" : "posted",
    debitAccountId: debit.id,
    creditAccountId: credit.id,
    amount,
    unit: debit.unit,
    kind: transfer.kind,
    pendingId: null,
    expiresAt: isPending ? (transfer.expiresAt ?? null) : null,
    metadata: transfer.metadata ?? null,
    createdAt: state.now,
  });
  return null;
}

/** Posts (whole or part) or voids an open hold. */
function closeHold(
  state: BatchState,
  effects: BatchEffects,
  transfer: CloseInput,
  transferIndex: number,
  applied: AppliedRequest,
  journal: Journal | null,
): GiftstreamError | null {
  const at = { transferIndex };
  const hold = state.pending.get(transfer.pendingId);
  if (!hold) {
    return new GiftstreamError("pending_transfer_not_found", `no pending transfer ${transfer.pendingId}`, at);
  }
  if (hold.status !== PendingStatus.open) {
    return new GiftstreamError("pending_transfer_closed", `transfer ${hold.id} is not open`, at);
  }
  const posting = transfer.type === "post_pending";
  // An expired hold is only ever voided; posting it would spend money its owner got back.
  if (posting && hold.expiresAt !== null && hold.expiresAt <= state.now) {
    return new GiftstreamError("pending_transfer_expired", `transfer ${hold.id} has expired`, at);
  }
  const postAmount = posting ? (transfer.amount ?? hold.amount) : 0n;
  if (postAmount > hold.amount) {
    return new GiftstreamError(
      "post_exceeds_pending",
      `post of ${postAmount} exceeds hold of ${hold.amount}`,
      at,
    );
  }
  const debit = state.accounts.get(hold.debitAccountId);
  const credit = state.accounts.get(hold.creditAccountId);
  invariant(debit && credit, "a hold's accounts are loaded with it");
  // Releasing the hold frees exactly what posting takes, so no limit can newly be crossed and
  // no running total can grow past what it already held.
  touch(effects, journal, debit);
  touch(effects, journal, credit);
  journal?.saveHold(hold);
  debit.debitsPending -= hold.amount;
  credit.creditsPending -= hold.amount;
  debit.debitsPosted += postAmount;
  credit.creditsPosted += postAmount;
  hold.status = posting ? PendingStatus.posted : PendingStatus.voided;
  applied.closes.push({ id: hold.id, status: hold.status });
  applied.transfers.push({
    id: 0n,
    type: transfer.type,
    debitAccountId: hold.debitAccountId,
    creditAccountId: hold.creditAccountId,
    amount: posting ? postAmount : hold.amount,
    unit: debit.unit,
    kind: transfer.kind,
    pendingId: hold.id,
    expiresAt: null,
    metadata: transfer.metadata ?? null,
    createdAt: state.now,
  });
  return null;
}

function touch(effects: BatchEffects, journal: Journal | null, account: AccountState): void {
  journal?.saveAccount(account);
  if (!effects.touched.has(account.id) && !effects.newAccounts.has(account.id)) {
    effects.touched.set(account.id, copyAccount(account));
  }
}

export function copyAccount(a: AccountState): AccountState {
  return {
    id: a.id,
    unit: a.unit,
    flags: a.flags,
    debitsPosted: a.debitsPosted,
    creditsPosted: a.creditsPosted,
    debitsPending: a.debitsPending,
    creditsPending: a.creditsPending,
    createdAt: a.createdAt,
  };
}

/**
 * The batch's own invariants, checked on the final state by a different path than the per-transfer
 * checks above: every unit nets to zero across the batch, and no account crosses its limits.
 */
export function assertBatchInvariants(state: BatchState, effects: BatchEffects): void {
  const netPostedByUnit = new Map<string, bigint>();
  const netPendingByUnit = new Map<string, bigint>();
  const addNet = (account: AccountState, before: AccountState | undefined): void => {
    const postedDelta =
      account.creditsPosted -
      account.debitsPosted -
      (before ? before.creditsPosted - before.debitsPosted : 0n);
    const pendingDelta =
      account.creditsPending -
      account.debitsPending -
      (before ? before.creditsPending - before.debitsPending : 0n);
    netPostedByUnit.set(account.unit, (netPostedByUnit.get(account.unit) ?? 0n) + postedDelta);
    netPendingByUnit.set(account.unit, (netPendingByUnit.get(account.unit) ?? 0n) + pendingDelta);
    assertAccountWithinLimits(account);
  };
  for (const [id, before] of effects.touched) addNet(state.accounts.get(id)!, before);
  for (const account of effects.newAccounts.values()) addNet(account, undefined);
  for (const [unit, net] of netPostedByUnit)
    invariant(net === 0n, `posted ${unit} nets to ${net} in a batch`);
  for (const [unit, net] of netPendingByUnit)
    invariant(net === 0n, `pending ${unit} nets to ${net} in a batch`);
}

export function assertAccountWithinLimits(account: AccountState): void {
  const { debitsPosted, creditsPosted, debitsPending, creditsPending } = account;
  invariant(
    debitsPosted >= 0n && creditsPosted >= 0n && debitsPending >= 0n && creditsPending >= 0n,
    `account ${account.id} has a negative running total`,
  );
  invariant(
    debitsPosted + debitsPending <= int64Max && creditsPosted + creditsPending <= int64Max,
    `account ${account.id} overflows 64 bits`,
  );
  if (account.flags & AccountFlag.debitsMustNotExceedCredits) {
    invariant(debitsPosted + debitsPending <= creditsPosted, `account ${account.id} debits exceed credits`);
  }
  if (account.flags & AccountFlag.creditsMustNotExceedDebits) {
    invariant(creditsPosted + creditsPending <= debitsPosted, `account ${account.id} credits exceed debits`);
  }
}
