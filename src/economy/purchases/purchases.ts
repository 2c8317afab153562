import { createHash } from "node:crypto";
import type { Logger } from "pino";
import { GiftstreamError, invariant } from "../../errors.js";
import type { Ledger } from "../../ledger/ledger.js";
import type { AccountInput, JsonObject, LedgerRequest, TransferInput } from "../../ledger/types.js";
import { roundRational } from "../../money/index.js";
import type {
  PaymentEvent,
  PaymentProvider,
  PaymentProviderName,
  WebhookPaymentProvider,
} from "../../providers/payments/provider.js";
import { platformAccounts, userAccounts } from "../accounts.js";
import type { EconomyCatalog } from "../catalog.js";
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
}

const dayMs = 86_400_000;
/** A user restricted for coin debt carries this reason, so repaying lifts only that restriction. */
export const debtRestrictionReason = "coin debt after a chargeback";

/**
 * Coin purchases: selling packs at the price in force, crediting coins only once the provider
 * confirms payment (exactly once, however often it says so), refunds where the law allows them,
 * and chargebacks. Every coin and cent moves through the ledger, with the purchase record written
 * in the same transaction.
 */
export class Purchases {
  constructor(private readonly o: PurchasesOptions) {}

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
    // The id follows from the scoped key, so a retry after a crash finds the same purchase.
    const id = `pur_${createHash("sha256").update(idem.key).digest("base64url").slice(0, 22)}`;
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
      disputeId: null,
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
        const request = await this.completion(purchase, user, now);
        return this.submit({ ...request, idempotencyKey: idem.key, fingerprint: idem.fingerprint });
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
          await this.o.ledger.submit({ transfers: [], effects: [seen] });
          return;
        }
        if (purchase.status !== "pending") return;
        const user = await this.o.users.get(purchase.userId);
        const request = await this.completion({ ...purchase, paymentRef: event.paymentRef }, user, now);
        // Keyed by the purchase, not the event: Stripe may report one payment by two events, and
        // whichever comes second replays the first instead of crediting again.
        await this.o.ledger.submit({
          ...request,
          idempotencyKey: `purchase:${purchase.id}:complete`,
          fingerprint: "complete",
          effects: [...(request.effects ?? []), seen],
        });
        return;
      }
      case "payment.failed": {
        const purchase = await this.o.store.getPurchase(event.purchaseId);
        if (purchase?.status !== "pending") return;
        await this.o.ledger.submit({
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
          if (event.type === "dispute.created") await this.chargeback(purchase.id, event.disputeId);
          else if (event.type === "dispute.closed" && event.outcome === "won") {
            await this.disputeWon(purchase.id, event.disputeId);
          } else if (
            event.type === "payment.refunded" &&
            event.amountRefundedMinor > purchase.refundedMinor
          ) {
            // A refund we did not ask for (made in the provider's dashboard, say) reverses the
            // purchase as a chargeback does; refunds made through Giftstream are already booked.
            await this.chargeback(purchase.id, `refund:${event.eventId}`);
          }
        }
        await this.o.ledger.submit({ transfers: [], effects: [seen] });
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
          await this.o.ledger.submit({
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
        await this.o.ledger.submit({ transfers: [], effects: [seen] });
        return;
      }
      default:
        await this.o.ledger.submit({ transfers: [], effects: [seen] });
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
    const now = this.o.clock();
    const purchase = await this.get(purchaseId);
    const lot = userAccounts.paidCoins(purchase.userId, purchase.id);
    const unused = (await this.o.ledger.balances([lot.id])).get(lot.id)?.available ?? 0n;
    const provider = this.o.providers[purchase.provider];
    const replay = await this.o.ledger.replayOf(idem.key, idem.fingerprint);
    if (replay) return { purchase: replay as unknown as PurchaseDocument, replayed: true };
    const refundMinor = this.refundQuote(purchase, unused, now);
    if (!provider || purchase.paymentRef === null) {
      throw new GiftstreamError("provider_not_available", `provider ${purchase.provider} cannot refund here`);
    }
    const refunded: Purchase = {
      ...purchase,
      status: "refunded",
      refundedCoins: purchase.refundedCoins + unused,
      refundedMinor: purchase.refundedMinor + refundMinor,
      updatedAt: now,
    };
    const moves = reversal(purchase, {
      coinsBack: unused,
      moneyBack: refundMinor,
      to: "sales",
      kind: "refund",
    });
    const result = await this.submit({
      ...moves,
      idempotencyKey: idem.key,
      fingerprint: idem.fingerprint,
      effects: [purchaseEffect(refunded)],
      memo: purchaseDocument(refunded) as unknown as JsonObject,
    });
    try {
      await provider.refund({
        paymentRef: purchase.paymentRef,
        amountMinor: refundMinor,
        currency: purchase.currency,
        idempotencyKey: idem.key,
      });
    } catch (error) {
      this.o.logger.error(
        { err: error, purchaseId },
        "provider refund failed; reversing the refund postings",
      );
      await this.o.ledger.submit({
        idempotencyKey: `${idem.key}:compensate`,
        accounts: moves.accounts,
        transfers: moves.transfers.map((t) => ({
          ...(t as Move),
          debitAccountId: (t as Move).creditAccountId,
          creditAccountId: (t as Move).debitAccountId,
          kind: "refund_failed",
        })),
        effects: [purchaseEffect({ ...purchase, updatedAt: this.o.clock() })],
      });
      throw new GiftstreamError("provider_error", "the payment provider did not refund; nothing was changed");
    }
    return result;
  }

  /**
   * A chargeback (or a refund the provider made on its own): unspent coins are removed, spent ones
   * become coin debt that later purchases repay first, the user is restricted while in debt, and the
   * money the provider took back is booked as a chargeback loss. Keyed by the dispute, so a replayed
   * event applies nothing twice.
   */
  async chargeback(purchaseId: string, disputeId: string): Promise<void> {
    const now = this.o.clock();
    const purchase = await this.get(purchaseId);
    if (purchase.status === "disputed" || purchase.status !== "completed") return;
    const lot = userAccounts.paidCoins(purchase.userId, purchase.id);
    const unused = (await this.o.ledger.balances([lot.id])).get(lot.id)?.available ?? 0n;
    const spent = purchase.coins - purchase.refundedCoins - unused;
    const moneyBack = purchase.priceMinor - purchase.refundedMinor;
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
    const effects = [purchaseEffect({ ...purchase, status: "disputed", disputeId, updatedAt: now })];
    const user = await this.o.users.get(purchase.userId);
    if (spent > 0n && user.status === "active") {
      effects.push({
        type: "user.status",
        data: { userId: user.id, status: "restricted", reason: debtRestrictionReason, at: now },
      });
    }
    await this.o.ledger.submit({
      ...moves,
      accounts: [...moves.accounts, debt],
      idempotencyKey: `purchase:${purchase.id}:dispute:${disputeId}`,
      fingerprint: "dispute",
      effects,
    });
  }

  /** A won dispute reverses the chargeback: coins, debt still owed and money go back. */
  async disputeWon(purchaseId: string, disputeId: string): Promise<void> {
    const now = this.o.clock();
    const purchase = await this.get(purchaseId);
    if (purchase.status !== "disputed" || purchase.disputeId !== disputeId) return;
    const stored = await this.o.ledger.replayOf(`purchase:${purchase.id}:dispute:${disputeId}`, "dispute");
    invariant(stored !== undefined, "a disputed purchase has its chargeback record");
    const chargeback = await this.o.ledger.transfersOf(`purchase:${purchase.id}:dispute:${disputeId}`);
    const debt = userAccounts.coinDebt(purchase.userId);
    const owed = await this.debtOf(purchase.userId);
    const transfers: TransferInput[] = [];
    for (const t of chargeback) {
      if (t.kind === "chargeback_debt") {
        // Debt a later purchase already repaid comes back as coins in this lot instead.
        // biome-ignore lint/complexity/useMathMinMax: Math.min takes no bigint.
        const cancel = owed < t.amount ? owed : t.amount;
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
        transfers.push({
          debitAccountId: t.creditAccountId,
          creditAccountId: t.debitAccountId,
          amount: t.amount,
          kind: "dispute_won",
          metadata: { disputeId },
        });
      }
    }
    const user = await this.o.users.get(purchase.userId);
    const effects = [purchaseEffect({ ...purchase, status: "completed", updatedAt: now })];
    if (user.status === "restricted" && user.statusReason === debtRestrictionReason) {
      effects.push({
        type: "user.status",
        data: { userId: user.id, status: "active", reason: null, at: now },
      });
    }
    await this.o.ledger.submit({
      transfers,
      idempotencyKey: `purchase:${purchase.id}:dispute:${disputeId}:won`,
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
    if (repaid > 0n) {
      transfers.push({
        debitAccountId: lot.id,
        creditAccountId: debt.id,
        amount: repaid,
        kind: "debt_repayment",
        metadata: { purchaseId: purchase.id },
      });
    }
    const completed: Purchase = { ...purchase, status: "completed", updatedAt: now };
    const effects = [purchaseEffect(completed)];
    if (
      repaid === owed &&
      owed > 0n &&
      user.status === "restricted" &&
      user.statusReason === debtRestrictionReason
    ) {
      effects.push({
        type: "user.status",
        data: { userId: user.id, status: "active", reason: null, at: now },
      });
    }
    return { accounts, transfers, effects, memo: purchaseDocument(completed) as unknown as JsonObject };
  }

  private async debtOf(userId: string): Promise<bigint> {
    const balance = (await this.o.ledger.balances([userAccounts.coinDebt(userId).id])).get(
      userAccounts.coinDebt(userId).id,
    );
    return balance ? balance.debitsPosted - balance.creditsPosted : 0n;
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
    const result = await this.o.ledger.submit(request);
    invariant(result.memo !== null, "a purchase request carries its response");
    return { purchase: result.memo as unknown as PurchaseDocument, replayed: result.replayed };
  }

  /** Unused web-bought coins, within the window, where the region allows it; pro rata, half-even. */
  refundQuote(purchase: Purchase, unusedCoins: bigint, now: number): bigint {
    const version = this.o.catalog.at(purchase.createdAt);
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
    return roundRational({ num: purchase.priceMinor * unusedCoins, den: purchase.coins }, "half_even");
  }
}

type Move = Extract<TransferInput, { debitAccountId: string }>;

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
