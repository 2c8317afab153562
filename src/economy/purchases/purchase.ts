import type { PaymentProviderName } from "../../providers/payments/provider.js";

export const purchaseStatuses = [
  "pending",
  "completed",
  "declined",
  "failed",
  "refunded",
  "disputed",
] as const;
export type PurchaseStatus = (typeof purchaseStatuses)[number];

/** Web purchases may be refundable (EEA/UK 14-day rule); in-app store purchases follow the store. */
export type PurchaseChannel = "web" | "app";

export interface Purchase {
  id: string;
  userId: string;
  packId: string;
  coins: bigint;
  /** What the buyer paid, in minor units of `currency`: the price in force when it was sold. */
  priceMinor: bigint;
  currency: string;
  provider: PaymentProviderName;
  status: PurchaseStatus;
  /** The provider's checkout id (a Stripe Checkout Session). */
  providerRef: string | null;
  /** The provider's payment id (a Stripe PaymentIntent), which refunds and disputes name. */
  paymentRef: string | null;
  checkoutUrl: string | null;
  economyVersion: string;
  channel: PurchaseChannel;
  country: string;
  /** Coins and money refunded so far. */
  refundedCoins: bigint;
  refundedMinor: bigint;
  /** Money the chargeback in force took back (0 with none, or once the dispute is won). */
  chargedBackMinor: bigint;
  /** The open or last dispute, if any. */
  disputeId: string | null;
  /** The ledger key of the chargeback in force, from which a won dispute is undone. */
  chargebackKey: string | null;
  /**
   * How many chargebacks were applied, won back or not: part of each chargeback's key, so that a
   * purchase disputed again after a won dispute gets a new chargeback even within one millisecond.
   */
  chargebacks: number;
  createdAt: number;
  updatedAt: number;
}

/** The JSON a purchase is stored and sent as: amounts as integer strings. */
export function purchaseDocument(p: Purchase) {
  return {
    id: p.id,
    userId: p.userId,
    packId: p.packId,
    coins: p.coins.toString(),
    priceMinor: p.priceMinor.toString(),
    currency: p.currency,
    provider: p.provider,
    status: p.status,
    providerRef: p.providerRef,
    paymentRef: p.paymentRef,
    checkoutUrl: p.checkoutUrl,
    economyVersion: p.economyVersion,
    channel: p.channel,
    country: p.country,
    refundedCoins: p.refundedCoins.toString(),
    refundedMinor: p.refundedMinor.toString(),
    chargedBackMinor: p.chargedBackMinor.toString(),
    disputeId: p.disputeId,
    chargebackKey: p.chargebackKey,
    chargebacks: p.chargebacks,
    createdAt: p.createdAt,
    updatedAt: p.updatedAt,
  };
}

export type PurchaseDocument = ReturnType<typeof purchaseDocument>;

export function purchaseFromDocument(d: PurchaseDocument): Purchase {
  return {
    ...d,
    coins: BigInt(d.coins),
    priceMinor: BigInt(d.priceMinor),
    refundedCoins: BigInt(d.refundedCoins),
    refundedMinor: BigInt(d.refundedMinor),
    // Purchases stored before it was kept: a disputed one lost all it had not refunded.
    chargedBackMinor:
      (d.chargedBackMinor as string | undefined) !== undefined
        ? BigInt(d.chargedBackMinor)
        : d.status === "disputed"
          ? BigInt(d.priceMinor) - BigInt(d.refundedMinor)
          : 0n,
    chargebackKey: d.chargebackKey ?? null,
    // Purchases stored before the count existed had had at most their one chargeback key.
    chargebacks: d.chargebacks ?? 0,
  };
}

export interface PurchaseStore {
  getPurchase(id: string): Promise<Purchase | undefined>;
  findByPaymentRef(provider: string, paymentRef: string): Promise<Purchase | undefined>;
  listByUser(
    userId: string,
    before: { createdAt: number; id: string } | null,
    limit: number,
  ): Promise<Purchase[]>;
  /** Whether a provider's webhook event was already applied. */
  hasEvent(provider: string, eventId: string): Promise<boolean>;
}

/** A purchase as the API and its webhook events show it: times as ISO 8601. */
export function purchaseView(d: PurchaseDocument) {
  return {
    id: d.id,
    userId: d.userId,
    packId: d.packId,
    coins: d.coins,
    priceMinor: d.priceMinor,
    currency: d.currency,
    provider: d.provider,
    status: d.status,
    checkoutUrl: d.checkoutUrl,
    economyVersion: d.economyVersion,
    channel: d.channel,
    country: d.country,
    refundedCoins: d.refundedCoins,
    refundedMinor: d.refundedMinor,
    createdAt: new Date(d.createdAt).toISOString(),
    updatedAt: new Date(d.updatedAt).toISOString(),
  };
}
