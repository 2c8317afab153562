import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { PaypalApiError } from "./paypal-api.js";

describe("PaypalApiError", () => {
  it("keeps PayPal's answer readable by the code, and out of the logs", () => {
    const body = {
      name: "VALIDATION_ERROR",
      message: "Invalid request",
      details: [{ field: "items[0].receiver", value: "ada@example.com", issue: "RECEIVER_UNREGISTERED" }],
    };
    const error = new PaypalApiError(422, body, "POST /v1/payments/payouts");
    expect(error.body).toBe(body);
    expect(error.message).toBe(
      "PayPal POST /v1/payments/payouts answered 422 VALIDATION_ERROR: RECEIVER_UNREGISTERED",
    );
    const lines: string[] = [];
    const logger = pino({}, { write: (line: string) => lines.push(line) });
    logger.error({ err: error }, "payout refused");
    expect(lines.join("")).toContain("RECEIVER_UNREGISTERED");
    expect(lines.join("")).not.toContain("ada@example.com");
  });
});
