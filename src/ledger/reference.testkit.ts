import type { AccountInput, LedgerRequest, TransferInput } from "./types.js";

/**
 * A deliberately simple ledger: one request at a time, plain maps, no batching and no store.
 * Property tests run the same operations through the real ledger and through this one, and
 * demand identical answers, ids and balances.
 */
export interface RefAccount {
  unit: string;
  flags: { debitsMustNotExceedCredits: boolean; creditsMustNotExceedDebits: boolean };
  debitsPosted: bigint;
  creditsPosted: bigint;
  debitsPending: bigint;
  creditsPending: bigint;
}

export interface RefHold {
  id: bigint;
  debit: string;
  credit: string;
  amount: bigint;
  expiresAt: number | null;
  open: boolean;
}

export type RefOutcome = { ok: true; ids: bigint[]; replayed: boolean } | { ok: false; code: string };

const int64Max = 2n ** 63n - 1n;

export class ReferenceLedger {
  readonly accounts = new Map<string, RefAccount>();
  readonly holds = new Map<bigint, RefHold>();
  /** Every recorded transfer id per account, oldest first. */
  readonly history = new Map<string, bigint[]>();
  private readonly keys = new Map<string, { fingerprint: string; outcome: RefOutcome }>();
  private nextId = 1n;

  constructor(private readonly amountMax: bigint) {}

  /** Applies requests submitted together, in order; keys shared within the group follow the first. */
  applyGroup(requests: LedgerRequest[], now: number): RefOutcome[] {
    const leaders = new Map<string, { fingerprint: string; outcome: RefOutcome }>();
    return requests.map((request) => {
      const key = request.idempotencyKey;
      const fingerprint = fingerprintOf(request);
      if (key !== undefined) {
        const stored = this.keys.get(key) ?? leaders.get(key);
        if (stored) {
          if (stored.fingerprint !== fingerprint) return { ok: false, code: "idempotency_key_reused" };
          return stored.outcome.ok ? { ...stored.outcome, replayed: true } : stored.outcome;
        }
      }
      const outcome = this.apply(request, now);
      if (key !== undefined) {
        leaders.set(key, { fingerprint, outcome });
        if (outcome.ok) this.keys.set(key, { fingerprint, outcome });
      }
      return outcome;
    });
  }

  /** The holds the expiry job voids, in the order it voids them. */
  expired(now: number): bigint[] {
    return [...this.holds.values()]
      .filter((h) => h.open && h.expiresAt !== null && h.expiresAt <= now)
      .sort((a, b) => a.expiresAt! - b.expiresAt! || (a.id < b.id ? -1 : 1))
      .map((h) => h.id);
  }

  private apply(request: LedgerRequest, now: number): RefOutcome {
    // Work on copies; keep them only if every step succeeds.
    const accounts = new Map([...this.accounts].map(([id, a]) => [id, { ...a, flags: { ...a.flags } }]));
    const holds = new Map([...this.holds].map(([id, h]) => [id, { ...h }]));
    const written: { id: bigint; debit: string; credit: string }[] = [];
    let nextId = this.nextId;
    for (const input of request.accounts ?? []) {
      const error = ensure(accounts, input);
      if (error) return { ok: false, code: error };
    }
    for (const t of request.transfers) {
      const before = written.length;
      const error =
        t.type === "cascade"
          ? cascadeStep(accounts, t, this.amountMax, nextId, written)
          : step(accounts, holds, t, now, this.amountMax, nextId, written);
      if (error) return { ok: false, code: error };
      nextId += BigInt(written.length - before);
    }
    this.accounts.clear();
    for (const [id, a] of accounts) this.accounts.set(id, a);
    this.holds.clear();
    for (const [id, h] of holds) this.holds.set(id, h);
    for (const w of written) {
      for (const account of [w.debit, w.credit]) {
        const list = this.history.get(account) ?? [];
        list.push(w.id);
        this.history.set(account, list);
      }
    }
    this.nextId = nextId;
    return { ok: true, ids: written.map((w) => w.id), replayed: false };
  }
}

function ensure(accounts: Map<string, RefAccount>, input: AccountInput): string | null {
  const flags = {
    debitsMustNotExceedCredits: input.flags?.debitsMustNotExceedCredits ?? false,
    creditsMustNotExceedDebits: input.flags?.creditsMustNotExceedDebits ?? false,
  };
  const existing = accounts.get(input.id);
  if (existing) {
    const same =
      existing.unit === input.unit &&
      existing.flags.debitsMustNotExceedCredits === flags.debitsMustNotExceedCredits &&
      existing.flags.creditsMustNotExceedDebits === flags.creditsMustNotExceedDebits;
    return same ? null : "account_exists_mismatch";
  }
  accounts.set(input.id, {
    unit: input.unit,
    flags,
    debitsPosted: 0n,
    creditsPosted: 0n,
    debitsPending: 0n,
    creditsPending: 0n,
  });
  return null;
}

/** Takes from each account in turn what it has (all, when it has no limit), until covered. */
function cascadeStep(
  accounts: Map<string, RefAccount>,
  t: Extract<TransferInput, { type: "cascade" }>,
  amountMax: bigint,
  firstId: bigint,
  written: { id: bigint; debit: string; credit: string }[],
): string | null {
  if (t.amount <= 0n || t.amount > amountMax) return "invalid_amount";
  const credit = accounts.get(t.creditAccountId);
  if (!credit) return "account_not_found";
  let left = t.amount;
  const takes: [string, bigint][] = [];
  for (const id of t.debitAccountIds) {
    if (left === 0n) break;
    const debit = accounts.get(id);
    if (!debit) return "account_not_found";
    if (debit.unit !== credit.unit) return "unit_mismatch";
    const has = debit.flags.debitsMustNotExceedCredits
      ? debit.creditsPosted - debit.debitsPosted - debit.debitsPending
      : left;
    // biome-ignore lint/complexity/useMathMinMax: Math.min takes no bigint.
    const take = has < left ? has : left;
    if (take > 0n) {
      takes.push([id, take]);
      left -= take;
    }
  }
  if (left > 0n) return "debits_exceed_credits";
  if (
    credit.flags.creditsMustNotExceedDebits &&
    credit.creditsPosted + credit.creditsPending + t.amount > credit.debitsPosted
  ) {
    return "credits_exceed_debits";
  }
  let id = firstId;
  for (const [debitId, take] of takes) {
    accounts.get(debitId)!.debitsPosted += take;
    credit.creditsPosted += take;
    written.push({ id: id++, debit: debitId, credit: t.creditAccountId });
  }
  return null;
}

function step(
  accounts: Map<string, RefAccount>,
  holds: Map<bigint, RefHold>,
  t: Exclude<TransferInput, { type: "cascade" }>,
  now: number,
  amountMax: bigint,
  id: bigint,
  written: { id: bigint; debit: string; credit: string }[],
): string | null {
  if (t.type === "post_pending" || t.type === "void_pending") {
    const hold = holds.get(t.pendingId);
    if (!hold) return "pending_transfer_not_found";
    if (!hold.open) return "pending_transfer_closed";
    if (t.type === "post_pending" && hold.expiresAt !== null && hold.expiresAt <= now) {
      return "pending_transfer_expired";
    }
    const amount = t.type === "post_pending" ? (t.amount ?? hold.amount) : 0n;
    if (amount > hold.amount) return "post_exceeds_pending";
    const debit = accounts.get(hold.debit)!;
    const credit = accounts.get(hold.credit)!;
    debit.debitsPending -= hold.amount;
    credit.creditsPending -= hold.amount;
    debit.debitsPosted += amount;
    credit.creditsPosted += amount;
    hold.open = false;
    written.push({ id, debit: hold.debit, credit: hold.credit });
    return null;
  }
  if (t.amount <= 0n || t.amount > amountMax) return "invalid_amount";
  if (t.debitAccountId === t.creditAccountId) return "same_account";
  const debit = accounts.get(t.debitAccountId);
  const credit = accounts.get(t.creditAccountId);
  if (!debit || !credit) return "account_not_found";
  if (debit.unit !== credit.unit) return "unit_mismatch";
  if (
    debit.flags.debitsMustNotExceedCredits &&
    debit.debitsPosted + debit.debitsPending + t.amount > debit.creditsPosted
  ) {
    return "debits_exceed_credits";
  }
  if (
    credit.flags.creditsMustNotExceedDebits &&
    credit.creditsPosted + credit.creditsPending + t.amount > credit.debitsPosted
  ) {
    return "credits_exceed_debits";
  }
  if (
    debit.debitsPosted + debit.debitsPending + t.amount > int64Max ||
    credit.creditsPosted + credit.creditsPending + t.amount > int64Max
  ) {
    return "balance_overflow";
  }
  if (t.type === "pending") {
    debit.debitsPending += t.amount;
    credit.creditsPending += t.amount;
    holds.set(id, {
      id,
      debit: t.debitAccountId,
      credit: t.creditAccountId,
      amount: t.amount,
      expiresAt: t.expiresAt ?? null,
      open: true,
    });
  } else {
    debit.debitsPosted += t.amount;
    credit.creditsPosted += t.amount;
  }
  written.push({ id, debit: t.debitAccountId, credit: t.creditAccountId });
  return null;
}

function fingerprintOf(request: LedgerRequest): string {
  const { idempotencyKey: _key, ...rest } = request;
  return JSON.stringify(rest, (_k, v) => (typeof v === "bigint" ? `${v}n` : v));
}
