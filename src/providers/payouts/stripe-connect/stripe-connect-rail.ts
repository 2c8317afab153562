/**
 * The Stripe Connect rail (docs/payouts.md#stripe-connect): a cash-out is a transfer from the
 * platform's Stripe balance to the creator's connected account, through the official `stripe` SDK,
 * with a Stripe idempotency key made from the cash-out id and the cash-out id as its
 * `transfer_group`. A transfer either happens at once or is refused, so a cash-out is paid or failed
 * by the answer; a timeout leads to a status read (by `transfer_group`) or the same request again,
 * which Stripe answers from its idempotency key. A reversal of the transfer returns the cash-out.
 */
import Stripe from "stripe";
import { GiftstreamError, invariant } from "../../../errors.js";
import {
  fromStripeAmount,
  StripeDataError,
  stripeToleranceSecondsDefault,
  toStripeAmount,
} from "../../payments/stripe.js";
import type { PayoutOrder, PayoutRail, PayoutState, RailRecord } from "../rail.js";

export interface StripeConnectRailOptions {
  /** The platform's secret key: transfers leave its balance. */
  secretKey: string;
  /** Where the API lives; Stripe's own when absent. */
  apiBase?: { host: string; port: number; protocol: "http" | "https" };
  timeoutMs: number;
  networkRetriesMax: number;
  /**
   * The signing secrets of the webhook endpoints pointing at /v1/webhooks/stripe: the account
   * endpoint's (transfer events) and, optionally, a Connect endpoint's (connected accounts' events).
   */
  webhookSecrets: readonly string[];
  toleranceSeconds?: number;
}

/** Most transfers one reconciliation reads back. */
export const stripeRecordTransfersMax = 1_000_000;
/** A page of `GET /v1/transfers`: Stripe's maximum. */
export const stripeListPageSize = 100;

/** The idempotency key of a cash-out's transfer: one cash-out, one transfer, however often asked. */
export function transferIdempotencyKey(cashoutId: string): string {
  return `giftstream-cashout-${cashoutId}`;
}

/** A transfer reversed in full returned the money; anything less leaves it paid (reconciliation shows the part). */
export function stateOfTransfer(transfer: Stripe.Transfer): PayoutState {
  const amount = fromStripeAmount(transfer.amount, transfer.currency, `transfer ${transfer.id} amount`);
  const reversed = fromStripeAmount(
    transfer.amount_reversed,
    transfer.currency,
    `transfer ${transfer.id} amount_reversed`,
  );
  if (amount > 0n && reversed >= amount) {
    return { status: "returned", reason: `Stripe transfer ${transfer.id} was reversed` };
  }
  return { status: "paid", ref: transfer.id };
}

export class StripeConnectRail implements PayoutRail {
  readonly name = "stripe_connect";
  readonly #stripe: Stripe;
  readonly #secrets: readonly string[];
  readonly #toleranceSeconds: number;

  constructor(options: StripeConnectRailOptions) {
    invariant(options.secretKey.length > 0, "the Stripe secret key is set");
    invariant(options.webhookSecrets.length > 0, "a Stripe webhook secret is set");
    invariant(
      Number.isInteger(options.timeoutMs) && options.timeoutMs > 0,
      "timeoutMs is a positive integer",
    );
    invariant(
      Number.isInteger(options.networkRetriesMax) && options.networkRetriesMax >= 0,
      "networkRetriesMax is a non-negative integer",
    );
    this.#secrets = options.webhookSecrets;
    this.#toleranceSeconds = options.toleranceSeconds ?? stripeToleranceSecondsDefault;
    this.#stripe = new Stripe(options.secretKey, {
      ...options.apiBase,
      timeout: options.timeoutMs,
      maxNetworkRetries: options.networkRetriesMax,
      telemetry: false,
      appInfo: { name: "Giftstream" },
    });
  }

  async submit(order: PayoutOrder): Promise<PayoutState> {
    if (order.destination.type !== "stripe_account") {
      return {
        status: "failed",
        reason: `the stripe_connect rail pays Stripe connected accounts only, not ${order.destination.type}`,
      };
    }
    let transfer: Stripe.Transfer;
    try {
      transfer = await this.#stripe.transfers.create(
        {
          amount: toStripeAmount(order.netMinor, order.currency),
          currency: order.currency.toLowerCase(),
          destination: order.destination.accountId,
          transfer_group: order.cashoutId,
          metadata: { cashoutId: order.cashoutId },
        },
        { idempotencyKey: transferIdempotencyKey(order.cashoutId) },
      );
    } catch (error) {
      // Stripe answered, and said no: no transfer was made (an account without the transfers
      // capability, no such account, the platform's balance too low). The diamonds come back.
      if (
        error instanceof Stripe.errors.StripeInvalidRequestError ||
        error instanceof Stripe.errors.StripePermissionError ||
        error instanceof Stripe.errors.StripeCardError
      ) {
        return {
          status: "failed",
          reason: `Stripe refused the transfer: ${error.code ?? error.type}: ${error.message}`,
        };
      }
      throw error;
    }
    checkTransfer(transfer, order);
    return stateOfTransfer(transfer);
  }

  async status(order: PayoutOrder): Promise<PayoutState> {
    const found = await this.#transfersOf(order.cashoutId);
    if (found.length === 0) return { status: "unknown" };
    if (found.length > 1) {
      throw new StripeDataError(
        `cash-out ${order.cashoutId} has ${found.length} transfers (${found.map((t) => t.id).join(", ")})`,
      );
    }
    checkTransfer(found[0]!, order);
    return stateOfTransfer(found[0]!);
  }

  /** A transfer is made at once: only one never made can still be stopped. */
  async cancel(order: PayoutOrder): Promise<boolean> {
    return (await this.#transfersOf(order.cashoutId)).length === 0;
  }

  /** Every transfer made since `sinceMs` (Stripe's `created`) that carries a cash-out id. */
  async records(sinceMs: number): Promise<RailRecord[]> {
    const records: RailRecord[] = [];
    let seen = 0;
    const list = this.#stripe.transfers.list({
      created: { gte: Math.floor(sinceMs / 1000) },
      limit: stripeListPageSize,
    });
    for await (const transfer of list) {
      if (++seen > stripeRecordTransfersMax) {
        throw new StripeDataError(
          `more than ${stripeRecordTransfersMax} transfers since ${new Date(sinceMs).toISOString()}`,
        );
      }
      const cashoutId = transfer.metadata?.cashoutId;
      if (cashoutId === undefined) continue;
      const amount = fromStripeAmount(transfer.amount, transfer.currency, `transfer ${transfer.id} amount`);
      const reversed = fromStripeAmount(
        transfer.amount_reversed,
        transfer.currency,
        `transfer ${transfer.id} amount_reversed`,
      );
      const state = stateOfTransfer(transfer);
      records.push({
        cashoutId,
        state,
        currency: transfer.currency.toUpperCase(),
        // A part reversed is money that came back without the cash-out knowing: an amount difference.
        netMinor: state.status === "returned" ? amount : amount - reversed,
      });
    }
    return records;
  }

  /**
   * The event of a delivery to /v1/webhooks/stripe, checked against each signing secret in turn
   * (the account endpoint's, then the Connect endpoint's); `invalid_signature` when none signed it.
   */
  async verifyEvent(rawBody: Buffer, signatureHeader: string | undefined): Promise<Stripe.Event> {
    if (signatureHeader === undefined || signatureHeader.trim() === "") {
      throw new GiftstreamError("invalid_signature", "The Stripe-Signature header is missing.");
    }
    for (const secret of this.#secrets) {
      try {
        return await this.#stripe.webhooks.constructEventAsync(
          rawBody,
          signatureHeader,
          secret,
          this.#toleranceSeconds,
        );
      } catch (error) {
        if (!(error instanceof Stripe.errors.StripeSignatureVerificationError)) throw error;
      }
    }
    throw new GiftstreamError("invalid_signature", "The Stripe webhook signature was rejected.");
  }

  async #transfersOf(cashoutId: string): Promise<Stripe.Transfer[]> {
    const page = await this.#stripe.transfers.list({ transfer_group: cashoutId, limit: 10 });
    return page.data.filter((t) => t.metadata?.cashoutId === cashoutId);
  }
}

/** Pair check: what Stripe holds is the transfer asked for (a reused key would not be). */
function checkTransfer(transfer: Stripe.Transfer, order: PayoutOrder): void {
  const destination =
    typeof transfer.destination === "string" ? transfer.destination : transfer.destination?.id;
  const expected = order.destination.type === "stripe_account" ? order.destination.accountId : null;
  if (
    transfer.metadata?.cashoutId !== order.cashoutId ||
    fromStripeAmount(transfer.amount, transfer.currency, `transfer ${transfer.id} amount`) !==
      order.netMinor ||
    transfer.currency.toUpperCase() !== order.currency ||
    destination !== expected
  ) {
    throw new StripeDataError(`Stripe transfer ${transfer.id} does not match cash-out ${order.cashoutId}`);
  }
}
