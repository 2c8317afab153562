/**
 * The Stripe Connect rail's share of `POST /v1/webhooks/stripe`: transfer events settle the
 * cash-out they carry (`metadata.cashoutId`), events of connected accounts are acknowledged, and
 * everything else is left to the payments provider.
 */
import type Stripe from "stripe";
import { fromStripeAmount } from "../../payments/stripe.js";
import type { PayoutState } from "../rail.js";
import { type StripeConnectRail, stateOfTransfer } from "./stripe-connect-rail.js";

/** What one event means for the rail. */
export type ConnectReport =
  | {
      kind: "settle";
      cashoutId: string;
      railRef: string;
      state: PayoutState;
      currency: string;
      netMinor: bigint;
    }
  | { kind: "acknowledged"; reason: string };

/**
 * What a verified event means for the cash-outs; null when it is not the rail's (a payment event,
 * for the payments provider).
 * - `transfer.created`, `transfer.updated`, `transfer.reversed` of a cash-out's transfer: its state
 *   (paid, or returned once reversed in full). Created covers a transfer whose API answer was lost.
 * - `payout.*` and any other event of a connected account (`account` set): acknowledged, nothing
 *   changes. A failed payout of a connected account to its bank leaves the money in the creator's
 *   Stripe balance, which Stripe pays out again once they fix their bank details: the cash-out was
 *   paid when the transfer reached that balance (docs/payouts.md#stripe-connect).
 */
export function connectReportOf(event: Stripe.Event): ConnectReport | null {
  // The platform's transfers are the platform's events. An event of a connected account is the
  // account holder's doing: a Standard account's own transfer, carrying a cash-out id of their
  // choosing, must never settle (or return) that cash-out.
  if (typeof event.account === "string") {
    return { kind: "acknowledged", reason: `${event.type} of connected account ${event.account}` };
  }
  switch (event.type) {
    case "transfer.created":
    case "transfer.updated":
    case "transfer.reversed": {
      const transfer = event.data.object;
      const cashoutId = transfer.metadata?.cashoutId;
      if (cashoutId === undefined) return { kind: "acknowledged", reason: "a transfer of no cash-out" };
      return {
        kind: "settle",
        cashoutId,
        railRef: transfer.id,
        state: stateOfTransfer(transfer),
        currency: transfer.currency.toUpperCase(),
        netMinor: fromStripeAmount(transfer.amount, transfer.currency, `transfer ${transfer.id} amount`),
      };
    }
    default:
      return null;
  }
}

/** Verifies a delivery and applies what it means for cash-outs, through `settle`. */
export class StripeConnectWebhooks {
  constructor(
    private readonly rail: StripeConnectRail,
    private readonly settle: (report: Extract<ConnectReport, { kind: "settle" }>) => Promise<unknown>,
  ) {}

  /**
   * Whether the delivery was the rail's (settled or acknowledged); false leaves it to the payments
   * provider. A signature none of the secrets made throws `invalid_signature`, and nothing changes.
   */
  async handle(rawBody: Buffer, signatureHeader: string | undefined): Promise<ConnectReport | null> {
    const event = await this.rail.verifyEvent(rawBody, signatureHeader);
    const report = connectReportOf(event);
    if (report?.kind === "settle") await this.settle(report);
    return report;
  }
}
