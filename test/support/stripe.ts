import type { StripeEvent, StripeStandIn } from "../stand-ins/stripe-stand-in.js";
import type { TestApp } from "./app.js";

/** Delivers one stand-in event to the app's Stripe webhook, signed as Stripe signs it. */
export function deliverStripeEvent(
  app: TestApp,
  stand: StripeStandIn,
  event: StripeEvent,
  opts: Parameters<StripeStandIn["signedDelivery"]>[1] = {},
) {
  const { body, header } = stand.signedDelivery(event, opts);
  return app.app.inject({
    method: "POST",
    url: "/v1/webhooks/stripe",
    headers: { "content-type": "application/json", "stripe-signature": header },
    payload: body,
  });
}
