import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { GiftstreamError, invariant } from "../../errors.js";
import type { Ledger } from "../../ledger/ledger.js";
import type { AccountInput, JsonObject, LedgerRequest, TransferInput } from "../../ledger/types.js";
import { multiplyRate, roundRational } from "../../money/index.js";
import {
  type PaymentEvent,
  type PaymentProvider,
  type PaymentProviderName,
  PaymentRefusedError,
  type WebhookPaymentProvider,
} from "../../providers/payments/provider.js";
import { creatorAccounts, platformAccounts, userAccounts } from "../accounts.js";
import { KeyedLock, type KeyedLocks } from "../cashouts/keyed-lock.js";
import type { EconomyCatalog } from "../catalog.js";
import type { Economy } from "../config/parse.js";
import { purchaseEvent, userRestrictedEvent } from "../events/event-data.js";
import { type EventFilter, outboxEffects } from "../events/events.js";
import { type GiftLot, type GiftStore, pendingLotsKey } from "../gifts/gifts.js";
import { activityEffect } from "../history/activity.js";
import { ageOn, type User } from "../users/user.js";
import type { Users } from "../users/users.js";
import {
  type Purchase,
  type PurchaseChannel,
  type PurchaseDocument,
  type PurchaseStore,
  purchaseDocument,
} from "./purchase.js";

export type TestOutcome = "succeed" | "decline" | "pending";

export interface CreatePurchase {
  userId: string;
  packId: string;
  provider: PaymentProviderName;
  channel?: PurchaseChannel;
  testOutcome?: TestOutcome;
}

/** The caller's idempotency: a key scoped to caller and route, bound to a fingerprint of the request. */
export interface Idempotent {
  key: string;
  fingerprint: string;
}

export interface PurchasesOptions {
  ledger: Ledger;
  store: PurchaseStore;
  catalog: EconomyCatalog;
  users: Users;
  clock: () => number;
  logger: Logger;
  /** Configured providers by name; `test` only in test mode. */
  providers: Partial<Record<PaymentProviderName, PaymentProvider>>;
  checkoutUrls: { successUrl: string; cancelUrl: string };
  /** Where gifts record their diamonds, so a chargeback can follow spent coins to them. */
  gifts?: GiftStore;
  /** Which webhook events anyone wants; purchases report theirs in the transaction that makes them. */
  events?: EventFilter;
  /** The gift service's lock on pending diamonds (`pendingLotsKey`): chargebacks take diamonds back under it. */
  lotsLock?: KeyedLocks;
  /**
   * Per buyer, held from reading their coin debt to booking what follows from it (a repayment, a
   * restriction lifted or imposed), across processes. Taken after `lotsLock` when both are.
   */
  debtLock?: KeyedLocks;
}

const dayMs = 86_400_000;
/** A lot's history is read at most this many pages of 1,000 when a chargeback traces its coins. */
const chargebackHistoryPagesMax = 100;

type StoreEffectLike = { type: string; data: JsonObject };

/** A refund as booked in the ledger, before the provider is asked: `moves` when this request booked it. */
interface BookedRefund {
  purchase: PurchaseDocument;
  replayed: boolean;
  refundMinor: bigint;
  moves?: ReturnType<typeof reversal>;
}
/** A user restricted for coin debt carries this reason, so repaying lifts only that restriction. */
export const debtRestrictionReason = "coin debt after a chargeback";

/**
 * Coin purchases: selling packs at the price in force, crediting coins only once the provider
 * confirms payment (exactly once, however often it says so), refunds where the law allows them,
 * and chargebacks. Every coin and cent moves through the ledger, with the purchase record written
 * in the same transaction.
 */
export class Purchases {
  private readonly lotsLock: KeyedLocks;
  /**
   * Two purchases completing at once both read the same debt and both booked its repayment (the
   * ledger refused the second with an internal code); a won dispute or a purchase could lift the
   * restriction a chargeback had just imposed. Each reads the debt and books under this lock.
   */
  private readonly debtLock: KeyedLocks;

  constructor(private readonly o: PurchasesOptions) {
    this.lotsLock = o.lotsLock ?? new KeyedLock();
    this.debtLock = o.debtLock ?? new KeyedLock();
  }

  async get(id: string): Promise<Purchase> {
    const purchase = await this.o.store.getPurchase(id);
    if (!purchase) throw new GiftstreamError("not_found", `no purchase ${id}`);
    return purchase;
  }

  listByUser(userId: string, before: { createdAt: number; id: string } | null, limit: number) {
    return this.o.store.listByUser(userId, before, limit);
  }

  /** Sells a pack of the buyer's own country at the price in force now. */
  async create(
    input: CreatePurchase,
    idem: Idempotent,
  ): Promise<{ purchase: PurchaseDocument; replayed: boolean }> {
    // A retry is answered before anything else is checked: the buyer may have been restricted, or
    // the price changed, since the first answer.
    const replay = await this.o.ledger.replayOf(idem.key, idem.fingerprint);
    if (replay) return { purchase: replay as unknown as PurchaseDocument, replayed: true };
    const id = `pur_${createHash("sha256").update(idem.key).digest("base64url").slice(0, 22)}`;
    // Past the idempotency retention the key's record is gone, but the purchase is not. It answers
    // only the request that made it: an operator's key reused for another buyer or pack is a
    // 422, never someone else's purchase.
    const existing = await this.o.store.getPurchase(id);
    if (existing) {
      const same =
        existing.userId === input.userId &&
        existing.packId === input.packId &&
        existing.provider === input.provider &&
        existing.channel === (input.channel ?? "web");
      if (!same) throw new GiftstreamError("idempotency_key_reused", "this key made another purchase");
      return { purchase: purchaseDocument(existing), replayed: true };
    }
    const now = this.o.clock();
    const user = await this.o.users.get(input.userId);
    this.assertMayBuy(user, now);
    const { version, region } = this.o.catalog.region(user.country, now);
    const pack = region.packs.find((p) => p.id === input.packId);
    if (!pack) {
      throw new GiftstreamError(
        "pack_not_available_here",
        `pack ${input.packId} is not sold in ${user.country}`,
      );
    }
    const provider = this.o.providers[input.provider];
    if (!provider) {
      throw new GiftstreamError(
        "provider_not_available",
        `payment provider ${input.provider} is not available here`,
      );
    }
    if (input.testOutcome !== undefined && input.provider !== "test") {
      throw new GiftstreamError("invalid_request", "testOutcome applies only to the test provider");
    }
    // The id follows from the scoped key (above), so a retry after a crash finds the same purchase.
    const purchase: Purchase = {
      id,
      userId: user.id,
      packId: pack.id,
      coins: pack.coins,
      priceMinor: pack.priceMinor,
      currency: region.currency,
      provider: input.provider,
      status: "pending",
      providerRef: null,
      paymentRef: null,
      checkoutUrl: null,
      economyVersion: version.id,
      channel: input.channel ?? "web",
      country: user.country,
      refundedCoins: 0n,
      refundedMinor: 0n,
      chargedBackMinor: 0n,
      disputeId: null,
      chargebackKey: null,
      chargebacks: 0,
      createdAt: now,
      updatedAt: now,
    };

    const checkoutRequest = {
      purchaseId: id,
      userId: user.id,
      packId: pack.id,
      coins: pack.coins,
      amountMinor: pack.priceMinor,
      currency: region.currency,
      idempotencyKey: idem.key,
      ...this.o.checkoutUrls,
    };
    if (input.provider === "test") {
      purchase.providerRef = (await provider.createCheckout(checkoutRequest)).providerRef;
      const outcome = input.testOutcome ?? "succeed";
      if (outcome === "succeed") {
        purchase.paymentRef = `test_payment_${id}`;
        return this.debtLock.run(user.id, async () => {
          const request = await this.completion(purchase, await this.o.users.get(user.id), now);
          return this.submit({ ...request, idempotencyKey: idem.key, fingerprint: idem.fingerprint });
        });
      }
      purchase.status = outcome === "decline" ? "declined" : "pending";
      return this.submit(recordOnly(purchase, idem));
    }

    // Local record first would leave a row for a checkout that may never exist; the provider's own
    // idempotency key makes creating the checkout first safe to repeat instead.
    const checkout = await provider.createCheckout(checkoutRequest);
    purchase.providerRef = checkout.providerRef;
    purchase.checkoutUrl = checkout.redirectUrl;
    return this.submit(recordOnly(purchase, idem));
  }

  /** Applies what a provider reported by verified webhook; replays apply nothing twice. */
  async applyEvents(provider: WebhookPaymentProvider, events: PaymentEvent[]): Promise<void> {
    for (const event of events) {
      if (await this.o.store.hasEvent(provider.name, event.eventId)) continue;
      await this.applyEvent(provider.name, event);
    }
  }

  private async applyEvent(provider: PaymentProviderName, event: PaymentEvent): Promise<void> {
    const now = this.o.clock();
    const seen = eventRecord(provider, event, now);
    switch (event.type) {
      case "payment.succeeded": {
        const purchase = await this.o.store.getPurchase(event.purchaseId);
        if (!purchase || purchase.provider !== provider) {
          this.o.logger.warn(
            { eventId: event.eventId, purchaseId: event.purchaseId },
            "payment for an unknown purchase",
          );
          // Not acknowledged: the provider delivers it again, and an operator can look meanwhile.
          throw new GiftstreamError("not_found", `no ${provider} purchase ${event.purchaseId}`);
        }
        if (purchase.providerRef !== null && event.providerRef !== purchase.providerRef) {
          // A checkout this purchase did not open (a Payment Link carrying its id, say): the money
          // is real but was not taken by the checkout that sold these coins. Not credited; an
          // operator refunds or credits it by hand.
          this.o.logger.error(
            {
              alert: "payment_of_another_checkout",
              purchaseId: purchase.id,
              eventId: event.eventId,
              checkout: event.providerRef,
            },
            "payment names this purchase but came from another checkout; nothing credited",
          );
          await this.commit({ transfers: [], effects: [seen] });
          return;
        }
        if (event.amountMinor !== purchase.priceMinor || event.currency !== purchase.currency) {
          // Never credit coins for money that does not match what was sold.
          this.o.logger.error(
            {
              alert: "payment_amount_mismatch",
              purchaseId: purchase.id,
              eventId: event.eventId,
              expected: `${purchase.priceMinor} ${purchase.currency}`,
              paid: `${event.amountMinor} ${event.currency}`,
            },
            "payment amount or currency does not match the purchase; nothing credited",
          );
          await this.commit({ transfers: [], effects: [seen] });
          return;
        }
        if (purchase.status !== "pending") return;
        await this.debtLock.run(purchase.userId, async () => {
          const user = await this.o.users.get(purchase.userId);
          const request = await this.completion({ ...purchase, paymentRef: event.paymentRef }, user, now);
          // Keyed by the purchase, not the event: Stripe may report one payment by two events, and
          // whichever comes second replays the first instead of crediting again.
          await this.commit({
            ...request,
            idempotencyKey: `purchase:${purchase.id}:complete`,
            fingerprint: "complete",
            effects: [...(request.effects ?? []), seen],
          });
        });
        return;
      }
      case "payment.failed": {
        const purchase = await this.o.store.getPurchase(event.purchaseId);
        if (purchase?.status !== "pending") return;
        await this.commit({
          transfers: [],
          effects: [purchaseEffect({ ...purchase, status: "failed", updatedAt: now }), seen],
        });
        return;
      }
      case "dispute.created":
      case "dispute.closed":
      case "payment.refunded": {
        const purchase = await this.o.store.findByPaymentRef(provider, event.paymentRef);
        if (purchase) {
          if (event.type === "dispute.created") {
            if (event.currency !== purchase.currency) {
              this.o.logger.error(
                { alert: "dispute_currency_mismatch", purchaseId: purchase.id, disputeId: event.disputeId },
                "a dispute in another currency than the payment's: applied as a dispute of all of it",
              );
            }
            await this.chargeback(
              purchase.id,
              event.disputeId,
              event.currency === purchase.currency ? event.amountMinor : undefined,
            );
          } else if (event.type === "dispute.closed" && event.outcome === "won") {
            await this.disputeWon(purchase.id, event.disputeId);
          } else if (
            event.type === "payment.refunded" &&
            event.amountRefundedMinor > purchase.refundedMinor
          ) {
            // A refund we did not ask for (made in the provider's dashboard, say); refunds made
            // through Giftstream are already booked. A full one reverses the purchase as a
            // chargeback does; a partial one returns only its money, and is flagged for an operator.
            if (event.amountRefundedMinor >= purchase.priceMinor) {
              await this.chargeback(purchase.id, `refund:${event.eventId}`);
            } else {
              await this.externalPartialRefund(
                purchase,
                event.amountRefundedMinor - purchase.refundedMinor,
                now,
              );
            }
          }
        }
        await this.commit({ transfers: [], effects: [seen] });
        return;
      }
      case "fee.reported": {
        const purchase = await this.o.store.findByPaymentRef(provider, event.paymentRef);
        if (!purchase) {
          // Stripe reports the charge before the checkout that names our purchase. Not recorded as
          // seen and not a 2xx, so Stripe delivers it again, by when the payment is known.
          throw new GiftstreamError(
            "not_found",
            `payment ${event.paymentRef} is not known yet; deliver again`,
          );
        }
        if (event.feeMinor > 0n) {
          const fees = platformAccounts.providerFees(event.currency, provider);
          const receivable = platformAccounts.providerReceivable(event.currency, provider);
          // One fee per payment: a second report of it replays the first.
          await this.commit({
            idempotencyKey: `purchase:${purchase.id}:fee`,
            fingerprint: "fee",
            accounts: [fees, receivable],
            transfers: [
              {
                debitAccountId: fees.id,
                creditAccountId: receivable.id,
                amount: event.feeMinor,
                kind: "provider_fee",
                metadata: { purchaseId: purchase.id },
              },
            ],
          });
        }
        await this.commit({ transfers: [], effects: [seen] });
        return;
      }
      default:
        await this.commit({ transfers: [], effects: [seen] });
        return;
    }
  }

  /**
   * Refunds the unused coins of a web purchase, pro rata, where the region allows it and within the
   * window. The ledger moves first (coins back to the issuer, the money owed back to the buyer);
   * then the provider refunds, with a key that makes a retry refund once; if the provider refuses,
   * a correcting transfer puts everything back.
   */
  async refund(
    purchaseId: string,
    idem: Idempotent,
  ): Promise<{ purchase: PurchaseDocument; replayed: boolean }> {
    const purchase = await this.get(purchaseId);
    // The key is checked against this request first: the same key for another purchase is
    // `idempotency_key_reused`, whatever became of the refund it made.
    const replay = (await this.o.ledger.replayOf(idem.key, idem.fingerprint)) as
      | (PurchaseDocument & { refundMinor?: string })
      | undefined;
    const compensationKey = `${idem.key}:compensate`;
    // A record without a memo replays as null: only undefined means there was none.
    if ((await this.o.ledger.replayOf(compensationKey, "compensate")) !== undefined) {
      throw new GiftstreamError(
        "provider_error",
        "the payment provider refused this refund earlier and it was undone; send a new Idempotency-Key to try again",
      );
    }
    if (purchase.paymentRef === null) {
      // Pending, declined or failed: nothing was paid, so nothing is refundable.
      throw new GiftstreamError("coins_non_refundable", `purchase ${purchase.id} was never paid`);
    }
    const provider = this.o.providers[purchase.provider];
    if (!provider) {
      throw new GiftstreamError("provider_not_available", `provider ${purchase.provider} cannot refund here`);
    }
    // A replay still asks the provider (with the same key, so it refunds once): the first attempt
    // may have ended between booking the refund and the provider's answer.
    let booked: BookedRefund;
    if (replay) {
      booked = { purchase: replay, replayed: true, refundMinor: BigInt(replay.refundMinor ?? "0") };
    } else {
      booked = await this.debtLock.run(purchase.userId, () => this.bookRefund(purchase.id, idem));
    }
    try {
      await provider.refund({
        paymentRef: purchase.paymentRef,
        amountMinor: booked.refundMinor,
        currency: purchase.currency,
        idempotencyKey: idem.key,
      });
    } catch (error) {
      if (!(error instanceof PaymentRefusedError)) {
        // The provider may or may not have refunded: keep the refund booked; a retry with the same
        // key asks again, and the provider's own key makes it refund once.
        this.o.logger.error(
          { err: error, purchaseId },
          "provider refund unanswered; retry with the same key",
        );
        throw new GiftstreamError(
          "provider_error",
          "the payment provider did not answer; retry with the same Idempotency-Key",
        );
      }
      // A chargeback since the refund was booked (a provider refuses to refund a disputed
      // payment) left the purchase disputed and its coins gone: undoing the refund from the state
      // it was booked in would put coins back in the lot and mark the purchase completed. That is
      // an operator's call, so the refund stays booked and one is alerted.
      const current = await this.get(purchaseId);
      if (current.status !== "refunded") {
        this.o.logger.error(
          { err: error, purchaseId, alert: "refund_refused_after_chargeback", status: current.status },
          "provider refused a refund booked before a chargeback; the refund stays booked for an operator",
        );
        throw new GiftstreamError(
          "provider_error",
          `the payment provider refused the refund, and the purchase is ${current.status} since; an operator must settle it`,
        );
      }
      this.o.logger.error(
        { err: error, purchaseId },
        "provider refused the refund; reversing the refund postings",
      );
      // On a replay `purchase` was read after the refund was booked: undo it from that state.
      // Coins are refunded once per purchase, so its refunded coins are this refund's.
      const coinsBack = booked.moves ? 0n : BigInt(booked.purchase.refundedCoins);
      const before = booked.moves
        ? purchase
        : {
            ...purchase,
            status: "completed" as const,
            refundedCoins: purchase.refundedCoins - coinsBack,
            refundedMinor: purchase.refundedMinor - booked.refundMinor,
          };
      const moves =
        booked.moves ??
        reversal(before, { coinsBack, moneyBack: booked.refundMinor, to: "sales", kind: "refund" });
      await this.commit({
        idempotencyKey: compensationKey,
        fingerprint: "compensate",
        accounts: moves.accounts,
        transfers: moves.transfers.map((t) => ({
          ...t,
          debitAccountId: t.creditAccountId,
          creditAccountId: t.debitAccountId,
          kind: "refund_refused",
        })),
        effects: [purchaseEffect({ ...before, updatedAt: this.o.clock() })],
      });
      throw new GiftstreamError(
        "provider_error",
        "the payment provider refused the refund; nothing was changed",
      );
    }
    await this.reportRefund(booked.purchase);
    return { purchase: booked.purchase, replayed: booked.replayed };
  }

  /**
   * `purchase.refunded`, once the provider has refunded. The refund was booked before the provider
   * was asked, and is undone if it refuses, so the event cannot ride with the booking: it is
   * written on its own once the provider has answered yes. A crash in between is mended by what
   * the refund needs anyway, a retry with the same key, and the event's id (one refund per
   * purchase) keeps that retry from making a second event.
   */
  private async reportRefund(refunded: PurchaseDocument): Promise<void> {
    const effects = outboxEffects(this.o.events, {
      type: "purchase.refunded",
      build: () => purchaseEvent("purchase.refunded", refunded, refunded.id, this.o.clock()),
    });
    if (effects.length > 0) await this.commit({ transfers: [], effects });
  }

  /**
   * A partial refund made at the provider, not through Giftstream: its money is booked back, and
   * the coins stay as they are. Which coins it meant to take back is an operator's call, so it is
   * logged for one.
   */
  private async externalPartialRefund(purchase: Purchase, moneyBack: bigint, now: number): Promise<void> {
    const moves = reversal(purchase, { coinsBack: 0n, moneyBack, to: "sales", kind: "external_refund" });
    await this.commit({
      ...moves,
      // One per state of the purchase: two reports racing from one state book the first only, and
      // the next report (amounts are cumulative) books whatever is still missing.
      idempotencyKey: `purchase:${purchase.id}:external-refund:${purchase.updatedAt}`,
      fingerprint: "external-refund",
      effects: [
        purchaseEffect({ ...purchase, refundedMinor: purchase.refundedMinor + moneyBack, updatedAt: now }),
      ],
    });
    this.o.logger.warn(
      { alert: "external_partial_refund", purchaseId: purchase.id, moneyBack: moneyBack.toString() },
      "a partial refund was made at the provider; its money is booked, coins were not adjusted",
    );
  }

  /**
   * A chargeback (or a refund the provider made on its own): unspent coins are removed, spent ones
   * become coin debt that later purchases repay first, the user is restricted while in debt, and the
   * money the provider took back is booked as a chargeback loss. Keyed by the dispute, so a replayed
   * event applies nothing twice. `takenMinor` is what the provider took back, when it says (a
   * dispute of part of a payment); otherwise all that was not refunded.
   */
  chargeback(purchaseId: string, disputeId: string, takenMinor?: bigint): Promise<void> {
    // Which of a creator's diamonds are still pending is read, and taken back, under the lock the
    // maturation job moves them under.
    return this.underLotsAndDebt(purchaseId, () => this.applyChargeback(purchaseId, disputeId, takenMinor));
  }

  /** `work` under the pending-lots lock, then the purchase's buyer's debt lock, in that order. */
  private underLotsAndDebt(purchaseId: string, work: () => Promise<void>): Promise<void> {
    return this.lotsLock.run(pendingLotsKey, async () => {
      const { userId } = await this.get(purchaseId);
      return this.debtLock.run(userId, work);
    });
  }

  private async applyChargeback(purchaseId: string, disputeId: string, takenMinor?: bigint): Promise<void> {
    const now = this.o.clock();
    const purchase = await this.get(purchaseId);
    // Refunded purchases may still be disputed for what was not refunded.
    if (purchase.status !== "completed" && purchase.status !== "refunded") return;
    const lot = userAccounts.paidCoins(purchase.userId, purchase.id);
    const unused = (await this.o.ledger.balances([lot.id])).get(lot.id)?.available ?? 0n;
    const spent = purchase.coins - purchase.refundedCoins - unused;
    const notRefunded = purchase.priceMinor - purchase.refundedMinor;
    // The money booked is the money taken: a dispute of part of a payment takes back that part,
    // and booking the whole would leave the provider's receivable short by the rest. The coins go
    // as a whole all the same: a payment under dispute buys nothing while the dispute stands.
    const moneyBack = takenMinor !== undefined && takenMinor < notRefunded ? takenMinor : notRefunded;
    if (moneyBack < notRefunded) {
      this.o.logger.warn(
        { alert: "partial_dispute", purchaseId, disputeId, takenMinor: moneyBack.toString() },
        "a dispute of part of a payment: its coins are reversed in full, its money in part",
      );
    }
    const moves = reversal(purchase, { coinsBack: unused, moneyBack, to: "chargebacks", kind: "chargeback" });
    const debt = userAccounts.coinDebt(purchase.userId);
    if (spent > 0n) {
      moves.transfers.push({
        debitAccountId: debt.id,
        creditAccountId: platformAccounts.coinsIssued.id,
        amount: spent,
        kind: "chargeback_debt",
        metadata: { purchaseId: purchase.id, disputeId },
      });
    }
    const disputed: Purchase = {
      ...purchase,
      status: "disputed",
      disputeId,
      chargedBackMinor: moneyBack,
      chargebackKey: chargebackKey(purchase),
      chargebacks: purchase.chargebacks + 1,
      updatedAt: now,
    };
    const effects = [purchaseEffect(disputed)];
    effects.push(
      activityEffect({
        userId: purchase.userId,
        kind: "chargeback",
        at: now,
        amounts: {
          coinsRemoved: unused.toString(),
          debtCoins: spent.toString(),
          moneyMinor: moneyBack.toString(),
        },
        counterparty: null,
        context: null,
        economyVersion: purchase.economyVersion,
        ref: purchase.id,
      }),
    );
    const diamonds = await this.diamondsOf(lot.id, now);
    moves.transfers.push(...diamonds.transfers);
    effects.push(...diamonds.effects);
    moves.accounts.push(platformAccounts.diamondsIssued, platformAccounts.diamondChargebackLosses);
    const user = await this.o.users.get(purchase.userId);
    const restricts = spent > 0n && user.status === "active";
    if (restricts) {
      effects.push({
        type: "user.status",
        data: { userId: user.id, status: "restricted", reason: debtRestrictionReason, at: now },
      });
    }
    // Named by the chargeback's key, as the chargeback itself is: a replayed event makes neither twice.
    effects.push(
      ...outboxEffects(
        this.o.events,
        {
          type: "purchase.disputed",
          build: () =>
            purchaseEvent("purchase.disputed", purchaseDocument(disputed), chargebackKey(purchase), now),
        },
        ...(restricts
          ? [
              {
                type: "user.restricted" as const,
                build: () =>
                  userRestrictedEvent(
                    { ...user, status: "restricted", statusReason: debtRestrictionReason, updatedAt: now },
                    chargebackKey(purchase),
                    now,
                  ),
              },
            ]
          : []),
      ),
    );
    await this.commit({
      ...moves,
      accounts: [...moves.accounts, debt],
      // One key per state of the purchase: two reversals racing from the same state (a dispute and a
      // dashboard refund, say) apply once; the second replays the first.
      idempotencyKey: chargebackKey(purchase),
      fingerprint: "chargeback",
      effects,
    });
  }

  /** Books a refund: coin debt repaid first from the lot, the rest refunded. Under the buyer's debt lock. */
  private async bookRefund(purchaseId: string, idem: Idempotent): Promise<BookedRefund> {
    // Read again under the lock: a refund or chargeback just before may have changed it.
    const purchase = await this.get(purchaseId);
    const now = this.o.clock();
    const lot = userAccounts.paidCoins(purchase.userId, purchase.id);
    const unused = (await this.o.ledger.balances([lot.id])).get(lot.id)?.available ?? 0n;
    // Coins owed after a chargeback are repaid first, as from a later purchase; only the rest
    // is refunded. Without this the buyer got money back for coins the debt says are spent.
    const owed = await this.debtOf(purchase.userId);
    const repaid = owed < unused ? owed : unused;
    const coinsBack = unused - repaid;
    if (unused > 0n && coinsBack === 0n) {
      throw new GiftstreamError(
        "coins_non_refundable",
        `its ${unused} unused coins are owed as coin debt after a chargeback; nothing is left to refund`,
      );
    }
    // Every check before anything moves: a refused refund changes nothing.
    const refundMinor = this.refundQuote(purchase, coinsBack, now);
    // Keyed by the amount too: a retry that finds another amount owed (a chargeback since) repays
    // that, instead of replaying the first repayment while refunding as if it had repaid the new one.
    if (repaid > 0n) await this.repayDebtFrom(purchase, repaid, owed, `${idem.key}:repay:${repaid}`, now);
    const refunded: Purchase = {
      ...purchase,
      status: "refunded",
      refundedCoins: purchase.refundedCoins + coinsBack,
      refundedMinor: purchase.refundedMinor + refundMinor,
      updatedAt: now,
    };
    const moves = reversal(purchase, {
      coinsBack,
      moneyBack: refundMinor,
      to: "sales",
      kind: "refund",
    });
    const result = await this.submit({
      ...moves,
      idempotencyKey: idem.key,
      fingerprint: idem.fingerprint,
      effects: [
        purchaseEffect(refunded),
        activityEffect({
          userId: purchase.userId,
          kind: "refund",
          at: now,
          amounts: {
            coins: coinsBack.toString(),
            moneyMinor: refundMinor.toString(),
            debtRepaidCoins: repaid.toString(),
          },
          counterparty: null,
          context: null,
          economyVersion: purchase.economyVersion,
          ref: purchase.id,
        }),
      ],
      memo: { ...purchaseDocument(refunded), refundMinor: refundMinor.toString() } as unknown as JsonObject,
    });
    return { ...result, refundMinor, moves };
  }

  /** A won dispute reverses the chargeback: coins, debt still owed and money go back. */
  disputeWon(purchaseId: string, disputeId: string): Promise<void> {
    // Whether a lot matured meanwhile decides where its diamonds go back to: read under the lock.
    return this.underLotsAndDebt(purchaseId, () => this.applyDisputeWon(purchaseId, disputeId));
  }

  private async applyDisputeWon(purchaseId: string, disputeId: string): Promise<void> {
    const now = this.o.clock();
    const purchase = await this.get(purchaseId);
    if (purchase.status !== "disputed" || purchase.disputeId !== disputeId) return;
    invariant(purchase.chargebackKey !== null, "a disputed purchase names its chargeback");
    // A chargeback of a purchase already refunded in full moved nothing, but its record exists.
    const chargeback = await this.o.ledger.transfersOf(purchase.chargebackKey);
    invariant(chargeback !== undefined, "a disputed purchase has its chargeback record");
    const debt = userAccounts.coinDebt(purchase.userId);
    const owed = await this.debtOf(purchase.userId);
    const transfers: TransferInput[] = [];
    const accounts: AccountInput[] = [];
    const giftEffects: StoreEffectLike[] = [];
    let cancelled = 0n;
    for (const t of chargeback) {
      if (t.kind === "chargeback_debt") {
        // Debt a later purchase already repaid comes back as coins in this lot instead.
        // biome-ignore lint/complexity/useMathMinMax: Math.min takes no bigint.
        const cancel = owed - cancelled < t.amount ? owed - cancelled : t.amount;
        cancelled += cancel;
        if (cancel > 0n)
          transfers.push({
            debitAccountId: t.creditAccountId,
            creditAccountId: debt.id,
            amount: cancel,
            kind: "dispute_won",
            metadata: { disputeId },
          });
        if (t.amount > cancel) {
          transfers.push({
            debitAccountId: platformAccounts.coinsIssued.id,
            creditAccountId: userAccounts.paidCoins(purchase.userId, purchase.id).id,
            amount: t.amount - cancel,
            kind: "dispute_won",
            metadata: { disputeId },
          });
        }
      } else {
        let creditAccountId = t.debitAccountId;
        const giftId = t.metadata?.giftId;
        if (t.kind === "chargeback_diamonds" && typeof giftId === "string") {
          // The diamonds are the creator's again. A lot still pending matures them with the rest;
          // one that matured meanwhile will not move them again, so they go to withdrawable now.
          const lot = await this.o.gifts?.getLot(giftId);
          if (lot?.status === "matured") {
            const withdrawable = creatorAccounts.withdrawableDiamonds(lot.recipientId);
            creditAccountId = withdrawable.id;
            accounts.push(withdrawable);
          }
          giftEffects.push({ type: "gift.reverse", data: { id: giftId, diamonds: (-t.amount).toString() } });
        }
        transfers.push({
          debitAccountId: t.creditAccountId,
          creditAccountId,
          amount: t.amount,
          kind: "dispute_won",
          metadata: { disputeId },
        });
      }
    }
    const user = await this.o.users.get(purchase.userId);
    const effects = [
      purchaseEffect({
        ...purchase,
        // Back to what it was before the chargeback: a refund stays a refund.
        status: purchase.refundedCoins > 0n || purchase.refundedMinor > 0n ? "refunded" : "completed",
        chargedBackMinor: 0n,
        chargebackKey: null,
        updatedAt: now,
      }),
      ...giftEffects,
      activityEffect({
        userId: purchase.userId,
        kind: "chargeback",
        at: now,
        amounts: { reversed: "1" },
        counterparty: null,
        context: null,
        economyVersion: purchase.economyVersion,
        ref: purchase.id,
      }),
    ];
    // Another purchase's chargeback may still leave coins owed: the restriction stays until they are.
    if (cancelled === owed) effects.push(...debtRestrictionLifted(user, now));
    await this.commit({
      accounts,
      transfers,
      // Won once per chargeback: a later dispute of the same purchase has its own chargeback key.
      idempotencyKey: `${purchase.chargebackKey}:won`,
      fingerprint: "won",
      effects,
    });
  }

  /** The postings that complete a paid purchase: coins in a new lot, the money owed by the provider. */
  private async completion(purchase: Purchase, user: User, now: number): Promise<LedgerRequest> {
    const lot = userAccounts.paidCoins(user.id, purchase.id);
    const debt = userAccounts.coinDebt(user.id);
    const receivable = platformAccounts.providerReceivable(purchase.currency, purchase.provider);
    const sales = platformAccounts.coinSales(purchase.currency);
    const accounts: AccountInput[] = [platformAccounts.coinsIssued, lot, debt, receivable, sales];
    const transfers: TransferInput[] = [
      {
        debitAccountId: platformAccounts.coinsIssued.id,
        creditAccountId: lot.id,
        amount: purchase.coins,
        kind: "purchase",
        metadata: { purchaseId: purchase.id },
      },
      {
        debitAccountId: receivable.id,
        creditAccountId: sales.id,
        amount: purchase.priceMinor,
        kind: "purchase",
        metadata: { purchaseId: purchase.id },
      },
    ];
    // Coins owed after a chargeback are repaid first from what a later purchase brings.
    const owed = await this.debtOf(user.id);
    // biome-ignore lint/complexity/useMathMinMax: Math.min takes no bigint.
    const repaid = owed < purchase.coins ? owed : purchase.coins;
    if (repaid > 0n) transfers.push(debtRepayment(purchase, repaid));
    const completed: Purchase = { ...purchase, status: "completed", updatedAt: now };
    const effects = [
      purchaseEffect(completed),
      // A purchase completes once: the event is named by the purchase alone.
      ...outboxEffects(this.o.events, {
        type: "purchase.completed",
        build: () => purchaseEvent("purchase.completed", purchaseDocument(completed), completed.id, now),
      }),
      activityEffect({
        userId: user.id,
        kind: "purchase",
        at: now,
        amounts: {
          coins: purchase.coins.toString(),
          moneyMinor: purchase.priceMinor.toString(),
          debtRepaidCoins: repaid.toString(),
        },
        counterparty: null,
        context: null,
        economyVersion: purchase.economyVersion,
        ref: purchase.id,
      }),
    ];
    if (repaid === owed && owed > 0n) effects.push(...debtRestrictionLifted(user, now));
    return { accounts, transfers, effects, memo: purchaseDocument(completed) as unknown as JsonObject };
  }

  /**
   * Repays `repaid` of the `owed` coin debt from a purchase's lot before the rest is refunded, in
   * its own request: a repayment stands on its own, so a provider that then refuses the refund
   * undoes the refund only. It lifts the debt restriction once nothing is owed, as a purchase does.
   */
  private async repayDebtFrom(
    purchase: Purchase,
    repaid: bigint,
    owed: bigint,
    idempotencyKey: string,
    now: number,
  ): Promise<void> {
    const user = await this.o.users.get(purchase.userId);
    await this.commit({
      idempotencyKey,
      fingerprint: "repay",
      accounts: [
        userAccounts.paidCoins(purchase.userId, purchase.id),
        userAccounts.coinDebt(purchase.userId),
      ],
      transfers: [debtRepayment(purchase, repaid)],
      effects: repaid === owed ? debtRestrictionLifted(user, now) : [],
    });
  }

  private async debtOf(userId: string): Promise<bigint> {
    const balance = (await this.o.ledger.balances([userAccounts.coinDebt(userId).id])).get(
      userAccounts.coinDebt(userId).id,
    );
    return balance ? balance.debitsPosted - balance.creditsPosted : 0n;
  }

  /**
   * Submits to the ledger; users whose status the request changed, and the lot order of the buyer
   * whose purchase it touched, are read afresh next time.
   */
  private async commit(request: LedgerRequest) {
    try {
      return await this.o.ledger.submit(request);
    } finally {
      for (const id of statusChangedUsers(request)) this.o.users.forget(id);
      // A purchase that completes, is disputed or is won back changes which lots its buyer spends.
      for (const e of request.effects ?? []) {
        if (e.type === "purchase.upsert") this.o.gifts?.forgetLots(String(e.data.userId));
      }
    }
  }

  private assertMayBuy(user: User, now: number): void {
    // A user restricted for coin debt may still buy: buying is how the debt gets repaid.
    const inDebtOnly = user.status === "restricted" && user.statusReason === debtRestrictionReason;
    if (user.status !== "active" && !inDebtOnly) {
      throw new GiftstreamError("user_restricted", `user ${user.id} is ${user.status}`);
    }
    const minimumAge = this.o.catalog.at(now).economy.minimumAge;
    if (ageOn(user.birthDate, now) < minimumAge) {
      throw new GiftstreamError("underage", `buyers must be ${minimumAge} or over`);
    }
  }

  private async submit(request: LedgerRequest): Promise<{ purchase: PurchaseDocument; replayed: boolean }> {
    const result = await this.commit(request);
    invariant(result.memo !== null, "a purchase request carries its response");
    return { purchase: result.memo as unknown as PurchaseDocument, replayed: result.replayed };
  }

  /**
   * The diamonds that coins of this lot bought: still pending, they are taken back from the
   * creator (as far as their pending balance goes); matured or paid out, the creator keeps them and
   * they are booked to the diamond chargeback-loss account.
   */
  private async diamondsOf(
    lotAccountId: string,
    now: number,
  ): Promise<{ transfers: Move[]; effects: StoreEffectLike[] }> {
    const transfers: Move[] = [];
    const effects: StoreEffectLike[] = [];
    if (!this.o.gifts) return { transfers, effects };
    const spentByGift = new Map<string, bigint>();
    let cursor: string | undefined;
    for (let page = 0; page < chargebackHistoryPagesMax; page++) {
      const history = await this.o.ledger.history(lotAccountId, {
        limit: 1000,
        ...(cursor ? { cursor } : {}),
      });
      for (const t of history.transfers) {
        const giftId = t.metadata?.giftId;
        if (t.kind === "gift" && t.debitAccountId === lotAccountId && typeof giftId === "string") {
          spentByGift.set(giftId, (spentByGift.get(giftId) ?? 0n) + t.amount);
        }
      }
      if (history.nextCursor === null) break;
      cursor = history.nextCursor;
    }
    const pendingLeft = new Map<string, bigint>();
    for (const [giftId, coins] of spentByGift) {
      const lot = await this.o.gifts.getLot(giftId);
      if (!lot || lot.coins === 0n) continue;
      const diamonds = shareOf(
        lot,
        coins,
        this.o.catalog.recorded(lot.economyVersion, lot.createdAt).economy,
      );
      if (diamonds === 0n) continue;
      const pending = creatorAccounts.pendingDiamonds(lot.recipientId);
      if (!pendingLeft.has(pending.id)) {
        pendingLeft.set(
          pending.id,
          (await this.o.ledger.balances([pending.id])).get(pending.id)?.available ?? 0n,
        );
      }
      const stillPending = lot.status === "pending" && lot.maturesAt > now;
      const available = pendingLeft.get(pending.id)!;
      // biome-ignore lint/complexity/useMathMinMax: Math.min takes no bigint.
      const reversed = stillPending ? (available < diamonds ? available : diamonds) : 0n;
      if (reversed > 0n) {
        pendingLeft.set(pending.id, available - reversed);
        transfers.push({
          debitAccountId: pending.id,
          creditAccountId: platformAccounts.diamondsIssued.id,
          amount: reversed,
          kind: "chargeback_diamonds",
          metadata: { giftId },
        });
        effects.push({ type: "gift.reverse", data: { id: giftId, diamonds: reversed.toString() } });
        effects.push(
          activityEffect({
            userId: lot.recipientId,
            kind: "chargeback",
            at: now,
            amounts: { diamondsReversed: reversed.toString() },
            counterparty: null,
            context: null,
            economyVersion: null,
            ref: giftId,
          }),
        );
      }
      if (diamonds > reversed) {
        transfers.push({
          debitAccountId: platformAccounts.diamondChargebackLosses.id,
          creditAccountId: platformAccounts.diamondsIssued.id,
          amount: diamonds - reversed,
          kind: "chargeback_diamonds_kept",
          metadata: { giftId },
        });
      }
    }
    return { transfers, effects };
  }

  /** Unused web-bought coins, within the window, where the region allows it; pro rata, half-even. */
  refundQuote(purchase: Purchase, unusedCoins: bigint, now: number): bigint {
    const version = this.o.catalog.recorded(purchase.economyVersion, purchase.createdAt);
    const region = version.economy.regions[purchase.country];
    const windowMs = this.o.catalog.at(now).economy.refunds.windowDays * dayMs;
    if (
      !region?.refundableWebPurchases ||
      purchase.channel !== "web" ||
      purchase.status !== "completed" ||
      now - purchase.createdAt > windowMs ||
      unusedCoins <= 0n
    ) {
      throw new GiftstreamError("coins_non_refundable");
    }
    const proRata = roundRational(
      { num: purchase.priceMinor * unusedCoins, den: purchase.coins },
      "half_even",
    );
    // Money a partial refund at the provider already gave back (`externalPartialRefund`) is not
    // given twice: never more than is left of what was paid.
    const notRefunded = purchase.priceMinor - purchase.refundedMinor;
    if (notRefunded <= 0n) {
      throw new GiftstreamError("coins_non_refundable", "the payment was already refunded at the provider");
    }
    // biome-ignore lint/complexity/useMathMinMax: Math.min takes no bigint.
    return proRata < notRefunded ? proRata : notRefunded;
  }
}

type Move = Extract<TransferInput, { debitAccountId: string }>;

/** Coins owed after a chargeback, repaid from a purchase's lot (a later purchase, or a refund). */
function debtRepayment(purchase: Purchase, amount: bigint): Move {
  return {
    debitAccountId: userAccounts.paidCoins(purchase.userId, purchase.id).id,
    creditAccountId: userAccounts.coinDebt(purchase.userId).id,
    amount,
    kind: "debt_repayment",
    metadata: { purchaseId: purchase.id },
  };
}

/** Lifts a restriction for coin debt once nothing is owed; any other restriction stays. */
function debtRestrictionLifted(user: User, now: number): StoreEffectLike[] {
  return user.status === "restricted" && user.statusReason === debtRestrictionReason
    ? [{ type: "user.status", data: { userId: user.id, status: "active", reason: null, at: now } }]
    : [];
}

/** The ledger key of a chargeback taken from this state of the purchase. */
function chargebackKey(purchase: Purchase): string {
  return `purchase:${purchase.id}:chargeback:${purchase.chargebacks}:${purchase.updatedAt}`;
}

/** Coins back from the purchase's lot to the issuer, and money from sales (or to losses) back to the provider. */
function reversal(
  purchase: Purchase,
  o: { coinsBack: bigint; moneyBack: bigint; to: "sales" | "chargebacks"; kind: string },
): { accounts: AccountInput[]; transfers: Move[] } {
  const lot = userAccounts.paidCoins(purchase.userId, purchase.id);
  const receivable = platformAccounts.providerReceivable(purchase.currency, purchase.provider);
  const from =
    o.to === "sales"
      ? platformAccounts.coinSales(purchase.currency)
      : platformAccounts.chargebackLosses(purchase.currency);
  const metadata = { purchaseId: purchase.id };
  const transfers: Move[] = [];
  if (o.coinsBack > 0n) {
    transfers.push({
      debitAccountId: lot.id,
      creditAccountId: platformAccounts.coinsIssued.id,
      amount: o.coinsBack,
      kind: o.kind,
      metadata,
    });
  }
  if (o.moneyBack > 0n) {
    transfers.push({
      debitAccountId: from.id,
      creditAccountId: receivable.id,
      amount: o.moneyBack,
      kind: o.kind,
      metadata,
    });
  }
  return { accounts: [platformAccounts.coinsIssued, lot, receivable, from], transfers };
}

/**
 * The diamonds of a gift that `coins` paid coins of one purchase bought, rounded down: never more
 * than the lot holds. Where bonus coins earned too, every coin of the gift bought its share; where
 * they did not, only paid coins earned, each at the rate the gift was sent at.
 */
function shareOf(lot: GiftLot, coins: bigint, economy: Economy): bigint {
  if (economy.earnings.bonusCoinsEarn) return (lot.diamonds * coins) / lot.coins;
  const bought = multiplyRate(coins, economy.coinToDiamondRate, "down").result;
  // biome-ignore lint/complexity/useMathMinMax: Math.min takes no bigint.
  return bought < lot.diamonds ? bought : lot.diamonds;
}

function statusChangedUsers(request: LedgerRequest): string[] {
  return (request.effects ?? []).filter((e) => e.type === "user.status").map((e) => String(e.data.userId));
}

function purchaseEffect(purchase: Purchase) {
  return { type: "purchase.upsert", data: purchaseDocument(purchase) as unknown as JsonObject };
}

function recordOnly(purchase: Purchase, idem: Idempotent): LedgerRequest {
  return {
    transfers: [],
    effects: [purchaseEffect(purchase)],
    idempotencyKey: idem.key,
    fingerprint: idem.fingerprint,
    memo: purchaseDocument(purchase) as unknown as JsonObject,
  };
}

function eventRecord(provider: string, event: PaymentEvent, at: number) {
  return {
    type: "provider_event.record",
    data: { provider, eventId: event.eventId, type: event.type, at },
  };
}
