import type { Purchases } from "../../economy/purchases/purchases.js";
import type { WebhookPaymentProvider } from "../../providers/payments/provider.js";
import type { GiftstreamApp } from "../app.js";
import { errorResponses } from "../problem.js";

/**
 * `POST /v1/webhooks/stripe`: no API key, the signature over the raw body is the authentication.
 * The body is kept as raw bytes (signature checks need them exactly); a 2xx tells Stripe to stop
 * retrying, so anything not applied answers 5xx and is delivered again.
 */
export function stripeWebhookRoute(
  app: GiftstreamApp,
  stripe: WebhookPaymentProvider,
  purchases: Purchases,
): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
    scope.post(
      "/v1/webhooks/stripe",
      {
        schema: {
          summary: "Stripe events (signed)",
          description: "Verified with the endpoint's signing secret from the `Stripe-Signature` header.",
          tags: ["webhooks"],
          response: {
            200: { type: "object", properties: { received: { type: "boolean" } } },
            ...errorResponses("invalid_signature"),
          },
        },
      },
      async (request) => {
        const signature = request.headers["stripe-signature"];
        const events = await stripe.parseWebhook(
          request.body as Buffer,
          typeof signature === "string" ? signature : undefined,
        );
        await purchases.applyEvents(stripe, events);
        return { received: true };
      },
    );
  });
}
