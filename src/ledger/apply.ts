import { GiftstreamError, invariant } from "../errors.js";
import type { TransferRow } from "./store.js";
import {
  AccountFlag,
  type AccountState,
  type JsonObject,
  type LedgerRequest,
  type PendingState,
  PendingStatus,
  type PendingStatusCode,
  TransferType,
} from "./types.js";

/** The largest value a signed 64-bit column holds; every running total stays at or under it. */
export const int64Max = 2n ** 63n - 1n;

/**
 * The working state one group-commit batch applies its requests to: the accounts and holds
 * the batch touches, as loaded under the store's write lock.
 */
export interface BatchState {
  accounts: Map<string, AccountState>;
  pending: Map<bigint, PendingState>;
  now: number;
}

/** What one accepted request adds to the batch. */
export interface AppliedRequest {
  rows: TransferRow[];
  /** The holds this request posts or voids. */
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
 * Applies one request to the batch state, all or nothing. On rejection the state is exactly as
 * before and the error says why; on success the returned rows are ready to insert.
 */
export function applyRequest(
  state: BatchState,
  effects: BatchEffects,
  request: LedgerRequest,
): AppliedRequest | GiftstreamError {
  // A request is all-or-nothing, so remember what it changes until it has fully succeeded.
  const undo = new Map<string, AccountState>();
  const created = new Set<string>();
  const undoPending = new Map<bigint, PendingStatusCode>();
  const rollback = (error: GiftstreamError): GiftstreamError => {
    for (const [id, before] of undo) Object.assign(state.accounts.get(id)!, before);
    for (const id of created) {
      state.accounts.delete(id);
      effects.newAccounts.delete(id);
    }
    for (const [id, status] of undoPending) state.pending.get(id)!.status = status;
    return error;
  };
  const remember = (account: AccountState): void => {
    if (!undo.has(account.id) && !created.has(account.id)) undo.set(account.id, { ...account });
    if (!effects.touched.has(account.id) && !effects.newAccounts.has(account.id)) {
      effects.touched.set(account.id, { ...account });
    }
  };

  for (const input of request.accounts ?? []) {
    const existing = state.accounts.get(input.id);
    const flags =
      (input.flags?.debitsMustNotExceedCredits ? AccountFlag.debitsMustNotExceedCredits : 0) |
      (input.flags?.creditsMustNotExceedDebits ? AccountFlag.creditsMustNotExceedDebits : 0);
    if (existing) {
      if (existing.unit !== input.unit || existing.flags !== flags) {
        return rollback(
          new GiftstreamError("account_exists_mismatch", `account ${input.id} exists with other settings`, {
            accountId: input.id,
          }),
        );
      }
      continue;
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
    created.add(input.id);
  }

  const rows: TransferRow[] = [];
  const closes: AppliedRequest["closes"] = [];
  for (let index = 0; index < request.transfers.length; index++) {
    const transfer = request.transfers[index]!;
    const metadata: JsonObject | null = transfer.metadata ?? null;
    const at = { transferIndex: index };

    if (transfer.type === "post_pending" || transfer.type === "void_pending") {
      const hold = state.pending.get(transfer.pendingId);
      if (!hold) {
        return rollback(
          new GiftstreamError("pending_transfer_not_found", `no pending transfer ${transfer.pendingId}`, at),
        );
      }
      if (hold.status !== PendingStatus.open) {
        return rollback(new GiftstreamError("pending_transfer_closed", `transfer ${hold.id} is not open`, at));
      }
      // An expired hold is only ever voided; posting it would spend money the owner got back.
      if (transfer.type === "post_pending" && hold.expiresAt !== null && hold.expiresAt <= state.now) {
        return rollback(new GiftstreamError("pending_transfer_expired", `transfer ${hold.id} has expired`, at));
      }
      const debit = state.accounts.get(hold.debitAccountId)!;
      const credit = state.accounts.get(hold.creditAccountId)!;
      invariant(debit && credit, "a hold's accounts are loaded with it");
      const postAmount = transfer.type === "post_pending" ? (transfer.amount ?? hold.amount) : 0n;
      if (postAmount > hold.amount) {
        return rollback(
          new GiftstreamError("post_exceeds_pending", `post of ${postAmount} exceeds hold of ${hold.amount}`, at),
        );
      }
      remember(debit);
      remember(credit);
      debit.debitsPending -= hold.amount;
      credit.creditsPending -= hold.amount;
      if (postAmount > 0n) {
        // Releasing the hold frees exactly what posting takes, so no limit can newly be crossed.
        debit.debitsPosted += postAmount;
        credit.creditsPosted += postAmount;
        if (debit.debitsPosted > int64Max || credit.creditsPosted > int64Max) {
          return rollback(new GiftstreamError("balance_overflow", "running total would pass 2^63-1", at));
        }
      }
      const status = transfer.type === "post_pending" ? PendingStatus.posted : PendingStatus.voided;
      if (!undoPending.has(hold.id)) undoPending.set(hold.id, hold.status);
      hold.status = status;
      closes.push({ id: hold.id, status });
      rows.push({
        type: transfer.type === "post_pending" ? TransferType.post_pending : TransferType.void_pending,
        debitAccountId: hold.debitAccountId,
        creditAccountId: hold.creditAccountId,
        amount: transfer.type === "post_pending" ? postAmount : hold.amount,
        kind: transfer.kind,
        pendingId: hold.id,
        expiresAt: null,
        metadata,
        createdAt: state.now,
      });
      continue;
    }

    const debit = state.accounts.get(transfer.debitAccountId);
    const credit = state.accounts.get(transfer.creditAccountId);
    if (!debit || !credit) {
      const missing = debit ? transfer.creditAccountId : transfer.debitAccountId;
      return rollback(
        new GiftstreamError("account_not_found", `no account ${missing}`, { ...at, accountId: missing }),
      );
    }
    if (debit.unit !== credit.unit) {
      return rollback(
        new GiftstreamError("unit_mismatch", `${debit.id} holds ${debit.unit}, ${credit.id} holds ${credit.unit}`, at),
      );
    }
    const amount = transfer.amount;
    const isPending = transfer.type === "pending";
    if (
      debit.flags & AccountFlag.debitsMustNotExceedCredits &&
      debit.debitsPosted + debit.debitsPending + amount > debit.creditsPosted
    ) {
      return rollback(
        new GiftstreamError("debits_exceed_credits", `account ${debit.id} has too little available`, {
          ...at,
          accountId: debit.id,
        }),
      );
    }
    if (
      credit.flags & AccountFlag.creditsMustNotExceedDebits &&
      credit.creditsPosted + credit.creditsPending + amount > credit.debitsPosted
    ) {
      return rollback(
        new GiftstreamError("credits_exceed_debits", `account ${credit.id} cannot take more credits`, {
          ...at,
          accountId: credit.id,
        }),
      );
    }
    remember(debit);
    remember(credit);
    if (isPending) {
      debit.debitsPending += amount;
      credit.creditsPending += amount;
    } else {
      debit.debitsPosted += amount;
      credit.creditsPosted += amount;
    }
    if (
      debit.debitsPosted + debit.debitsPending > int64Max ||
      credit.creditsPosted + credit.creditsPending > int64Max
    ) {
      return rollback(new GiftstreamError("balance_overflow", "running total would pass 2^63-1", at));
    }
    rows.push({
      type: isPending ? TransferType.pending : TransferType.posted,
      debitAccountId: debit.id,
      creditAccountId: credit.id,
      amount,
      kind: transfer.kind,
      pendingId: null,
      expiresAt: isPending ? (transfer.expiresAt ?? null) : null,
      metadata,
      createdAt: state.now,
    });
  }
  return { rows, closes };
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
      account.creditsPosted - account.debitsPosted - (before ? before.creditsPosted - before.debitsPosted : 0n);
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
  for (const [unit, net] of netPostedByUnit) invariant(net === 0n, `posted ${unit} nets to ${net} in a batch`);
  for (const [unit, net] of netPendingByUnit) invariant(net === 0n, `pending ${unit} nets to ${net} in a batch`);
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
