import type { PayoutState } from "../../providers/payouts/rail.js";
import type { AvailableLot } from "./allocate.js";

/**
 * requested → approved → processing → paid | failed; cancelled or rejected before processing;
 * paid → returned when the money comes back.
 */
export const cashoutStatuses = [
  "requested",
  "approved",
  "processing",
  "paid",
  "failed",
  "cancelled",
  "rejected",
  "returned",
] as const;
export type CashoutStatus = (typeof cashoutStatuses)[number];

/** Which status may follow which. Anything else is refused before a write. */
export const cashoutTransitions: Record<CashoutStatus, readonly CashoutStatus[]> = {
  requested: ["approved", "rejected", "cancelled"],
  approved: ["processing", "rejected", "cancelled"],
  processing: ["paid", "failed"],
  paid: ["returned"],
  failed: [],
  cancelled: [],
  rejected: [],
  returned: [],
};

/** A creator's own cancel works until processing starts. */
export const cancellable: readonly CashoutStatus[] = ["requested", "approved"];

/**
 * Whether a rail's report contradicts a cash-out it can no longer move: the rail says the money
 * reached the creator while our books never paid it (failed, and the diamonds are back), or says it
 * never left while our books paid it. Such a report is never applied; it is an alert for an
 * operator (a late report after an admin resolved the cash-out by hand, say). Reports that agree,
 * or that only repeat what the books already hold (paid after returned, returned after failed),
 * are not.
 */
export function reportContradicts(status: CashoutStatus, reported: PayoutState["status"]): boolean {
  if (reported === "paid") return !["processing", "paid", "returned"].includes(status);
  if (reported === "failed") return status === "paid";
  return false;
}

export interface Cashout {
  id: string;
  userId: string;
  payoutMethodId: string;
  /** The rail that carries the money, chosen when the cash-out is requested. */
  rail: string;
  status: CashoutStatus;
  diamonds: bigint;
  currency: string;
  grossMinor: bigint;
  commissionMinor: bigint;
  netMinor: bigint;
  /** Payout currency units per 1 USD, as an exact decimal string; "1" for USD. */
  exchangeRate: string;
  /** The calendar day, in the region's time zone, whose maximum this cash-out counts against. */
  limitDay: string;
  /** The diamond hold and the daily-allowance hold: posted when paid, voided otherwise. */
  holdTransferId: bigint;
  limitTransferId: bigint;
  /**
   * The diamonds taken, grouped by their locked value and commission rate: what the amounts were
   * computed from. The lots themselves are recorded by the store (`cashout.take_lots`).
   */
  valuation: { diamonds: bigint; valueUsd: string; commissionRate: string }[];
  /** Why it failed, was rejected or returned. */
  reason: string | null;
  /** The rail's own reference, once it has one. */
  railRef: string | null;
  quoteId: string | null;
  createdAt: number;
  updatedAt: number;
}

/** A priced cash-out, valid until `expiresAt`: a request with its id gets these terms. */
export interface Quote {
  id: string;
  userId: string;
  payoutMethodId: string | null;
  diamonds: bigint;
  currency: string;
  grossMinor: bigint;
  commissionMinor: bigint;
  netMinor: bigint;
  exchangeRate: string;
  capped: boolean;
  createdAt: number;
  expiresAt: number;
}

/** Where a page of a listing starts: after the cash-out created at `createdAt` with `id`. */
export interface PageStart {
  createdAt: number;
  id: string;
}

/** Reads of cash-outs, quotes and the lots left to cash out. Writes ride ledger requests as effects. */
export interface CashoutStore {
  get(id: string): Promise<Cashout | undefined>;
  /** Newest first. */
  listByUser(userId: string, before: PageStart | null, limit: number): Promise<Cashout[]>;
  /** Newest first; every status when `status` is null. */
  listByStatus(status: CashoutStatus | null, before: PageStart | null, limit: number): Promise<Cashout[]>;
  /**
   * Cash-outs in `status` last changed at or after `updatedAtMin`, in order of that change, after
   * `after` (a position in that order) when given: the job walks them page by page, round and
   * round, so that no cash-out waits behind others that keep failing.
   */
  due(
    status: CashoutStatus,
    updatedAtMin: number,
    after: { updatedAt: number; id: string } | null,
    limit: number,
  ): Promise<Cashout[]>;
  /** A creator's matured lots with diamonds left to cash out, oldest first, at most `limit`. */
  availableLots(userId: string, limit: number): Promise<AvailableLot[]>;
  saveQuote(quote: Quote): Promise<void>;
  getQuote(id: string): Promise<Quote | undefined>;
}

/** The JSON a cash-out is stored as: amounts and ids as integer strings. */
export type CashoutDocument = ReturnType<typeof cashoutDocument>;

export function cashoutDocument(c: Cashout) {
  return {
    ...c,
    diamonds: c.diamonds.toString(),
    grossMinor: c.grossMinor.toString(),
    commissionMinor: c.commissionMinor.toString(),
    netMinor: c.netMinor.toString(),
    holdTransferId: c.holdTransferId.toString(),
    limitTransferId: c.limitTransferId.toString(),
    valuation: c.valuation.map((g) => ({ ...g, diamonds: g.diamonds.toString() })),
  };
}

export function cashoutFromDocument(d: CashoutDocument): Cashout {
  return {
    ...d,
    diamonds: BigInt(d.diamonds),
    grossMinor: BigInt(d.grossMinor),
    commissionMinor: BigInt(d.commissionMinor),
    netMinor: BigInt(d.netMinor),
    holdTransferId: BigInt(d.holdTransferId),
    limitTransferId: BigInt(d.limitTransferId),
    valuation: d.valuation.map((g) => ({ ...g, diamonds: BigInt(g.diamonds) })),
  };
}

export type QuoteDocument = ReturnType<typeof quoteDocument>;

export function quoteDocument(q: Quote) {
  return {
    ...q,
    diamonds: q.diamonds.toString(),
    grossMinor: q.grossMinor.toString(),
    commissionMinor: q.commissionMinor.toString(),
    netMinor: q.netMinor.toString(),
  };
}

export function quoteFromDocument(d: QuoteDocument): Quote {
  return {
    ...d,
    diamonds: BigInt(d.diamonds),
    grossMinor: BigInt(d.grossMinor),
    commissionMinor: BigInt(d.commissionMinor),
    netMinor: BigInt(d.netMinor),
  };
}

/** A cash-out as the API and its webhook events show it: amounts as integer strings, ISO times. */
export function cashoutView(c: Cashout) {
  return {
    id: c.id,
    userId: c.userId,
    payoutMethodId: c.payoutMethodId,
    rail: c.rail,
    status: c.status,
    diamonds: c.diamonds.toString(),
    currency: c.currency,
    gross: c.grossMinor.toString(),
    commission: c.commissionMinor.toString(),
    net: c.netMinor.toString(),
    exchangeRate: c.exchangeRate,
    limitDay: c.limitDay,
    valuation: c.valuation.map((g) => ({ ...g, diamonds: g.diamonds.toString() })),
    reason: c.reason,
    railRef: c.railRef,
    quoteId: c.quoteId,
    createdAt: new Date(c.createdAt).toISOString(),
    updatedAt: new Date(c.updatedAt).toISOString(),
  };
}
