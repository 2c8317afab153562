import type { PayoutDestination, PayoutOrder, PayoutRail, PayoutState, RailRecord } from "./rail.js";

/** What the test rail does with a destination, chosen by its magic value (docs/cashout.md). */
export type TestRailOutcome = "pay" | "fail" | "return" | "hold";

/**
 * The outcome a destination asks for: a PayPal email whose local part is `fail`, `return` or
 * `hold` (e.g. `fail@example.com`), or a bank account number (IBAN or US account number) or a
 * Stripe connected account id that ends in 0002, 0003 or 0004. Anything else is paid at once.
 */
export function testRailOutcome(destination: PayoutDestination): TestRailOutcome {
  if (destination.type === "paypal") {
    const local = destination.email.split("@")[0]!.toLowerCase();
    return local === "fail" ? "fail" : local === "return" ? "return" : local === "hold" ? "hold" : "pay";
  }
  const number =
    destination.type === "stripe_account"
      ? destination.accountId
      : "iban" in destination
        ? destination.iban
        : destination.accountNumber;
  const tail = number.replace(/\s+/g, "").slice(-4);
  return tail === "0002" ? "fail" : tail === "0003" ? "return" : tail === "0004" ? "hold" : "pay";
}

/** Most orders the test rail remembers; it is for tests and demos, not for volume. */
const ordersMax = 100_000;

interface TestOrder {
  state: PayoutState;
  currency: string;
  netMinor: bigint;
  /** When the rail was given the order, on the service clock. */
  atMs: number;
}

/**
 * The built-in `test` rail: no money moves. It pays at once unless the destination's magic value
 * says otherwise; a "return" destination is paid, then reported returned on the next status poll.
 */
export class TestPayoutRail implements PayoutRail {
  readonly name = "test";
  private readonly orders = new Map<string, TestOrder>();

  /** `clock` is the service clock, so that `records(sinceMs)` agrees with the test clock. */
  constructor(private readonly clock: () => number = Date.now) {}

  async submit(order: PayoutOrder): Promise<PayoutState> {
    const known = this.orders.get(order.cashoutId);
    if (known) return known.state;
    const outcome = testRailOutcome(order.destination);
    const ref = `test_po_${order.cashoutId}`;
    const state: PayoutState =
      outcome === "fail"
        ? { status: "failed", reason: "the test rail refused this destination" }
        : outcome === "hold"
          ? { status: "processing", ref }
          : { status: "paid", ref };
    if (this.orders.size >= ordersMax) this.orders.clear();
    this.orders.set(order.cashoutId, {
      state,
      currency: order.currency,
      netMinor: order.netMinor,
      atMs: this.clock(),
    });
    return state;
  }

  async status(order: PayoutOrder): Promise<PayoutState> {
    const known = this.orders.get(order.cashoutId);
    if (!known) return { status: "unknown" };
    if (known.state.status === "paid" && testRailOutcome(order.destination) === "return") {
      known.state = { status: "returned", reason: "the test rail returned this payout" };
    }
    return known.state;
  }

  async cancel(order: PayoutOrder): Promise<boolean> {
    const known = this.orders.get(order.cashoutId);
    if (known && known.state.status !== "processing") return false;
    this.orders.delete(order.cashoutId);
    return true;
  }

  /** What it remembers: orders given since a restart only, as it keeps them in memory. */
  async records(sinceMs: number): Promise<RailRecord[]> {
    const records: RailRecord[] = [];
    for (const [cashoutId, order] of this.orders) {
      if (order.atMs < sinceMs) continue;
      records.push({ cashoutId, state: order.state, currency: order.currency, netMinor: order.netMinor });
    }
    return records;
  }
}
