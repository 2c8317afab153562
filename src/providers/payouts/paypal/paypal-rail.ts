/**
 * The PayPal Payouts rail (docs/payouts.md#paypal-payouts). A job pass's PayPal cash-outs go out
 * as one batch (up to `batchSizeMax` items) whose sender_batch_id is derived from their ids; the
 * batch is recorded before it is posted. After a timeout or a crash the same batch is posted again,
 * PayPal refuses the duplicate id and links to the batch it already has, which is then read: a
 * retry never pays twice. Item statuses come back by polling (the batch once, to learn each item's
 * id, then each item) and by webhook.
 */
import type { Logger } from "pino";
import { invariant } from "../../../errors.js";
import type { PayoutOrder, PayoutRail, PayoutState, RailRecord } from "../rail.js";
import { type PaypalApi, PaypalApiError, PaypalDataError } from "./paypal-api.js";
import {
  batchRequestOf,
  duplicateBatchIdOf,
  isBatchRefusal,
  minorOfItem,
  type PaypalItem,
  paypalBatchItemsMax,
  readItem,
  senderBatchIdOf,
  stateOfItem,
} from "./paypal-items.js";
import type { PaypalBatch, PaypalPayoutStore } from "./paypal-store.js";

export interface PaypalRailOptions {
  api: PaypalApi;
  store: PaypalPayoutStore;
  /** The service clock: batches are dated by it, and `records(sinceMs)` reads them by it. */
  clock: () => number;
  /** Most items in one batch; PayPal allows 15,000. */
  batchSizeMax: number;
  logger?: Pick<Logger, "warn">;
}

/** Items per page of `GET /v1/payments/payouts/{id}`: PayPal's maximum. */
export const paypalPageSizeMax = 1000;
/** Most batches one reconciliation reads back. */
export const paypalRecordBatchesMax = 10_000;

export class PaypalPayoutRail implements PayoutRail {
  readonly name = "paypal";
  readonly #o: PaypalRailOptions;

  constructor(options: PaypalRailOptions) {
    invariant(
      Number.isInteger(options.batchSizeMax) &&
        options.batchSizeMax >= 1 &&
        options.batchSizeMax <= paypalBatchItemsMax,
      `batchSizeMax is 1 to ${paypalBatchItemsMax}, got ${options.batchSizeMax}`,
    );
    this.#o = options;
  }

  /** The PayPal API client, which the webhook verification shares (one token for both). */
  get api(): PaypalApi {
    return this.#o.api;
  }

  async submit(order: PayoutOrder): Promise<PayoutState> {
    const states = await this.submitBatch([order]);
    const state = states.get(order.cashoutId);
    if (state === undefined) throw new PaypalDataError(`no answer for cash-out ${order.cashoutId}`);
    return state;
  }

  /**
   * New cash-outs go into new batches of at most `batchSizeMax`; cash-outs already in a batch
   * drive that batch again (posted again if PayPal's answer was never seen, read otherwise). A
   * batch that cannot be driven now (PayPal down, a timeout) leaves its cash-outs unanswered: they
   * stay processing and the next pass asks again.
   */
  async submitBatch(orders: readonly PayoutOrder[]): Promise<Map<string, PayoutState>> {
    const answers = new Map<string, PayoutState>();
    const batches = new Map<string, { batch: PaypalBatch; orders: PayoutOrder[] }>();
    const fresh: PayoutOrder[] = [];
    for (const order of orders) {
      if (order.destination.type !== "paypal") {
        answers.set(order.cashoutId, {
          status: "failed",
          reason: `the paypal rail pays PayPal accounts only, not ${order.destination.type}`,
        });
        continue;
      }
      const ref = await this.#o.store.itemOf(order.cashoutId);
      if (ref === undefined) fresh.push(order);
      else addTo(batches, ref.batch, order);
    }
    fresh.sort((a, b) => (a.cashoutId < b.cashoutId ? -1 : a.cashoutId > b.cashoutId ? 1 : 0));
    for (let start = 0; start < fresh.length; start += this.#o.batchSizeMax) {
      const chunk = fresh.slice(start, start + this.#o.batchSizeMax);
      const ids = chunk.map((order) => order.cashoutId);
      const senderBatchId = senderBatchIdOf(ids);
      const batch: PaypalBatch = {
        senderBatchId,
        payoutBatchId: null,
        request: batchRequestOf(senderBatchId, chunk),
        itemCount: chunk.length,
        createdAt: this.#o.clock(),
        refused: null,
      };
      // The local record first: whatever happens to the post, a retry posts this same batch.
      await this.#o.store.saveBatch(batch, ids);
      for (const order of chunk) addTo(batches, batch, order);
    }
    let firstError: unknown = null;
    const skip = (error: unknown, what: Record<string, string>) => {
      firstError ??= error;
      this.#o.logger?.warn({ err: error, ...what }, "no PayPal answer now; the cash-out stays processing");
    };
    for (const { batch, orders: batchOrders } of batches.values()) {
      let items: Driven;
      try {
        items = await this.#drive(batch);
      } catch (error) {
        skip(error, { senderBatchId: batch.senderBatchId });
        continue;
      }
      for (const order of batchOrders) {
        try {
          answers.set(order.cashoutId, stateFor(order, batch, items));
        } catch (error) {
          skip(error, { cashoutId: order.cashoutId });
        }
      }
    }
    if (answers.size === 0 && firstError !== null) throw firstError;
    return answers;
  }

  /** The item as PayPal holds it now: the one item when its id is known, else its whole batch once. */
  async status(order: PayoutOrder): Promise<PayoutState> {
    const ref = await this.#o.store.itemOf(order.cashoutId);
    if (ref === undefined) return { status: "unknown" };
    if (ref.payoutItemId === null) return stateFor(order, ref.batch, await this.#drive(ref.batch));
    const item = await this.#item(ref.payoutItemId);
    return stateFor(order, ref.batch, new Map([[item.payout_item.sender_item_id ?? "", item]]));
  }

  /** In a batch whose post PayPal never answered (nor refused): the next pass posts it again. */
  async maySendLater(order: PayoutOrder): Promise<boolean> {
    const ref = await this.#o.store.itemOf(order.cashoutId);
    return ref !== undefined && ref.batch.refused === null && ref.batch.payoutBatchId === null;
  }

  /** Only an UNCLAIMED item can be cancelled at PayPal (its money comes back, RETURNED). */
  async cancel(order: PayoutOrder): Promise<boolean> {
    const ref = await this.#o.store.itemOf(order.cashoutId);
    if (ref === undefined || ref.batch.refused !== null) return true;
    if (ref.batch.payoutBatchId === null) return false;
    const item =
      ref.payoutItemId === null
        ? (await this.#read(ref.batch, true)).get(order.cashoutId)
        : await this.#item(ref.payoutItemId);
    if (item === undefined) return false;
    if (["FAILED", "BLOCKED", "RETURNED"].includes(item.transaction_status)) return true;
    if (item.transaction_status !== "UNCLAIMED") return false;
    const cancelled = readItem(
      await this.#o.api.call(
        "POST",
        `/v1/payments/payouts-item/${encodeURIComponent(item.payout_item_id)}/cancel`,
      ),
    );
    return cancelled.transaction_status === "RETURNED";
  }

  /** Every item of every batch posted since `sinceMs`, as PayPal holds it now. */
  async records(sinceMs: number): Promise<RailRecord[]> {
    const records: RailRecord[] = [];
    const batches = await this.#o.store.batchesSince(sinceMs, paypalRecordBatchesMax + 1);
    if (batches.length > paypalRecordBatchesMax) {
      throw new PaypalDataError(
        `more than ${paypalRecordBatchesMax} PayPal batches since ${new Date(sinceMs).toISOString()}`,
      );
    }
    for (const batch of batches) {
      // A batch PayPal refused, or whose post was never answered, holds nothing at PayPal we know of.
      if (batch.payoutBatchId === null) continue;
      for (const [cashoutId, item] of await this.#read(batch, false)) {
        records.push({ cashoutId, state: stateOfItem(item), ...minorOfItem(item) });
      }
    }
    return records;
  }

  /** Each item of the batch by cash-out id: posting it first if PayPal's answer was never seen. */
  async #drive(batch: PaypalBatch): Promise<Driven> {
    if (batch.refused !== null) return "refused";
    if (batch.payoutBatchId !== null) return this.#read(batch, true);
    let created: { batch_header?: { payout_batch_id?: unknown } };
    try {
      created = await this.#o.api.call("POST", "/v1/payments/payouts", batch.request);
    } catch (error) {
      if (!(error instanceof PaypalApiError)) throw error;
      const existing = duplicateBatchIdOf(error.status, error.body);
      if (existing !== null) {
        // Posted before (the answer was lost): PayPal names the batch it already has.
        await this.#o.store.setPayoutBatchId(batch.senderBatchId, existing);
        batch.payoutBatchId = existing;
        return this.#read(batch, true);
      }
      if (isBatchRefusal(error.status, error.body)) {
        batch.refused = error.message;
        await this.#o.store.markRefused(batch.senderBatchId, error.message);
        return "refused";
      }
      throw error;
    }
    const payoutBatchId = created.batch_header?.payout_batch_id;
    if (typeof payoutBatchId !== "string" || !/^[A-Za-z0-9]{1,64}$/.test(payoutBatchId)) {
      throw new PaypalDataError(`PayPal created batch ${batch.senderBatchId} without a payout_batch_id`);
    }
    await this.#o.store.setPayoutBatchId(batch.senderBatchId, payoutBatchId);
    batch.payoutBatchId = payoutBatchId;
    return "posted";
  }

  async #item(payoutItemId: string): Promise<PaypalItem> {
    return readItem(
      await this.#o.api.call("GET", `/v1/payments/payouts-item/${encodeURIComponent(payoutItemId)}`),
    );
  }

  /**
   * The batch's items by sender_item_id (the cash-out id), every page of them. `remember` stores
   * each item's id, so that later polls read single items rather than the whole batch.
   */
  async #read(batch: PaypalBatch, remember: boolean): Promise<Map<string, PaypalItem>> {
    const payoutBatchId = batch.payoutBatchId;
    invariant(payoutBatchId !== null, `batch ${batch.senderBatchId} has a payout_batch_id to read`);
    const items = new Map<string, PaypalItem>();
    const pagesMax = Math.ceil(paypalBatchItemsMax / paypalPageSizeMax) + 1;
    for (let page = 1; page <= pagesMax; page++) {
      const body = await this.#o.api.call<{ items?: unknown; total_pages?: unknown }>(
        "GET",
        `/v1/payments/payouts/${encodeURIComponent(payoutBatchId)}?page_size=${paypalPageSizeMax}&page=${page}&total_required=true`,
      );
      const pageItems = Array.isArray(body.items) ? body.items.map(readItem) : [];
      for (const item of pageItems) {
        const senderItemId = item.payout_item.sender_item_id;
        if (senderItemId !== undefined) items.set(senderItemId, item);
      }
      const totalPages = typeof body.total_pages === "number" ? body.total_pages : page;
      if (page >= totalPages || pageItems.length < paypalPageSizeMax) break;
    }
    if (remember) {
      const ids = [...items].map(([cashoutId, item]) => ({ cashoutId, payoutItemId: item.payout_item_id }));
      await this.#o.store.setItemIds(batch.senderBatchId, ids);
    }
    return items;
  }
}

/** A batch driven: its items by cash-out id, or just posted (no item read yet), or refused whole. */
type Driven = Map<string, PaypalItem> | "posted" | "refused";

function addTo(
  batches: Map<string, { batch: PaypalBatch; orders: PayoutOrder[] }>,
  batch: PaypalBatch,
  order: PayoutOrder,
): void {
  const entry = batches.get(batch.senderBatchId) ?? { batch, orders: [] };
  entry.orders.push(order);
  batches.set(batch.senderBatchId, entry);
}

/**
 * A cash-out's state from its batch. Pair check: the item PayPal holds pays what the cash-out says,
 * in its currency; anything else stops here (logged, retried, and reported by reconciliation).
 */
function stateFor(order: PayoutOrder, batch: PaypalBatch, items: Driven): PayoutState {
  if (items === "refused") return { status: "failed", reason: batch.refused ?? "PayPal refused the batch" };
  if (items === "posted") return { status: "processing", ref: batch.payoutBatchId };
  const item = items.get(order.cashoutId);
  if (item === undefined) {
    throw new PaypalDataError(
      `PayPal batch ${batch.payoutBatchId} holds no item for cash-out ${order.cashoutId}`,
    );
  }
  const { currency, netMinor } = minorOfItem(item);
  if (currency !== order.currency || netMinor !== order.netMinor) {
    throw new PaypalDataError(
      `PayPal item ${item.payout_item_id} pays ${netMinor} ${currency}, cash-out ${order.cashoutId} ${order.netMinor} ${order.currency}`,
    );
  }
  return stateOfItem(item);
}
