import { expect } from "vitest";
import { reconcile } from "../../src/ledger/reconcile.js";
import { type PaypalEvent, type PaypalStandIn, startPaypalStandIn } from "../stand-ins/paypal-stand-in.js";
import { type StripeEvent, type StripeStandIn, startStripeStandIn } from "../stand-ins/stripe-stand-in.js";
import { type CreatorApp, earn, newKey, openCreatorApp, requestCashout, verify } from "./creator.js";
import { count } from "./sql.js";
import { deliverStripeEvent } from "./stripe.js";

/** Shared steps of the payout-rail tests: the app with the PayPal and Stripe Connect rails on stand-ins. */

export interface PayoutsApp {
  t: CreatorApp;
  paypal: PaypalStandIn;
  stripe: StripeStandIn;
  dispose(): Promise<void>;
}

/** One PayPal or Stripe API call may take this long in the tests: a delayed answer is a timeout. */
export const railTimeoutMs = 400;

/**
 * The configuration that routes PayPal methods to the `paypal` rail and connected accounts to
 * `stripe_connect`, both pointed at the local stand-ins; `rail` sets their timeouts and retries.
 */
export function standInRailsConfig(
  paypal: PaypalStandIn,
  stripe: StripeStandIn,
  rail: { timeoutMs?: number; networkRetriesMax?: number } = {},
) {
  return {
    payments: {
      stripe: { secretKey: stripe.secretKey, webhookSecret: stripe.webhookSecret, apiUrl: stripe.url },
    },
    payouts: {
      routes: [
        { rail: "paypal", methodType: "paypal" as const },
        { rail: "stripe_connect", methodType: "stripe_account" as const },
      ],
      paypal: {
        clientId: paypal.clientId,
        clientSecret: paypal.clientSecret,
        webhookId: paypal.webhookId,
        apiUrl: paypal.url,
        ...(rail.timeoutMs === undefined ? {} : { timeoutMs: rail.timeoutMs }),
      },
      stripeConnect: { enabled: true, connectWebhookSecret: stripe.connectWebhookSecret, ...rail },
    },
  };
}

/**
 * A test-mode app whose US creators may link PayPal, Stripe connected accounts and bank accounts:
 * PayPal cash-outs ride the `paypal` rail, connected accounts `stripe_connect`, and bank accounts
 * the built-in `test` rail. Cash-outs approve themselves; the background job is idle, so each test
 * runs the passes itself (`t.cashouts.process()`).
 */
/** Diamonds that mature at once, every payout method in the US, and cash-outs that approve themselves. */
export const payoutsEconomy = {
  economy: {
    earnings: { maturationDays: 0 },
    // Mixed runs pay more than the default $1,000 a day to one creator.
    regions: {
      US: {
        payoutMethods: ["bank_account", "paypal", "stripe_account"],
        cashoutDailyMaxNetMinor: "10000000",
      },
    },
  },
  cashouts: {
    autoApproveNetMaxMinor: { USD: "100000000" },
    autoApproveAccountAgeDaysMin: 0,
    processIntervalMs: 3_600_000,
  },
};

export async function openPayoutsApp(overrides: Record<string, unknown> = {}): Promise<PayoutsApp> {
  let app: CreatorApp | undefined;
  // The stand-ins date what they create by the app's service clock, as the real providers' clocks
  // agree with a real one.
  const clock = () => app?.clock.now() ?? Date.now();
  const paypal = await startPaypalStandIn({ clock });
  const stripe = await startStripeStandIn({ clock });
  app = await openCreatorApp("US", {
    ...payoutsEconomy,
    payoutMethods: { perUserMax: 20 },
    ...standInRailsConfig(paypal, stripe, { timeoutMs: railTimeoutMs, networkRetriesMax: 0 }),
    ...overrides,
  });
  const t = app;
  return {
    t,
    paypal,
    stripe,
    async dispose() {
      await t.dispose();
      await paypal.close();
      await stripe.close();
    },
  };
}

export async function linkStripeAccount(
  t: CreatorApp,
  accountId: string,
  userId = "creator",
): Promise<string> {
  const res = await t.inject("POST", `/v1/users/${userId}/payout-methods`, {
    type: "stripe_account",
    accountId,
  });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { id: string }).id;
}

/** Requests a cash-out of `diamonds` to `methodId`; it approves itself. */
export async function cashOut(t: CreatorApp, methodId: string, diamonds = "20000"): Promise<string> {
  const res = await requestCashout(t, { payoutMethodId: methodId, diamonds }, newKey());
  expect(res.statusCode, res.body).toBe(201);
  const body = res.json() as { id: string; status: string };
  expect(body.status).toBe("approved");
  return body.id;
}

export interface CashoutView {
  id: string;
  status: string;
  rail: string;
  reason: string | null;
  railRef: string | null;
  net: string;
}

export async function cashoutOf(t: CreatorApp, id: string): Promise<CashoutView> {
  const res = await t.inject("GET", `/v1/cashouts/${id}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as CashoutView;
}

export const statusOf = async (t: CreatorApp, id: string) => (await cashoutOf(t, id)).status;

/** PayPal's delivery of an event to the app's webhook, signed by the stand-in. */
export function deliverPaypal(
  t: CreatorApp,
  paypal: PaypalStandIn,
  event: PaypalEvent,
  opts: Parameters<PaypalStandIn["signedDelivery"]>[1] = {},
) {
  const { body, headers } = paypal.signedDelivery(event, opts);
  return t.app.inject({ method: "POST", url: "/v1/webhooks/paypal", headers, payload: body });
}

/** Stripe's delivery of an event; Connect events (with `account`) are signed with the Connect endpoint's secret. */
export function deliverStripe(
  t: CreatorApp,
  stripe: StripeStandIn,
  event: StripeEvent,
  opts: { secret?: string } = {},
) {
  const secret =
    opts.secret ?? (event.account === undefined ? stripe.webhookSecret : stripe.connectWebhookSecret);
  return deliverStripeEvent(t, stripe, event, { secret });
}

export interface Reconciliation {
  ok: boolean;
  since: string;
  cashoutsChecked: number;
  railRecordsChecked: number;
  differences: { kind: string; rail: string; cashoutId: string | null; detail: string }[];
}

export async function reconciliation(t: CreatorApp, since?: string): Promise<Reconciliation> {
  const res = await t.inject(
    "GET",
    `/v1/admin/reconciliation/payouts${since === undefined ? "" : `?since=${encodeURIComponent(since)}`}`,
  );
  expect(res.statusCode, res.body).toBe(200);
  return res.json() as Reconciliation;
}

/** How many ledger transfers exist: a replayed event that changed nothing adds none. */
export async function transferCount(t: CreatorApp): Promise<bigint> {
  return count(t.runtime.store, "transfers");
}

/** A payouts app with a verified creator who has `cashouts` × $100 (20,000 video diamonds each) withdrawable. */
export async function openReadyCreator(cashouts = 1): Promise<PayoutsApp> {
  const app = await openPayoutsApp();
  await earn(app.t, "video", "galaxy", 10 * cashouts);
  await verify(app.t);
  return app;
}

/** Every unit sums to zero and every account's totals match its entries. */
export async function expectBalanced(app: PayoutsApp): Promise<void> {
  const report = await reconcile(app.t.runtime.store);
  expect(report.problems).toEqual([]);
  expect(report.ok).toBe(true);
}
