/**
 * The payments port: how a coin purchase is paid for. The domain never imports a vendor SDK; each
 * provider (the built-in `test` one, Stripe) adapts its API to these shapes.
 *
 * Amounts are bigint minor units of `currency` (ISO 4217, upper case).
 */

export type PaymentProviderName = "test" | "stripe";

export interface CheckoutRequest {
  purchaseId: string;
  userId: string;
  packId: string;
  coins: bigint;
  amountMinor: bigint;
  currency: string;
  /** The provider's own idempotency key: a retry of the same purchase creates no second checkout. */
  idempotencyKey: string;
  /** Where the provider sends the buyer after paying or cancelling (Stripe Checkout). */
  successUrl: string;
  cancelUrl: string;
}

export interface CheckoutResult {
  /** The provider's id for this checkout (a Stripe Checkout Session id). */
  providerRef: string;
  /** Where to send the buyer to pay; null when payment needs no redirect. */
  redirectUrl: string | null;
}

/** What a provider reports about payments, after its signature has been verified. */
export type PaymentEvent =
  | {
      type: "payment.succeeded";
      eventId: string;
      purchaseId: string;
      providerRef: string;
      /** The provider's id for the payment itself (a PaymentIntent), which refunds and disputes name. */
      paymentRef: string;
      amountMinor: bigint;
      currency: string;
    }
  | { type: "payment.pending"; eventId: string; purchaseId: string; providerRef: string }
  | { type: "payment.failed"; eventId: string; purchaseId: string; providerRef: string }
  | {
      type: "payment.refunded";
      eventId: string;
      paymentRef: string;
      /** The total refunded so far for this payment, not this refund alone. */
      amountRefundedMinor: bigint;
      currency: string;
    }
  | {
      type: "dispute.created";
      eventId: string;
      paymentRef: string;
      disputeId: string;
      amountMinor: bigint;
      currency: string;
    }
  | {
      type: "dispute.closed";
      eventId: string;
      paymentRef: string;
      disputeId: string;
      outcome: "won" | "lost";
    }
  | {
      type: "fee.reported";
      eventId: string;
      paymentRef: string;
      feeMinor: bigint;
      currency: string;
    }
  | { type: "ignored"; eventId: string; providerType: string };

export interface RefundRequest {
  /** The payment to refund (a Stripe PaymentIntent). */
  paymentRef: string;
  amountMinor: bigint;
  currency: string;
  /** A retry with the same key refunds once. */
  idempotencyKey: string;
}

export interface PaymentProvider {
  readonly name: PaymentProviderName;
  createCheckout(request: CheckoutRequest): Promise<CheckoutResult>;
  /** Returns the provider's id for the refund. */
  refund(request: RefundRequest): Promise<{ refundRef: string }>;
}

/** A provider that reports by signed webhook. */
export interface WebhookPaymentProvider extends PaymentProvider {
  /**
   * Verifies the signature over the raw body and maps the event. Throws GiftstreamError
   * `invalid_signature` (400) when the signature is missing, wrong or stale.
   */
  parseWebhook(rawBody: Buffer, signatureHeader: string | undefined): Promise<PaymentEvent[]>;
}

/**
 * The provider answered and said no (an invalid request, a refused card): nothing happened there.
 * Any other failure (a timeout, a dropped connection, a 5xx) may or may not have happened, and is
 * retried with the same idempotency key rather than undone.
 */
export class PaymentRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PaymentRefusedError";
  }
}
