import type { GiftstreamApp } from "../app.js";
import { errorResponses } from "../problem.js";

/** What the route needs of the PayPal rail: verify a delivery and apply it. */
export interface PaypalWebhookHandler {
  handle(headers: Readonly<Record<string, string | string[] | undefined>>, rawBody: Buffer): Promise<void>;
}

/**
 * `POST /v1/webhooks/paypal`: PayPal's webhook deliveries, authenticated by PayPal's own
 * verification of their signature headers (docs/payouts.md#paypal-payouts). The raw bytes are
 * kept, since they go back to PayPal to be verified. A 2xx stops PayPal's retries, so anything not
 * applied answers 5xx and comes again.
 */
export function paypalWebhookRoute(app: GiftstreamApp, paypal: PaypalWebhookHandler): void {
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser("*", { parseAs: "buffer" }, (_request, body, done) => done(null, body));
    scope.post(
      "/v1/webhooks/paypal",
      {
        schema: {
          summary: "PayPal Payouts events (signed)",
          description:
            "Verified by PayPal (`POST /v1/notifications/verify-webhook-signature`) from the `PAYPAL-TRANSMISSION-*`, `PAYPAL-CERT-URL` and `PAYPAL-AUTH-ALGO` headers and the configured webhook id.",
          tags: ["webhooks"],
          response: {
            200: { type: "object", properties: { received: { type: "boolean" } } },
            ...errorResponses("invalid_signature"),
          },
        },
      },
      async (request) => {
        const body = Buffer.isBuffer(request.body) ? request.body : Buffer.alloc(0);
        await paypal.handle(request.headers, body);
        return { received: true };
      },
    );
  });
}
