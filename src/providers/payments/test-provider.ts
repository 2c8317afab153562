import type { CheckoutRequest, CheckoutResult, PaymentProvider, RefundRequest } from "./provider.js";

/**
 * The built-in `test` provider: behaves like a card in test mode. Its checkout needs no redirect,
 * and the purchase settles at once with the outcome the request asks for (`testOutcome`). It is
 * available only in test mode.
 */
export class TestPaymentProvider implements PaymentProvider {
  readonly name = "test" as const;

  async createCheckout(request: CheckoutRequest): Promise<CheckoutResult> {
    return { providerRef: `test_checkout_${request.purchaseId}`, redirectUrl: null };
  }

  async refund(request: RefundRequest): Promise<{ refundRef: string }> {
    return { refundRef: `test_refund_${request.idempotencyKey.length}_${request.paymentRef}` };
  }
}
