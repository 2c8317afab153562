/**
 * The Stripe payments adapter: coin purchases through Stripe Checkout, and what Stripe reports
 * about them by signed webhook (payment, refund, dispute, fee), mapped to the payments port.
 *
 * Amounts are bigint in Giftstream and JSON numbers at Stripe. They cross the border only through
 * `toStripeAmount` and `fromStripeAmount`, which refuse anything a number cannot hold exactly.
 */
import Stripe from "stripe";
import { GiftstreamError, invariant } from "../../errors.js";
import {
  type CheckoutRequest,
  type CheckoutResult,
  type PaymentEvent,
  type PaymentProviderName,
  PaymentRefusedError,
  type RefundRequest,
  type WebhookPaymentProvider,
} from "./provider.js";

export interface StripeProviderOptions {
  /** The secret API key (`sk_live_…`, `sk_test_…` or a restricted `rk_…`). */
  secretKey: string;
  /** The webhook endpoint's signing secret (`whsec_…`). */
  webhookSecret: string;
  /** Where the API lives; Stripe's own (`https://api.stripe.com:443`) when absent. */
  apiBase?: { host: string; port: number; protocol: "http" | "https" };
  /** How long one API request may take. */
  timeoutMs?: number;
  /** How old a webhook signature may be before it is refused as a replay. */
  toleranceSeconds?: number;
  /** How many times the SDK retries a request that failed on the network or with a 409/5xx. */
  networkRetriesMax?: number;
}

export const stripeTimeoutMsDefault = 30_000;
export const stripeToleranceSecondsDefault = 300;
export const stripeNetworkRetriesMaxDefault = 2;

/**
 * Stripe said something this adapter cannot read (an amount that is not a safe integer, a paid
 * session without its PaymentIntent). Not a Giftstream error code: the webhook answers 500, is
 * logged, and Stripe redelivers it, rather than the payment being silently dropped.
 */
export class StripeDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "StripeDataError";
  }
}

/**
 * Stripe units per ISO 4217 minor unit, where they differ. Giftstream counts every currency in its
 * ISO minor units; Stripe's API does too, except for the currencies it keeps two-decimal for
 * backwards compatibility although ISO gives them none: ISK ("an ISK amount of 100 represents 1
 * króna", and must be a multiple of 100). Sent as ISO units, an ISK price or payout was a
 * hundredth of what it should be.
 */
const stripeUnitsPerMinor: Readonly<Record<string, bigint>> = { ISK: 100n };
const unitsPerMinor = (currency: string): bigint => stripeUnitsPerMinor[currency.toUpperCase()] ?? 1n;

/** A bigint amount in `currency`'s minor units as the JS number Stripe's API takes. Only exact values cross. */
export function toStripeAmount(minor: bigint, currency: string): number {
  invariant(minor >= 0n, `a Stripe amount is never negative, got ${minor}`);
  const units = minor * unitsPerMinor(currency);
  invariant(
    units <= BigInt(Number.MAX_SAFE_INTEGER),
    `${minor} ${currency} is above Number.MAX_SAFE_INTEGER in Stripe's units and cannot be sent exactly`,
  );
  return Number(units);
}

/** A Stripe amount (a JSON number) in `currency` as bigint minor units: through its decimal string, never arithmetic on floats. */
export function fromStripeAmount(value: unknown, currency: string, what: string): bigint {
  if (typeof value !== "number" || !Number.isSafeInteger(value) || value < 0) {
    throw new StripeDataError(`${what} is not a non-negative safe integer: ${String(value)}`);
  }
  const units = BigInt(String(value));
  const per = unitsPerMinor(currency);
  if (units % per !== 0n) {
    throw new StripeDataError(
      `${what} is ${units}, not a whole number of ${currency.toUpperCase()} minor units`,
    );
  }
  return units / per;
}

/** The Checkout Session `createCheckout` asks for: one line item, the purchase id everywhere. */
export function checkoutSessionParams(request: CheckoutRequest): Stripe.Checkout.SessionCreateParams {
  invariant(request.amountMinor > 0n, `a purchase costs more than zero, got ${request.amountMinor}`);
  invariant(request.coins > 0n, `a purchase buys more than zero coins, got ${request.coins}`);
  invariant(/^[A-Z]{3}$/.test(request.currency), `currency is ISO 4217 upper case, got ${request.currency}`);
  return {
    mode: "payment",
    line_items: [
      {
        quantity: 1,
        price_data: {
          currency: request.currency.toLowerCase(),
          unit_amount: toStripeAmount(request.amountMinor, request.currency),
          product_data: { name: `${request.coins} coins` },
        },
      },
    ],
    client_reference_id: request.purchaseId,
    metadata: {
      purchaseId: request.purchaseId,
      userId: request.userId,
      packId: request.packId,
      coins: request.coins.toString(),
    },
    payment_intent_data: { metadata: { purchaseId: request.purchaseId } },
    success_url: request.successUrl,
    cancel_url: request.cancelUrl,
  };
}

export class StripeProvider implements WebhookPaymentProvider {
  readonly name: PaymentProviderName = "stripe";
  readonly #stripe: Stripe;
  readonly #webhookSecret: string;
  readonly #toleranceSeconds: number;

  constructor(options: StripeProviderOptions) {
    invariant(options.secretKey.length > 0, "the Stripe secret key is set");
    invariant(options.webhookSecret.length > 0, "the Stripe webhook secret is set");
    const toleranceSeconds = options.toleranceSeconds ?? stripeToleranceSecondsDefault;
    // The SDK skips the age check when the tolerance is 0: a replayed webhook would pass.
    invariant(
      Number.isInteger(toleranceSeconds) && toleranceSeconds > 0,
      `toleranceSeconds is a positive integer, got ${toleranceSeconds}`,
    );
    const timeoutMs = options.timeoutMs ?? stripeTimeoutMsDefault;
    invariant(
      Number.isInteger(timeoutMs) && timeoutMs > 0,
      `timeoutMs is a positive integer, got ${timeoutMs}`,
    );
    const networkRetriesMax = options.networkRetriesMax ?? stripeNetworkRetriesMaxDefault;
    invariant(
      Number.isInteger(networkRetriesMax) && networkRetriesMax >= 0,
      `networkRetriesMax is a non-negative integer, got ${networkRetriesMax}`,
    );
    this.#webhookSecret = options.webhookSecret;
    this.#toleranceSeconds = toleranceSeconds;
    this.#stripe = new Stripe(options.secretKey, {
      ...options.apiBase,
      timeout: timeoutMs,
      maxNetworkRetries: networkRetriesMax,
      telemetry: false,
      appInfo: { name: "Giftstream" },
    });
  }

  /** Refunds part or all of a payment through Stripe's Refunds API. */
  async refund(request: RefundRequest): Promise<{ refundRef: string }> {
    let refund: Stripe.Refund;
    try {
      refund = await this.#stripe.refunds.create(
        { payment_intent: request.paymentRef, amount: toStripeAmount(request.amountMinor, request.currency) },
        { idempotencyKey: request.idempotencyKey },
      );
    } catch (error) {
      // Stripe answered with a 4xx about the request itself: the refund did not happen.
      if (
        error instanceof Stripe.errors.StripeInvalidRequestError ||
        error instanceof Stripe.errors.StripeCardError
      ) {
        throw new PaymentRefusedError(error.message);
      }
      throw error;
    }
    if (refund.currency.toUpperCase() !== request.currency) {
      throw new StripeDataError(`refund ${refund.id} is in ${refund.currency}, not ${request.currency}`);
    }
    return { refundRef: refund.id };
  }

  async createCheckout(request: CheckoutRequest): Promise<CheckoutResult> {
    const session = await this.#stripe.checkout.sessions.create(checkoutSessionParams(request), {
      idempotencyKey: request.idempotencyKey,
    });
    // Pair check: what Stripe holds is what we asked for (a reused idempotency key would not be).
    if (
      session.client_reference_id !== request.purchaseId ||
      session.amount_total === null ||
      fromStripeAmount(session.amount_total, request.currency, "session.amount_total") !==
        request.amountMinor ||
      session.currency?.toUpperCase() !== request.currency
    ) {
      throw new StripeDataError(
        `Checkout Session ${session.id} does not match purchase ${request.purchaseId}`,
      );
    }
    return { providerRef: session.id, redirectUrl: session.url };
  }

  async parseWebhook(rawBody: Buffer, signatureHeader: string | undefined): Promise<PaymentEvent[]> {
    const event = await this.#verify(rawBody, signatureHeader);
    return this.#map(event);
  }

  async #verify(rawBody: Buffer, signatureHeader: string | undefined): Promise<Stripe.Event> {
    if (signatureHeader === undefined || signatureHeader.trim() === "") {
      throw new GiftstreamError("invalid_signature", "The Stripe-Signature header is missing.");
    }
    try {
      return await this.#stripe.webhooks.constructEventAsync(
        rawBody,
        signatureHeader,
        this.#webhookSecret,
        this.#toleranceSeconds,
      );
    } catch (error) {
      if (error instanceof Stripe.errors.StripeSignatureVerificationError) {
        throw new GiftstreamError("invalid_signature", this.#describeRejection(error));
      }
      throw error;
    }
  }

  /** The SDK's reason, first line only (the rest is advice), and never the secret. */
  #describeRejection(error: Error): string {
    const reason = (error.message.split("\n")[0] ?? "").trim().replaceAll(this.#webhookSecret, "[secret]");
    return `The Stripe webhook signature was rejected: ${reason}`;
  }

  async #map(event: Stripe.Event): Promise<PaymentEvent[]> {
    switch (event.type) {
      case "checkout.session.completed":
        return [sessionCompleted(event.id, event.data.object)];
      case "checkout.session.async_payment_succeeded":
        return [sessionOutcome(event.id, event.type, event.data.object, "payment.succeeded")];
      case "checkout.session.async_payment_failed":
      case "checkout.session.expired":
        return [sessionOutcome(event.id, event.type, event.data.object, "payment.failed")];
      case "charge.refunded":
        return [chargeRefunded(event.id, event.data.object)];
      case "charge.dispute.created":
      case "charge.dispute.closed":
        return [await this.#disputeEvent(event.id, event.type, event.data.object)];
      case "charge.succeeded":
        return this.#feeReported(event.id, event.type, event.data.object);
      case "charge.updated":
        // charge.updated is sent for any change; only the one that set the balance transaction
        // carries a fee, so the others cost no API call and report no duplicate fee.
        if (!setsBalanceTransaction(event.data.previous_attributes)) return [ignored(event.id, event.type)];
        return this.#feeReported(event.id, event.type, event.data.object);
      default:
        return [ignored(event.id, event.type)];
    }
  }

  async #disputeEvent(
    eventId: string,
    type: "charge.dispute.created" | "charge.dispute.closed",
    dispute: Stripe.Dispute,
  ): Promise<PaymentEvent> {
    const paymentRef = idOf(dispute.payment_intent) ?? (await this.#paymentIntentOfCharge(dispute.charge));
    if (paymentRef === null) return ignored(eventId, type);
    if (type === "charge.dispute.closed") {
      return {
        type: "dispute.closed",
        eventId,
        paymentRef,
        disputeId: dispute.id,
        outcome: disputeOutcome(dispute),
      };
    }
    return {
      type: "dispute.created",
      eventId,
      paymentRef,
      disputeId: dispute.id,
      amountMinor: fromStripeAmount(dispute.amount, dispute.currency, `dispute ${dispute.id} amount`),
      currency: upperCurrency(dispute.currency, `dispute ${dispute.id}`),
    };
  }

  /** A dispute names its PaymentIntent directly on current API versions; older ones name only the charge. */
  async #paymentIntentOfCharge(charge: string | Stripe.Charge): Promise<string | null> {
    const found = typeof charge === "string" ? await this.#stripe.charges.retrieve(charge) : charge;
    return idOf(found.payment_intent);
  }

  async #feeReported(eventId: string, type: string, charge: Stripe.Charge): Promise<PaymentEvent[]> {
    const paymentRef = idOf(charge.payment_intent);
    if (paymentRef === null) return [ignored(eventId, type)];
    // Not yet settled: the fee comes with the charge.updated that sets the balance transaction.
    if (charge.balance_transaction === null || charge.balance_transaction === undefined) return [];
    const balance =
      typeof charge.balance_transaction === "string"
        ? await this.#stripe.balanceTransactions.retrieve(charge.balance_transaction)
        : charge.balance_transaction;
    return [
      {
        type: "fee.reported",
        eventId,
        paymentRef,
        feeMinor: fromStripeAmount(balance.fee, balance.currency, `balance transaction ${balance.id} fee`),
        currency: upperCurrency(balance.currency, `balance transaction ${balance.id}`),
      },
    ];
  }
}

/**
 * Who won a closed dispute. `won`: the funds came back. `warning_closed`: an inquiry that closed
 * without becoming a chargeback, so no funds were ever withdrawn: for the buyer's coins that is a
 * win too. `lost`, and anything else Stripe may add (`prevented`, where the issuer refunds instead;
 * that refund arrives as its own charge.refunded), keeps the money with the cardholder: lost.
 */
export function disputeOutcome(dispute: Pick<Stripe.Dispute, "status">): "won" | "lost" {
  return dispute.status === "won" || dispute.status === "warning_closed" ? "won" : "lost";
}

function sessionCompleted(eventId: string, session: Stripe.Checkout.Session): PaymentEvent {
  const type = "checkout.session.completed";
  switch (session.payment_status) {
    case "paid":
      return sessionOutcome(eventId, type, session, "payment.succeeded");
    case "unpaid":
      // A delayed method (bank debit): async_payment_succeeded or _failed follows.
      return sessionOutcome(eventId, type, session, "payment.pending");
    default:
      // no_payment_required: nothing was charged, so there is nothing to credit.
      return ignored(eventId, type);
  }
}

function sessionOutcome(
  eventId: string,
  type: string,
  session: Stripe.Checkout.Session,
  outcome: "payment.succeeded" | "payment.pending" | "payment.failed",
): PaymentEvent {
  const purchaseId = purchaseIdOf(session);
  // Not one of ours: another integration (a Payment Link, a subscription) on the same account.
  if (purchaseId === null || session.mode !== "payment") return ignored(eventId, type);
  const providerRef = session.id;
  if (outcome !== "payment.succeeded") return { type: outcome, eventId, purchaseId, providerRef };
  const paymentRef = idOf(session.payment_intent);
  if (paymentRef === null) throw new StripeDataError(`paid session ${session.id} names no PaymentIntent`);
  return {
    type: "payment.succeeded",
    eventId,
    purchaseId,
    providerRef,
    paymentRef,
    amountMinor: fromStripeAmount(
      session.amount_total,
      session.currency ?? "",
      `session ${session.id} amount_total`,
    ),
    currency: upperCurrency(session.currency, `session ${session.id}`),
  };
}

/** `client_reference_id`, else `metadata.purchaseId`; both are ours, so they must agree. */
function purchaseIdOf(session: Stripe.Checkout.Session): string | null {
  const fromReference = session.client_reference_id ?? null;
  const fromMetadata = session.metadata?.purchaseId ?? null;
  if (fromReference !== null && fromMetadata !== null && fromReference !== fromMetadata) {
    throw new StripeDataError(
      `session ${session.id} names two purchases: ${fromReference} and ${fromMetadata} in its metadata`,
    );
  }
  return fromReference ?? fromMetadata;
}

function chargeRefunded(eventId: string, charge: Stripe.Charge): PaymentEvent {
  const paymentRef = idOf(charge.payment_intent);
  if (paymentRef === null) return ignored(eventId, "charge.refunded");
  return {
    type: "payment.refunded",
    eventId,
    paymentRef,
    amountRefundedMinor: fromStripeAmount(
      charge.amount_refunded,
      charge.currency,
      `charge ${charge.id} amount_refunded`,
    ),
    currency: upperCurrency(charge.currency, `charge ${charge.id}`),
  };
}

function setsBalanceTransaction(previous: object | undefined): boolean {
  return previous !== undefined && Object.hasOwn(previous, "balance_transaction");
}

function ignored(eventId: string, providerType: string): PaymentEvent {
  return { type: "ignored", eventId, providerType };
}

function idOf(ref: string | { id: string } | null | undefined): string | null {
  if (ref === null || ref === undefined) return null;
  return typeof ref === "string" ? ref : ref.id;
}

function upperCurrency(currency: string | null | undefined, what: string): string {
  if (typeof currency !== "string" || !/^[a-zA-Z]{3}$/.test(currency)) {
    throw new StripeDataError(`${what} has no ISO 4217 currency: ${String(currency)}`);
  }
  return currency.toUpperCase();
}
