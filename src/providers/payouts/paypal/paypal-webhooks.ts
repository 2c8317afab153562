/**
 * PayPal's webhook deliveries, verified the way PayPal publishes: the transmission headers, the
 * webhook id and the event, sent to `POST /v1/notifications/verify-webhook-signature`, which says
 * SUCCESS or FAILURE. Only `PAYMENT.PAYOUTS-ITEM.*` events mean anything to the rail; polling
 * finds the same states when a delivery is lost.
 */
import { GiftstreamError, invariant } from "../../../errors.js";
import type { PayoutState } from "../rail.js";
import { type PaypalApi, PaypalApiError } from "./paypal-api.js";
import { minorOfItem, readItem, stateOfItem } from "./paypal-items.js";

/** The headers PayPal signs a delivery with, as node lower-cases them, and the request field of each. */
export const paypalSignatureHeaders = {
  "paypal-auth-algo": "auth_algo",
  "paypal-cert-url": "cert_url",
  "paypal-transmission-id": "transmission_id",
  "paypal-transmission-sig": "transmission_sig",
  "paypal-transmission-time": "transmission_time",
} as const;

/** Longer header values than PayPal's own limits (500 characters) are not PayPal's. */
export const paypalHeaderLengthMax = 2048;

/** A verified webhook event: the fields read here. */
export interface PaypalWebhookEvent {
  id?: string;
  event_type?: string;
  resource_type?: string;
  resource?: unknown;
}

/** What a payout-item event reports of one cash-out. */
export interface PaypalItemReport {
  cashoutId: string;
  state: PayoutState;
  currency: string;
  netMinor: bigint;
}

export class PaypalWebhooks {
  constructor(
    private readonly api: PaypalApi,
    private readonly webhookId: string,
  ) {
    invariant(/^[A-Za-z0-9]{1,64}$/.test(webhookId), "the PayPal webhook id is letters and digits");
  }

  /**
   * The event, once PayPal has confirmed the signature; `invalid_signature` when a header is
   * missing, the body is not a JSON object, or PayPal says FAILURE. PayPal unreachable throws
   * anything else: the delivery answers 5xx and PayPal sends it again.
   */
  async verify(
    headers: Readonly<Record<string, string | string[] | undefined>>,
    rawBody: Buffer,
  ): Promise<PaypalWebhookEvent> {
    const fields: string[] = [];
    for (const [header, field] of Object.entries(paypalSignatureHeaders)) {
      const value = headers[header];
      if (typeof value !== "string" || value.trim() === "") {
        throw new GiftstreamError("invalid_signature", `The ${header.toUpperCase()} header is missing.`);
      }
      if (value.length > paypalHeaderLengthMax) {
        throw new GiftstreamError("invalid_signature", `The ${header.toUpperCase()} header is too long.`);
      }
      fields.push(`${JSON.stringify(field)}:${JSON.stringify(value.trim())}`);
    }
    const text = rawBody.toString("utf8");
    let event: unknown;
    try {
      event = JSON.parse(text);
    } catch {
      throw new GiftstreamError("invalid_signature", "The body is not JSON, so it cannot be verified.");
    }
    if (typeof event !== "object" || event === null || Array.isArray(event)) {
      throw new GiftstreamError(
        "invalid_signature",
        "The body is not a JSON object, so it cannot be verified.",
      );
    }
    // The event goes back to PayPal as the bytes it sent: re-serialising could change what the
    // signature covers (PayPal signs a CRC32 of the body).
    const request = `{${fields.join(",")},"webhook_id":${JSON.stringify(this.webhookId)},"webhook_event":${text}}`;
    let answer: { verification_status?: unknown };
    try {
      answer = await this.api.call("POST", "/v1/notifications/verify-webhook-signature", request);
    } catch (error) {
      // PayPal refusing the request itself (400) means the headers are not a signature it made.
      if (error instanceof PaypalApiError && error.status === 400) {
        throw new GiftstreamError("invalid_signature", "PayPal did not accept the signature headers.");
      }
      throw error;
    }
    if (answer.verification_status !== "SUCCESS") {
      throw new GiftstreamError("invalid_signature", "PayPal did not verify the webhook signature.");
    }
    return event as PaypalWebhookEvent;
  }
}

/**
 * What a `PAYMENT.PAYOUTS-ITEM.*` event says of its cash-out (its `sender_item_id`); null for any
 * other event, and for an item that is not one of ours.
 */
export function itemReportOf(event: PaypalWebhookEvent): PaypalItemReport | null {
  if (typeof event.event_type !== "string" || !event.event_type.startsWith("PAYMENT.PAYOUTS-ITEM."))
    return null;
  const item = readItem(event.resource);
  const cashoutId = item.payout_item.sender_item_id;
  if (cashoutId === undefined) return null;
  return { cashoutId, state: stateOfItem(item), ...minorOfItem(item) };
}
