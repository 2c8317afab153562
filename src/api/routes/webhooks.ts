import type { Purchases } from "../../economy/purchases/purchases.js";
import type { WebhookPaymentProvider } from "../../providers/payments/provider.js";
import type { StripeConnectWebhooks } from "../../providers/payouts/stripe-connect/stripe-connect-webhooks.js";
import type { GiftstreamApp } from "../app.js";
import { errorResponses } from "../problem.js";

/**
 * `POST /v1/webhooks/stripe`: no API key, the signature over the raw body is the authentication.
 * The body is kept as raw bytes (signature checks need them exactly); a 2xx tells Stripe to stop
 * retrying, so anything not applied answers 5xx and is delivered again. With the Stripe Connect
 * rail on, its transfer events and connected accounts' events settle cash-outs first
 * (docs/payouts.md#stripe-connect); every other event goes to the payments provider.
 */
export function stripeWebhookRoute(
  app: GiftstreamApp,
  stripe: WebhookPaymentProvider,
  purchases: Purchases,
  connect?: StripeConnectWebhooks,
): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
    scope.post(
      "/v1/webhooks/stripe",
      {
        schema: {
          summary: "Stripe events (signed)",
          description:
            "Verified with the endpoint's signing secret from the `Stripe-Signature` header (with the Stripe Connect rail on, a Connect endpoint's secret too).",
          tags: ["webhooks"],
          response: {
            200: { type: "object", properties: { received: { type: "boolean" } } },
            ...errorResponses("invalid_signature"),
          },
        },
      },
      async (request) => {
        const signature = request.headers["stripe-signature"];
        const header = typeof signature === "string" ? signature : undefined;
        // No body at all is an empty one: its signature cannot match.
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        if (connect !== undefined) {
          const report = await connect.handle(body, header);
          if (report?.kind === "acknowledged")
            request.log.info({ reason: report.reason }, "Stripe Connect event acknowledged");
          if (report !== null) return { received: true };
        }
        const events = await stripe.parseWebhook(body, header);
        await purchases.applyEvents(stripe, events);
        return { received: true };
      },
    );
  });
}
