import type { Logger } from "pino";
import { ConfigError } from "../config/index.js";
import type { Cashouts } from "../economy/cashouts/cashouts.js";
import { applyRailReport } from "../economy/cashouts/rail-reports.js";
import { PaypalApi } from "../providers/payouts/paypal/paypal-api.js";
import { PaypalPayoutRail } from "../providers/payouts/paypal/paypal-rail.js";
import { itemReportOf, PaypalWebhooks } from "../providers/payouts/paypal/paypal-webhooks.js";
import type { PayoutRail } from "../providers/payouts/rail.js";
import { StripeConnectRail } from "../providers/payouts/stripe-connect/stripe-connect-rail.js";
import { StripeConnectWebhooks } from "../providers/payouts/stripe-connect/stripe-connect-webhooks.js";
import { SqlPaypalPayoutStore } from "../store/sql/paypal-store.js";
import { openSealer } from "./identity.js";
import type { Runtime } from "./runtime.js";

/**
 * The payout rails over provider APIs (issue 7): `paypal` when `payouts.paypal.clientId` and
 * `clientSecret` are set, `stripe_connect` when `payouts.stripeConnect.enabled` is true (on the
 * Stripe account of `payments.stripe`). Neither is there otherwise: a route to it is skipped.
 */
export function apiRails(o: {
  runtime: Runtime;
  clock: () => number;
  logger: Logger;
}): Map<string, PayoutRail> {
  const config = o.runtime.config;
  const rails = new Map<string, PayoutRail>();
  const paypal = config.payouts.paypal;
  if ((paypal.clientId === undefined) !== (paypal.clientSecret === undefined)) {
    throw new ConfigError([
      "payouts.paypal: clientId and clientSecret go together (PAYPAL_CLIENT_ID, PAYPAL_CLIENT_SECRET)",
    ]);
  }
  if (paypal.clientId !== undefined && paypal.clientSecret !== undefined) {
    const rail = new PaypalPayoutRail({
      api: new PaypalApi({
        baseUrl: paypal.apiUrl,
        clientId: paypal.clientId,
        clientSecret: paypal.clientSecret,
        timeoutMs: paypal.timeoutMs,
      }),
      // The batches hold the receivers' emails: sealed with the key of the payout methods.
      store: new SqlPaypalPayoutStore(o.runtime.store, openSealer(config)),
      clock: o.clock,
      batchSizeMax: paypal.batchSizeMax,
      logger: o.logger,
    });
    rails.set(rail.name, rail);
  }
  const connect = config.payouts.stripeConnect;
  if (connect.enabled) {
    const stripe = config.payments.stripe;
    if (stripe?.secretKey === undefined || stripe.webhookSecret === undefined) {
      throw new ConfigError([
        "payouts.stripeConnect.enabled: needs payments.stripe.secretKey and payments.stripe.webhookSecret, the Stripe account that transfers to connected accounts",
      ]);
    }
    const rail = new StripeConnectRail({
      secretKey: stripe.secretKey,
      ...(stripe.apiUrl === undefined ? {} : { apiBase: apiBaseOf(stripe.apiUrl) }),
      timeoutMs: connect.timeoutMs,
      networkRetriesMax: connect.networkRetriesMax,
      webhookSecrets: [
        stripe.webhookSecret,
        ...(connect.connectWebhookSecret === undefined ? [] : [connect.connectWebhookSecret]),
      ],
    });
    rails.set(rail.name, rail);
  }
  return rails;
}

/** What the webhook routes of the API rails need, for the rails that are configured. */
export function apiRailWebhooks(
  rails: ReadonlyMap<string, PayoutRail>,
  cashouts: Cashouts,
  webhookId: string | undefined,
): {
  stripeConnect?: StripeConnectWebhooks;
  paypal?: {
    handle(headers: Readonly<Record<string, string | string[] | undefined>>, raw: Buffer): Promise<void>;
  };
} {
  const hooks: ReturnType<typeof apiRailWebhooks> = {};
  const connect = rails.get("stripe_connect");
  if (connect instanceof StripeConnectRail) {
    hooks.stripeConnect = new StripeConnectWebhooks(connect, (report) =>
      applyRailReport(cashouts, connect.name, report),
    );
  }
  const paypal = rails.get("paypal");
  // Without a webhook id nothing can be verified: PayPal's states then come by polling alone.
  if (paypal instanceof PaypalPayoutRail && webhookId !== undefined) {
    const webhooks = new PaypalWebhooks(paypal.api, webhookId);
    hooks.paypal = {
      async handle(headers, raw) {
        const report = itemReportOf(await webhooks.verify(headers, raw));
        if (report !== null) await applyRailReport(cashouts, paypal.name, report);
      },
    };
  }
  return hooks;
}

function apiBaseOf(apiUrl: string): { host: string; port: number; protocol: "http" | "https" } {
  const url = new URL(apiUrl);
  const protocol = url.protocol === "http:" ? "http" : "https";
  return { host: url.hostname, port: Number(url.port || (protocol === "http" ? 80 : 443)), protocol };
}
