import { createHash, randomBytes } from "node:crypto";
import type { Logger } from "pino";
import { auditEffect } from "../../access/audit-effect.js";
import { GiftstreamError, invariant, isGiftstreamError } from "../../errors.js";
import type { Ledger } from "../../ledger/ledger.js";
import type { JsonValue, LedgerRequest, StoreEffect, TransferRecord } from "../../ledger/types.js";
import { parseRate, type Rate } from "../../money/index.js";
import type {
  PayoutDestination,
  PayoutOrder,
  PayoutRail,
  PayoutState,
} from "../../providers/payouts/rail.js";
import { cashoutAccounts, creatorAccounts } from "../accounts.js";
import type { EconomyCatalog } from "../catalog.js";
import { cashoutEvent } from "../events/event-data.js";
import { type EventFilter, type EventType, eventTypes, outboxEffects } from "../events/events.js";

type CashoutEventType = Extract<EventType, `cashout.${string}`>;

import type { Gifts } from "../gifts/gifts.js";
import { activityEffect } from "../history/activity.js";
import type { Idempotent } from "../purchases/purchases.js";
import { ageOn } from "../users/user.js";
import type { Users } from "../users/users.js";
import { type Allocation, type AvailableLot, allocate, largestWithinNet } from "./allocate.js";
import {
  type Cashout,
  type CashoutStatus,
  type CashoutStore,
  cancellable,
  cashoutDocument,
  cashoutTransitions,
  type PageStart,
  type Quote,
  reportContradicts,
} from "./cashout.js";
import { calendarDay } from "./day.js";
import { KeyedLock, type KeyedLocks } from "./keyed-lock.js";
import { moneyAccounts, paidTransfers, releaseTransfers, returnedTransfers } from "./postings.js";

/** What the cash-out needs to know of a creator's identity and payout method (docs/kyc.md). */
export interface CashoutGate {
  /** Why `userId` may not cash out to `methodId` now (kyc_required, name_mismatch, method_not_allowed, not_found), or null. */
  blocker(userId: string, methodId: string, now: number): Promise<GiftstreamError | null>;
  /** Where the money goes, for the rail; not_found for a method that is not the user's. */
  destination(userId: string, methodId: string): Promise<PayoutDestination>;
}

export interface CashoutSettings {
  quoteTtlMs: number;
  /** Per payout currency: a cash-out netting at most this approves itself; an unlisted currency never does. */
  autoApproveNetMaxMinor: ReadonlyMap<string, bigint>;
  autoApproveAccountAgeDaysMin: number;
  reviewDaysMax: number;
  paypalArrivalDaysMax: number;
  bankArrivalDaysMax: number;
  returnsWatchDays: number;
  lotsMax: number;
  /** How long a cash-out must have been processing before an admin may resolve it by hand. */
  resolveProcessingHoursMin: number;
}

export interface CashoutsOptions {
  ledger: Ledger;
  store: CashoutStore;
  gifts: Gifts;
  catalog: EconomyCatalog;
  users: Users;
  gate: CashoutGate;
  /** Rails by name. The rail of a cash-out is chosen by `railFor` when it is requested. */
  rails: ReadonlyMap<string, PayoutRail>;
  railFor(destination: PayoutDestination, currency: string, country: string): string | undefined;
  settings: CashoutSettings;
  clock: () => number;
  logger: Logger;
  /** Which webhook events anyone wants; cash-out events are written with the change they report. */
  events?: EventFilter;
  /** Locks per creator and per cash-out; shared by every process on the database (Coordination). */
  locks?: (scope: string) => KeyedLocks;
}

export interface QuoteInput {
  userId: string;
  diamonds?: bigint;
  payoutMethodId?: string;
}

/**
 * An admin's own settlement of a processing cash-out its rail never reported on: paid (with the
 * payment's reference, as a rail names it) or failed. The reason says why it was settled by hand.
 */
export type Resolution =
  | { outcome: "paid"; reference: string; reason: string }
  | { outcome: "failed"; reason: string };

/** A status change made by an idempotent request of its own (an admin's resolve), not a rail's. */
interface Keyed {
  idempotencyKey: string;
  fingerprint: string;
  memo: JsonValue;
  /** Written with the change: the admin's audit entry. */
  effects: StoreEffect[];
}

export type RequestInput =
  | { userId: string; payoutMethodId: string; diamonds: bigint }
  | { userId: string; quoteId: string; payoutMethodId?: string };

/** A quote as answered: the stored quote and what it was measured against. */
export interface QuoteView extends Quote {
  minimumNetMinor: bigint;
  dailyRemainingNetMinor: bigint;
  arrival: { earliestAt: number; latestAt: number };
}

const dayMs = 86_400_000;
const hourMs = 3_600_000;

/**
 * The cash-out lifecycle (DESIGN §2.7): quote, request (diamonds and the day's allowance on hold
 * in one ledger request), approve or reject, process through a rail, and paid, failed, cancelled,
 * rejected or returned, each one ledger request that moves the money and records the new status
 * together, keyed so that it happens once.
 */
export class Cashouts {
  private readonly creatorLock: KeyedLocks;
  private readonly cashoutLock: KeyedLocks;
  /**
   * Held, per rail, while the job hands cash-outs to that rail (from reading them again to the
   * rail's answer), and by an admin's resolve: a cash-out resolved by hand is never submitted
   * after, and one being submitted is resolved only once its rail has answered.
   */
  private readonly railLock: KeyedLocks;
  /** Where the job's walk through each status stopped, so the next pass goes on from there. */
  private readonly cursors = new Map<CashoutStatus, { updatedAt: number; id: string } | null>();

  constructor(private readonly o: CashoutsOptions) {
    this.creatorLock = o.locks?.("creator") ?? new KeyedLock();
    this.cashoutLock = o.locks?.("cashout") ?? new KeyedLock();
    this.railLock = o.locks?.("cashout-rail") ?? new KeyedLock();
  }

  get(id: string): Promise<Cashout | undefined> {
    return this.o.store.get(id);
  }

  listByUser(userId: string, before: PageStart | null, limit: number): Promise<Cashout[]> {
    return this.o.store.listByUser(userId, before, limit);
  }

  listByStatus(status: CashoutStatus | null, before: PageStart | null, limit: number): Promise<Cashout[]> {
    return this.o.store.listByStatus(status, before, limit);
  }

  async mustGet(id: string): Promise<Cashout> {
    const found = await this.o.store.get(id);
    if (!found) throw new GiftstreamError("not_found", `no cash-out ${id}`);
    return found;
  }

  async quote(input: QuoteInput): Promise<QuoteView> {
    return this.creatorLock.run(input.userId, async () => {
      const now = this.o.clock();
      const terms = await this.terms(input.userId, input.payoutMethodId, now);
      const drawable = await this.lots(input.userId);
      const { lots, total } = drawable;
      let allocation: Allocation;
      let capped = false;
      if (input.diamonds === undefined) {
        // "Everything": all withdrawable diamonds, capped to the oldest `lotsMax` lots (`lots`
        // holds no more) and to what is left of today's maximum.
        allocation = allocate(lots, total, terms.currency, terms.rate)!;
        capped = drawable.more;
        if (allocation.value.net > terms.remainingMinor) {
          // What is left of today's maximum cannot reach the minimum: the day's maximum is the
          // reason, not the diamonds (a creator told `below_minimum` would earn more and retry).
          if (terms.remainingMinor < terms.minimumMinor || terms.remainingMinor <= 0n)
            throw overDailyLimit(terms.remainingMinor);
          allocation = largestWithinNet(lots, total, terms.remainingMinor, terms.currency, terms.rate);
          capped = true;
        }
      } else {
        allocation = await this.allocateOrRefuse(
          input.userId,
          drawable,
          input.diamonds,
          terms.currency,
          terms.rate,
          now,
        );
        if (allocation.value.net > terms.remainingMinor) throw overDailyLimit(terms.remainingMinor);
      }
      this.checkMinimum(allocation, terms.minimumMinor);
      const quote: Quote = {
        id: `cq_${randomBytes(12).toString("base64url")}`,
        userId: input.userId,
        payoutMethodId: input.payoutMethodId ?? null,
        ...priced(allocation, terms.rate),
        capped,
        createdAt: now,
        expiresAt: now + this.o.settings.quoteTtlMs,
      };
      await this.o.store.saveQuote(quote);
      return {
        ...quote,
        minimumNetMinor: terms.minimumMinor,
        dailyRemainingNetMinor: terms.remainingMinor,
        arrival: this.arrival(now, terms.destination),
      };
    });
  }

  /** Puts the diamonds and the day's allowance on hold; answers the first result to a replay. */
  async request(input: RequestInput, idem: Idempotent): Promise<{ cashout: Cashout; replayed: boolean }> {
    return this.creatorLock.run(input.userId, async () => {
      const replay = await this.replay(idem);
      if (replay) return { cashout: replay, replayed: true };
      // The id follows from the scoped key, so a retry after a crash finds the same cash-out; past
      // the idempotency retention the key's record is gone but the cash-out is not, and the key
      // keeps naming it rather than overwriting it with a second one.
      const id = `co_${createHash("sha256").update(idem.key).digest("base64url").slice(0, 22)}`;
      const existing = await this.o.store.get(id);
      if (existing) {
        // It answers only the request that made it: an operator's key reused for another creator
        // or amount is a 422, never someone else's cash-out.
        const same =
          existing.userId === input.userId &&
          ("quoteId" in input
            ? existing.quoteId === input.quoteId
            : existing.quoteId === null && existing.diamonds === input.diamonds) &&
          (input.payoutMethodId === undefined || existing.payoutMethodId === input.payoutMethodId);
        if (!same) throw new GiftstreamError("idempotency_key_reused", "this key made another cash-out");
        return { cashout: existing, replayed: true };
      }
      const now = this.o.clock();
      let methodId: string | undefined = input.payoutMethodId;
      let diamonds: bigint;
      let rate: Rate | undefined;
      let quoteId: string | null = null;
      let quoted: Quote | undefined;
      if ("quoteId" in input) {
        const quote = await this.o.store.getQuote(input.quoteId);
        if (!quote || quote.userId !== input.userId) {
          throw new GiftstreamError("not_found", `no quote ${input.quoteId} for ${input.userId}`);
        }
        if (now > quote.expiresAt)
          throw new GiftstreamError("quote_expired", `quote ${quote.id} has expired`);
        // A quote that named its method was priced for it: the request may not pay elsewhere.
        if (quote.payoutMethodId !== null && methodId !== undefined && methodId !== quote.payoutMethodId) {
          throw new GiftstreamError(
            "invalid_request",
            `quote ${quote.id} is for payout method ${quote.payoutMethodId}; leave payoutMethodId out`,
          );
        }
        methodId ??= quote.payoutMethodId ?? undefined;
        diamonds = quote.diamonds;
        rate = parseRate(quote.exchangeRate);
        quoteId = quote.id;
        quoted = quote;
      } else {
        diamonds = input.diamonds;
      }
      if (methodId === undefined) {
        throw new GiftstreamError("invalid_request", "name a payoutMethodId, here or in the quote");
      }
      const terms = await this.terms(input.userId, methodId, now, rate);
      const railName = terms.rail!;
      const allocation = await this.allocateOrRefuse(
        input.userId,
        await this.lots(input.userId),
        diamonds,
        terms.currency,
        terms.rate,
        now,
      );
      // A quote is a promise of a net amount: if the lots it priced have changed (a returned
      // cash-out freed older ones, say) or the region now pays in another currency, the creator
      // quotes again rather than getting other terms than those shown.
      if (
        quoted &&
        (allocation.value.currency !== quoted.currency ||
          allocation.value.net !== quoted.netMinor ||
          allocation.value.gross !== quoted.grossMinor)
      ) {
        throw new GiftstreamError(
          "quote_expired",
          `the terms of quote ${quoted.id} no longer hold (${allocation.value.net} ${allocation.value.currency} net now, ${quoted.netMinor} ${quoted.currency} quoted); ask for a new one`,
        );
      }
      this.checkMinimum(allocation, terms.minimumMinor);
      if (allocation.value.net > terms.remainingMinor) throw overDailyLimit(terms.remainingMinor);

      // Per payout currency: 500 cents and 500 yen are not the same amount.
      const autoMax = this.o.settings.autoApproveNetMaxMinor.get(terms.currency);
      const auto =
        autoMax !== undefined &&
        allocation.value.net <= autoMax &&
        now - terms.userCreatedAt >= this.o.settings.autoApproveAccountAgeDaysMin * dayMs;
      const cashout: Cashout = {
        id,
        userId: input.userId,
        payoutMethodId: methodId,
        rail: railName,
        status: auto ? "approved" : "requested",
        ...priced(allocation, terms.rate),
        limitDay: terms.day,
        holdTransferId: 0n,
        limitTransferId: 0n,
        valuation: valuationOf(allocation),
        reason: null,
        railRef: null,
        quoteId,
        createdAt: now,
        updatedAt: now,
      };
      const withdrawable = creatorAccounts.withdrawableDiamonds(input.userId);
      const allowance = cashoutAccounts.allowance(
        input.userId,
        terms.currency,
        terms.day,
        terms.dailyMaxMinor,
      );
      try {
        await this.o.ledger.submit({
          idempotencyKey: idem.key,
          fingerprint: idem.fingerprint,
          accounts: [
            withdrawable,
            cashoutAccounts.diamondsCashedOut,
            cashoutAccounts.allowanceSource(terms.currency),
            allowance,
            cashoutAccounts.allowanceUsed(terms.currency),
          ],
          transfers: [
            {
              type: "pending",
              debitAccountId: withdrawable.id,
              creditAccountId: cashoutAccounts.diamondsCashedOut.id,
              amount: cashout.diamonds,
              kind: "cashout_hold",
              metadata: { cashoutId: cashout.id },
            },
            {
              type: "pending",
              debitAccountId: allowance.id,
              creditAccountId: cashoutAccounts.allowanceUsed(terms.currency).id,
              amount: cashout.netMinor,
              kind: "cashout_limit",
              metadata: { cashoutId: cashout.id },
            },
          ],
          effectsOf: (transfers) => {
            cashout.holdTransferId = holdOf(transfers, "cashout_hold");
            cashout.limitTransferId = holdOf(transfers, "cashout_limit");
            return [
              cashoutEffect(cashout),
              {
                type: "cashout.take_lots",
                data: {
                  cashoutId: cashout.id,
                  takes: allocation.takes.map((t) => ({ giftId: t.giftId, diamonds: t.diamonds.toString() })),
                },
              },
              historyEffect(cashout, now),
              ...this.eventEffects(cashout, now, auto ? ["requested", "approved"] : ["requested"]),
              // Spent by the cash-out it makes, in the same transaction: one locked rate, one cash-out.
              ...(quoteId === null ? [] : [{ type: "cashout.quote_spent", data: { quoteId } }]),
            ];
          },
          memo: { cashoutId: cashout.id },
        });
      } catch (error) {
        if (isGiftstreamError(error) && error.code === "debits_exceed_credits") {
          if (error.extra?.accountId === allowance.id) throw overDailyLimit(terms.remainingMinor);
          throw new GiftstreamError(
            "insufficient_diamonds",
            `${input.userId} has fewer than ${diamonds} diamonds`,
          );
        }
        throw error;
      }
      return { cashout: await this.mustGet(cashout.id), replayed: false };
    });
  }

  /** The creator's own cancel: until processing starts. */
  async cancel(id: string): Promise<Cashout> {
    return this.cashoutLock.run(id, async () => {
      const c = await this.mustGet(id);
      if (c.status === "cancelled") return c;
      if (!cancellable.includes(c.status)) {
        throw new GiftstreamError("cashout_not_cancellable", `cash-out ${id} is ${c.status}`);
      }
      return this.release(c, "cancelled", null);
    });
  }

  async approve(id: string, actor: string): Promise<Cashout> {
    return this.cashoutLock.run(id, async () => {
      const before = await this.mustGet(id);
      if (before.status === "approved") return before;
      this.checkTransition(before, "approved");
      return this.transition(before, "approved", { transfers: [] }, {}, [
        this.audited(actor, "cashout.approve", id, { status: before.status }, { status: "approved" }),
      ]);
    });
  }

  async reject(id: string, reason: string, actor: string): Promise<Cashout> {
    return this.cashoutLock.run(id, async () => {
      const before = await this.mustGet(id);
      if (before.status === "rejected") return before;
      this.checkTransition(before, "rejected");
      return this.release(before, "rejected", reason, undefined, [
        this.audited(actor, "cashout.reject", id, { status: before.status }, { status: "rejected", reason }),
      ]);
    });
  }

  /**
   * An admin settles a processing cash-out its rail never reported on (a lost PayPal item, a
   * provider outage, a bank file never confirmed) as the rail's own report would: under the
   * cash-out's lock and through `settle`, so paid posts what a rail's paid posts and failed releases
   * the diamonds to their lots as a rail's failure does. Only once it has been processing for
   * `resolveProcessingHoursMin`, so the job and the rail have had their chance. The request's
   * idempotency key is the status change's own, stored with it; a later report of the rail finds
   * the cash-out settled and changes nothing (a contradicting one is an alert, see `settle`).
   */
  async resolve(
    id: string,
    resolution: Resolution,
    idem: Idempotent,
    actor: string,
  ): Promise<{ cashout: Cashout; replayed: boolean }> {
    // A cash-out's rail never changes, so it is read before the locks: the rail's lock first, then
    // the cash-out's, the order the job takes them in.
    const rail = (await this.o.store.get(id))?.rail;
    const settle = () =>
      this.cashoutLock.run(id, async () => {
        const replay = await this.replay(idem);
        if (replay) return { cashout: replay, replayed: true };
        const before = await this.mustGet(id);
        if (before.status !== "processing") {
          throw new GiftstreamError(
            "cashout_state_conflict",
            `cash-out ${id} is ${before.status}; only a processing cash-out can be resolved`,
          );
        }
        // A processing cash-out's updatedAt is when it became processing: polls change nothing.
        const resolvableAt = before.updatedAt + this.o.settings.resolveProcessingHoursMin * hourMs;
        if (this.o.clock() < resolvableAt) {
          const at = new Date(resolvableAt).toISOString();
          throw new GiftstreamError(
            "cashout_resolve_too_early",
            `cash-out ${id} has been processing since ${new Date(before.updatedAt).toISOString()}; its rail may still report, so it can be resolved from ${at}`,
            { resolvableAt: at },
          );
        }
        // A rail that may still send the payout (PayPal posts an unanswered batch again, with
        // every cash-out in it) would pay it after all: resolved failed, the creator would have
        // the diamonds back and the money too.
        const railOf = this.o.rails.get(before.rail);
        if (railOf?.maySendLater && (await railOf.maySendLater(await this.order(before)))) {
          throw new GiftstreamError(
            "cashout_state_conflict",
            `cash-out ${id} is in a ${before.rail} batch the rail never answered, which the job posts again each pass; it can be resolved once the rail has answered`,
          );
        }
        const state: PayoutState =
          resolution.outcome === "paid"
            ? { status: "paid", ref: resolution.reference }
            : { status: "failed", reason: resolution.reason };
        const railRef = resolution.outcome === "paid" ? resolution.reference : before.railRef;
        const after = await this.settle(before, state, {
          idempotencyKey: idem.key,
          fingerprint: idem.fingerprint,
          memo: { cashoutId: id },
          effects: [
            this.audited(
              actor,
              "cashout.resolve",
              id,
              { status: before.status, railRef: before.railRef },
              { status: resolution.outcome, railRef, reason: resolution.reason },
            ),
          ],
        });
        invariant(after.status === resolution.outcome, `a resolved cash-out is ${resolution.outcome}`);
        invariant(after.railRef === railRef, "the audit entry names the cash-out's railRef");
        return { cashout: after, replayed: false };
      });
    return rail === undefined ? settle() : this.railLock.run(rail, settle);
  }

  /**
   * One pass of the cash-out job: approved cash-outs go to their rail (a batch per rail, for
   * rails that take batches), processing ones are polled, and recently paid ones are watched for
   * a return. A cash-out is marked processing before its rail is called, and rails are idempotent
   * by cash-out id, so a crash or a timeout anywhere leads to a poll or a resubmission, never a
   * second payment.
   */
  async process(limit = 100): Promise<number> {
    const now = this.o.clock();
    let moved = 0;
    // Each cash-out is handled once a pass: one just paid is not polled for a return at once.
    const seen = new Set<string>();
    const toSubmit = new Map<string, Cashout[]>();
    const queue = (c: Cashout) => {
      const list = toSubmit.get(c.rail) ?? [];
      list.push(c);
      toSubmit.set(c.rail, list);
    };
    for (const c of await this.page("approved", 0, limit)) {
      seen.add(c.id);
      // A rail taken out of the configuration: the cash-out stays approved, where an operator can
      // still reject it (and release its diamonds), instead of processing with nothing to move it.
      if (!this.o.rails.has(c.rail)) {
        this.o.logger.error(
          { alert: "cashout_rail_missing", cashout: c.id, rail: c.rail },
          "an approved cash-out's rail is not configured; it stays approved",
        );
        continue;
      }
      const processing = await this.guarded(c.id, () =>
        this.cashoutLock.run(c.id, async () => {
          const current = await this.mustGet(c.id);
          return current.status === "approved"
            ? this.transition(current, "processing", { transfers: [] })
            : null;
        }),
      );
      if (processing) {
        moved++;
        queue(processing);
      }
    }
    for (const c of await this.page("processing", 0, limit)) {
      if (seen.has(c.id)) continue;
      seen.add(c.id);
      const state = await this.guarded(c.id, async () => this.rail(c).status(await this.order(c)));
      // The rail never saw it (a crash between marking and submitting): submit it again.
      if (state?.status === "unknown") queue(c);
      else if (state) moved += await this.apply(c.id, state);
    }
    for (const [railName, list] of toSubmit) moved += await this.submitAll(railName, list);
    const watchedFrom = now - this.o.settings.returnsWatchDays * dayMs;
    for (const c of await this.page("paid", watchedFrom, limit)) {
      if (seen.has(c.id)) continue;
      const state = await this.guarded(c.id, async () => this.rail(c).status(await this.order(c)));
      if (state?.status === "returned") moved += await this.apply(c.id, state);
    }
    return moved;
  }

  /**
   * The next page of cash-outs in `status` for the job, continuing where the last pass stopped and
   * starting over once it reaches the end.
   */
  private async page(status: CashoutStatus, updatedAtMin: number, limit: number): Promise<Cashout[]> {
    const after = this.cursors.get(status) ?? null;
    const page = await this.o.store.due(status, updatedAtMin, after, limit);
    const last = page.at(-1);
    this.cursors.set(
      status,
      page.length === limit && last ? { updatedAt: last.updatedAt, id: last.id } : null,
    );
    return page;
  }

  /** What a rail reported of a cash-out, from its webhook or a poll: applied under its lock. */
  async settleById(id: string, state: PayoutState): Promise<Cashout> {
    return this.cashoutLock.run(id, async () => this.settle(await this.mustGet(id), state));
  }

  /** Hands processing cash-outs to their rail: in one batch if the rail takes batches. */
  private async submitAll(railName: string, list: Cashout[]): Promise<number> {
    const states = await this.guarded(railName, () =>
      // Under the rail's lock from the read to the answer, which an admin's resolve takes too: a
      // cash-out resolved after the read below would otherwise still reach its rail.
      this.railLock.run(railName, async () => {
        const rail = this.railNamed(railName);
        // Read again: an admin may have resolved one since this pass read it, and a cash-out no
        // longer processing must never reach its rail again.
        const current = await Promise.all(list.map((c) => this.o.store.get(c.id)));
        const orders = await Promise.all(
          current.filter((c): c is Cashout => c?.status === "processing").map((c) => this.order(c)),
        );
        if (rail.submitBatch) return rail.submitBatch(orders);
        const answers = new Map<string, PayoutState>();
        for (const order of orders) {
          const state = await this.guarded(order.cashoutId, () => rail.submit(order));
          if (state) answers.set(order.cashoutId, state);
        }
        return answers;
      }),
    );
    let moved = 0;
    for (const c of list) {
      const state = states?.get(c.id);
      if (state) moved += await this.apply(c.id, state);
    }
    return moved;
  }

  /** Settles one cash-out under its lock; 1 if its status changed. */
  private async apply(id: string, state: PayoutState): Promise<number> {
    const moved = await this.guarded(id, () =>
      this.cashoutLock.run(id, async () => {
        const before = await this.mustGet(id);
        return (await this.settle(before, state)).status === before.status ? 0 : 1;
      }),
    );
    return moved ?? 0;
  }

  /** Runs one cash-out's (or rail's) step; its trouble (a rail down, say) must not stop the others. */
  private async guarded<T>(what: string, work: () => Promise<T>): Promise<T | null> {
    try {
      return await work();
    } catch (error) {
      this.o.logger.warn({ err: error, cashout: what }, "cash-out step failed; the next pass retries it");
      return null;
    }
  }

  /**
   * Applies what a rail reported: paid, failed, returned; processing leaves it as it is. A return
   * reported for a cash-out still processing (the rail took the money back before we saw it paid,
   * e.g. a PayPal item RETURNED or a bank return) fails it: the diamonds come back either way. An
   * admin's resolve comes here too, with its own idempotency key (`keyed`).
   */
  async settle(c: Cashout, state: PayoutState, keyed?: Keyed): Promise<Cashout> {
    switch (state.status) {
      case "paid":
        if (c.status !== "processing") return this.unchanged(c, state);
        return this.transition(
          c,
          "paid",
          { accounts: moneyAccounts(c), transfers: paidTransfers(c) },
          { railRef: state.ref },
          [],
          keyed,
        );
      case "failed":
        if (c.status !== "processing") return this.unchanged(c, state);
        return this.release(c, "failed", state.reason, keyed);
      case "returned":
        // Money that came back before we booked it paid never left our books: that is a failure.
        if (c.status === "processing") return this.release(c, "failed", state.reason, keyed);
        if (c.status !== "paid") return this.unchanged(c, state);
        return this.transition(
          c,
          "returned",
          {
            accounts: [...moneyAccounts(c), creatorAccounts.withdrawableDiamonds(c.userId)],
            transfers: returnedTransfers(c),
          },
          { reason: state.reason },
          [{ type: "cashout.release_lots", data: { cashoutId: c.id } }],
          keyed,
        );
      default:
        return c;
    }
  }

  /**
   * A report that comes after the cash-out was settled applies nothing: never a second posting.
   * One that contradicts the books (the rail paid a cash-out whose diamonds were released, or failed
   * one booked paid) is an alert: money and books disagree until an operator settles it with the
   * rail and the creator.
   */
  private unchanged(c: Cashout, state: PayoutState): Cashout {
    if (reportContradicts(c.status, state.status)) {
      this.o.logger.error(
        {
          alert: "cashout_rail_report_conflict",
          cashout: c.id,
          rail: c.rail,
          status: c.status,
          reported: state.status,
          ...("ref" in state && state.ref !== null ? { reportedRef: state.ref } : {}),
          ...("reason" in state ? { reportedReason: state.reason } : {}),
          railRef: c.railRef,
        },
        `the ${c.rail} rail reports ${state.status} for a cash-out already ${c.status}; nothing applied`,
      );
    }
    return c;
  }

  private release(
    c: Cashout,
    status: "failed" | "cancelled" | "rejected",
    reason: string | null,
    keyed?: Keyed,
    effects: StoreEffect[] = [],
  ) {
    return this.transition(
      c,
      status,
      { transfers: releaseTransfers(c, `cashout_${status}`) },
      { reason },
      [{ type: "cashout.release_lots", data: { cashoutId: c.id } }, ...effects],
      keyed,
    );
  }

  /** An admin's action, recorded by the ledger request that makes it (audit-effect.ts). */
  private audited(
    actor: string,
    action: string,
    id: string,
    before: JsonValue,
    after: JsonValue,
  ): StoreEffect {
    return auditEffect({ actor, action, target: id, before, after, at: this.o.clock() });
  }

  private checkTransition(c: Cashout, to: CashoutStatus): void {
    if (!cashoutTransitions[c.status].includes(to)) {
      throw new GiftstreamError(
        "cashout_state_conflict",
        `cash-out ${c.id} is ${c.status}; it cannot become ${to}`,
      );
    }
  }

  /**
   * One status change and its postings, keyed by cash-out and status so that it applies once, or by
   * the idempotency key of the request that makes it (`keyed`), its memo stored with it. Either way
   * its holds can be posted or voided only once: the ledger refuses a second.
   */
  private async transition(
    c: Cashout,
    to: CashoutStatus,
    moves: Pick<LedgerRequest, "accounts" | "transfers">,
    changes: Partial<Pick<Cashout, "reason" | "railRef">> = {},
    extraEffects: StoreEffect[] = [],
    keyed?: Keyed,
  ): Promise<Cashout> {
    this.checkTransition(c, to);
    const now = this.o.clock();
    const next: Cashout = { ...c, ...changes, status: to, updatedAt: now };
    await this.o.ledger.submit({
      idempotencyKey: keyed?.idempotencyKey ?? `cashout:${c.id}:${to}`,
      fingerprint: keyed?.fingerprint ?? to,
      ...(keyed ? { memo: keyed.memo } : {}),
      ...moves,
      effects: [
        cashoutEffect(next),
        ...extraEffects,
        ...(keyed?.effects ?? []),
        historyEffect(next, now),
        ...this.eventEffects(next, now, [to]),
      ],
    });
    return this.mustGet(c.id);
  }

  /** The `cashout.<status>` events some endpoint wants, for statuses that have one. */
  private eventEffects(c: Cashout, at: number, statuses: CashoutStatus[]): StoreEffect[] {
    const candidates = statuses
      .map((status) => `cashout.${status}`)
      .filter((type): type is CashoutEventType => (eventTypes as readonly string[]).includes(type))
      .map((type) => ({ type, build: () => cashoutEvent(type, c, at) }));
    return outboxEffects(this.o.events, ...candidates);
  }

  private rail(c: Cashout): PayoutRail {
    return this.railNamed(c.rail);
  }

  private railNamed(name: string): PayoutRail {
    const rail = this.o.rails.get(name);
    if (!rail) throw new Error(`payout rail ${name} is not configured`);
    return rail;
  }

  private async order(c: Cashout): Promise<PayoutOrder> {
    return {
      cashoutId: c.id,
      userId: c.userId,
      currency: c.currency,
      netMinor: c.netMinor,
      destination: await this.o.gate.destination(c.userId, c.payoutMethodId),
    };
  }

  private async replay(idem: Idempotent): Promise<Cashout | undefined> {
    const memo = await this.o.ledger.replayOf(idem.key, idem.fingerprint);
    if (memo === undefined) return undefined;
    return this.mustGet(String((memo as { cashoutId: string }).cashoutId));
  }

  /** Everything a quote or a request is measured against, for this creator, now. */
  private async terms(userId: string, methodId: string | undefined, now: number, lockedRate?: Rate) {
    const user = await this.o.users.get(userId);
    if (user.status !== "active") throw new GiftstreamError("user_restricted", `${userId} is ${user.status}`);
    const economy = this.o.catalog.at(now).economy;
    if (ageOn(user.birthDate, now) < economy.minimumAge) {
      throw new GiftstreamError("underage", `creators must be ${economy.minimumAge} or over to cash out`);
    }
    const region = economy.regions[user.country];
    if (!region)
      throw new GiftstreamError("method_not_allowed", `cash-outs are not offered in ${user.country}`);
    let destination: PayoutDestination | null = null;
    if (methodId !== undefined) {
      const blocker = await this.o.gate.blocker(userId, methodId, now);
      if (blocker) throw blocker;
      destination = await this.o.gate.destination(userId, methodId);
    }
    const currency = region.payoutCurrency;
    const rate = lockedRate ?? (currency === "USD" ? parseRate("1") : economy.exchangeRates[currency]);
    if (!rate) throw new GiftstreamError("method_not_allowed", `no exchange rate for ${currency}`);
    // Checked for a quote that names a method as for a request: a quote no request could redeem
    // promises nothing.
    let rail: string | null = null;
    if (destination !== null) {
      const railName = this.o.railFor(destination, currency, user.country);
      if (railName === undefined || !this.o.rails.has(railName)) {
        throw new GiftstreamError(
          "method_not_allowed",
          `no payout rail carries ${destination.type} payouts in ${currency}`,
        );
      }
      rail = railName;
    }
    const day = calendarDay(now, region.timeZone);
    const dailyMaxMinor = BigInt(region.cashoutDailyMaxNetMinor);
    const allowance = cashoutAccounts.allowance(userId, currency, day, dailyMaxMinor);
    const balance = (await this.o.ledger.balances([allowance.id])).get(allowance.id);
    // An allowance not opened yet is the whole day's maximum.
    const remainingMinor = balance ? balance.available : dailyMaxMinor;
    return {
      country: user.country,
      userCreatedAt: user.createdAt,
      currency,
      rate,
      day,
      dailyMaxMinor,
      remainingMinor: remainingMinor > 0n ? remainingMinor : 0n,
      minimumMinor: BigInt(region.cashoutMinimumNetMinor),
      destination,
      /** The rail that carries the named method's payouts; null when no method was named. */
      rail,
    };
  }

  /**
   * The lots one cash-out may draw from: the creator's oldest `lotsMax`, after moving any whose
   * maturation time has come. One more is read (and matured) to tell whether there are others.
   */
  private async lots(userId: string): Promise<Drawable> {
    const lotsMax = this.o.settings.lotsMax;
    await this.o.gifts.mature(lotsMax + 1, userId);
    const read = await this.o.store.availableLots(userId, lotsMax + 1);
    const lots = read.slice(0, lotsMax);
    return { lots, total: lots.reduce((sum, lot) => sum + lot.diamonds, 0n), more: read.length > lotsMax };
  }

  /**
   * Takes `diamonds` from the drawable lots, or refuses: `too_many_lots` when the creator has them
   * but in more lots than one cash-out may draw from, `insufficient_diamonds` when they do not.
   */
  private async allocateOrRefuse(
    userId: string,
    drawable: Drawable,
    diamonds: bigint,
    currency: string,
    rate: Rate,
    now: number,
  ): Promise<Allocation> {
    const allocation = allocate(drawable.lots, diamonds, currency, rate);
    if (allocation) return allocation;
    if (drawable.more && (await this.o.gifts.withdrawableDiamonds(userId, now)) >= diamonds) {
      const lotsMax = this.o.settings.lotsMax;
      throw new GiftstreamError(
        "too_many_lots",
        `${diamonds} diamonds are in more than the ${lotsMax} lots one cash-out may draw from; at most ${drawable.total} now, and the rest in another cash-out`,
        { diamondsMax: drawable.total.toString() },
      );
    }
    throw new GiftstreamError("insufficient_diamonds", `fewer than ${diamonds} withdrawable diamonds`);
  }

  private checkMinimum(allocation: Allocation, minimumMinor: bigint): void {
    // A cash-out of nothing is below any minimum, even a minimum of zero.
    if (allocation.value.net < minimumMinor || allocation.value.net <= 0n) {
      throw new GiftstreamError(
        "below_minimum",
        `the net ${allocation.value.net} is under the minimum of ${minimumMinor} ${allocation.value.currency} minor units`,
        { netMinor: allocation.value.net.toString(), minimumNetMinor: minimumMinor.toString() },
      );
    }
  }

  private arrival(now: number, destination: PayoutDestination | null) {
    const s = this.o.settings;
    const methodDays =
      destination?.type === "paypal"
        ? s.paypalArrivalDaysMax
        : destination?.type === "bank_account"
          ? s.bankArrivalDaysMax
          : Math.max(s.paypalArrivalDaysMax, s.bankArrivalDaysMax);
    return { earliestAt: now, latestAt: now + (s.reviewDaysMax + methodDays) * dayMs };
  }
}

/** The lots one cash-out may draw from, oldest first, their diamonds, and whether others exist. */
interface Drawable {
  lots: AvailableLot[];
  total: bigint;
  more: boolean;
}

/** The terms a quote and a cash-out record of what was taken. */
function priced(allocation: Allocation, rate: Rate) {
  return {
    diamonds: allocation.diamonds,
    currency: allocation.value.currency,
    grossMinor: allocation.value.gross,
    commissionMinor: allocation.value.commission,
    netMinor: allocation.value.net,
    exchangeRate: rate.text,
  };
}

function overDailyLimit(remainingMinor: bigint): GiftstreamError {
  return new GiftstreamError(
    "over_daily_limit",
    `only ${remainingMinor} minor units are left of today's maximum`,
    {
      dailyRemainingNetMinor: remainingMinor.toString(),
    },
  );
}

function holdOf(transfers: readonly TransferRecord[], kind: string): bigint {
  const hold = transfers.find((t) => t.kind === kind && t.type === "pending");
  if (!hold) throw new Error(`a cash-out request records its ${kind}`);
  return hold.id;
}

function valuationOf(allocation: Allocation): Cashout["valuation"] {
  const groups = new Map<string, Cashout["valuation"][number]>();
  for (const t of allocation.takes) {
    const key = `${t.valueUsd}|${t.commissionRate}`;
    const group = groups.get(key);
    if (group) group.diamonds += t.diamonds;
    else groups.set(key, { diamonds: t.diamonds, valueUsd: t.valueUsd, commissionRate: t.commissionRate });
  }
  return [...groups.values()];
}

function cashoutEffect(c: Cashout): StoreEffect {
  return { type: "cashout.upsert", data: cashoutDocument(c) as unknown as StoreEffect["data"] };
}

function historyEffect(c: Cashout, at: number): StoreEffect {
  return activityEffect({
    userId: c.userId,
    kind: "cashout",
    at,
    amounts: {
      diamonds: c.diamonds.toString(),
      grossMinor: c.grossMinor.toString(),
      commissionMinor: c.commissionMinor.toString(),
      netMinor: c.netMinor.toString(),
      currency: c.currency,
      status: c.status,
    },
    counterparty: null,
    context: null,
    economyVersion: null,
    ref: c.id,
  });
}
