/**
 * The pure part of the PayPal Payouts rail: the batch request it posts, the sender_batch_id it
 * derives, and what a payout item's `transaction_status` means for a cash-out. No I/O.
 */
import { createHash } from "node:crypto";
import { invariant } from "../../../errors.js";
import { formatMajor, parseMajor } from "../../../money/index.js";
import type { PayoutOrder, PayoutState } from "../rail.js";
import { PaypalDataError, type PaypalErrorBody } from "./paypal-api.js";

/** The largest amount the ledger can hold (2^63 - 1): an item above it cannot be one of ours. */
const itemAmountMax = 9_223_372_036_854_775_807n;

/** PayPal takes at most 15,000 items in one payout batch; more is a 400. */
export const paypalBatchItemsMax = 15_000;

/** The item statuses of PayPal's Payouts API (`transaction_status`). */
export const paypalTransactionStatuses = [
  "SUCCESS",
  "FAILED",
  "PENDING",
  "UNCLAIMED",
  "RETURNED",
  "ONHOLD",
  "BLOCKED",
  "REFUNDED",
  "REVERSED",
] as const;

/** A payout item as PayPal shows it (GET batch, GET item, and webhook resources), the fields read here. */
export interface PaypalItem {
  payout_item_id: string;
  transaction_id?: string | null;
  transaction_status: string;
  payout_batch_id?: string;
  payout_item: {
    recipient_type?: string;
    amount: { value: string; currency: string };
    receiver?: string;
    sender_item_id?: string;
  };
  errors?: { name?: string; message?: string } | null;
}

/**
 * The batch's sender_batch_id, from its cash-out ids alone: the same cash-outs always make the
 * same id, and PayPal refuses a second batch with an id it has seen in the last 30 days, so a
 * batch posted again after a timeout cannot pay twice. Sorted first, so order does not matter.
 */
export function senderBatchIdOf(cashoutIds: readonly string[]): string {
  invariant(cashoutIds.length > 0, "a payout batch has at least one cash-out");
  const sorted = [...cashoutIds].sort();
  const digest = createHash("sha256").update(sorted.join("\n")).digest("base64url").slice(0, 40);
  return `gs_${digest}`;
}

/**
 * The exact JSON posted to `POST /v1/payments/payouts`: one EMAIL item per cash-out, its
 * `sender_item_id` the cash-out id, the amount in major units as PayPal writes them ("150.00").
 */
export function batchRequestOf(senderBatchId: string, orders: readonly PayoutOrder[]): string {
  invariant(
    orders.length > 0 && orders.length <= paypalBatchItemsMax,
    `a batch holds 1 to 15000 items, got ${orders.length}`,
  );
  const items = orders.map((order) => {
    invariant(order.destination.type === "paypal", `cash-out ${order.cashoutId} does not pay to PayPal`);
    invariant(order.netMinor > 0n, `cash-out ${order.cashoutId} pays more than zero`);
    return {
      recipient_type: "EMAIL",
      amount: { value: formatMajor(order.netMinor, order.currency), currency: order.currency },
      receiver: order.destination.email,
      sender_item_id: order.cashoutId,
    };
  });
  return JSON.stringify({
    sender_batch_header: { sender_batch_id: senderBatchId, recipient_type: "EMAIL" },
    items,
  });
}

/**
 * What an item's status means for its cash-out.
 * - SUCCESS: paid.
 * - UNCLAIMED: paid too. The money has left the platform's PayPal balance and waits for the
 *   receiver to open an account; if unclaimed for 30 days PayPal returns it (RETURNED), and the
 *   cash-out is then returned with its diamonds back.
 * - PENDING, ONHOLD: still processing.
 * - FAILED, BLOCKED: failed, nothing was taken from the balance.
 * - RETURNED, REFUNDED, REVERSED: the money came back: `returned`. The cash-outs service makes a
 *   return it sees before any paid a failure (Cashouts.settle).
 * - Anything PayPal adds later: still processing, until someone reads what it means.
 */
export function stateOfItem(item: PaypalItem): PayoutState {
  const ref = item.transaction_id ?? item.payout_item_id;
  const why = reasonOf(item);
  switch (item.transaction_status) {
    case "SUCCESS":
    case "UNCLAIMED":
      return { status: "paid", ref };
    case "FAILED":
    case "BLOCKED":
      return { status: "failed", reason: why };
    case "RETURNED":
    case "REFUNDED":
    case "REVERSED":
      return { status: "returned", reason: why };
    default:
      return { status: "processing", ref: item.payout_item_id };
  }
}

function reasonOf(item: PaypalItem): string {
  const error = item.errors;
  const detail =
    error?.name === undefined ? "" : `: ${error.name}${error.message ? ` (${error.message})` : ""}`;
  return `PayPal payout item ${item.payout_item_id} is ${item.transaction_status}${detail}`;
}

/** An item's amount in minor units of its currency; PayPal writes "150.00", "1.0" or "1500". */
export function minorOfItem(item: PaypalItem): { currency: string; netMinor: bigint } {
  const { value, currency } = item.payout_item.amount;
  try {
    return { currency, netMinor: parseMajor(value, currency, { max: itemAmountMax, allowZero: true }) };
  } catch {
    throw new PaypalDataError(
      `payout item ${item.payout_item_id} has an amount this rail cannot read: ${value} ${currency}`,
    );
  }
}

/** Checks that a response is a payout item with the fields this rail reads. */
export function readItem(raw: unknown): PaypalItem {
  const item = raw as Partial<PaypalItem> | null;
  if (
    typeof item !== "object" ||
    item === null ||
    typeof item.payout_item_id !== "string" ||
    typeof item.transaction_status !== "string" ||
    typeof item.payout_item !== "object" ||
    item.payout_item === null ||
    typeof item.payout_item.amount?.value !== "string" ||
    typeof item.payout_item.amount?.currency !== "string"
  ) {
    throw new PaypalDataError("a payout item lacks payout_item_id, transaction_status or its amount");
  }
  return item as PaypalItem;
}

/**
 * The payout_batch_id of the batch a duplicate sender_batch_id names. PayPal refuses the repeat
 * with 400 USER_BUSINESS_ERROR whose detail (field SENDER_BATCH_ID) links to the original batch;
 * null for any other error.
 */
export function duplicateBatchIdOf(status: number, body: PaypalErrorBody | null): string | null {
  if (status !== 400 || body?.name !== "USER_BUSINESS_ERROR") return null;
  for (const detail of body.details ?? []) {
    const aboutBatchId =
      detail.field?.toUpperCase() === "SENDER_BATCH_ID" || /sender_batch_id/i.test(detail.issue ?? "");
    if (!aboutBatchId) continue;
    for (const link of detail.link ?? []) {
      const match = /\/v1\/payments\/payouts\/([A-Za-z0-9]+)$/.exec(link.href ?? "");
      if (match) return match[1]!;
    }
  }
  return null;
}

/**
 * Whether PayPal refused the whole batch for good, so that nothing was or will be paid: a request
 * it says is invalid. Everything else (5xx, 429, auth, INSUFFICIENT_FUNDS, a timeout) may pass on a
 * later try and is retried with the same sender_batch_id.
 */
export function isBatchRefusal(status: number, body: PaypalErrorBody | null): boolean {
  if (status === 400) return body?.name === "VALIDATION_ERROR";
  if (status === 422) return body?.name !== "INSUFFICIENT_FUNDS";
  return false;
}
