import { describe, expect, it } from "vitest";
import { type PayoutRoute, routeFor } from "./routing.js";

const paypal = { type: "paypal" as const, email: "a@example.com" };
const iban = { type: "bank_account" as const, holderName: "A", iban: "DE89370400440532013000", bic: null };
const aba = {
  type: "bank_account" as const,
  holderName: "A",
  routingNumber: "011000015",
  accountNumber: "123456789",
  accountType: "checking" as const,
};

describe("routeFor", () => {
  const routes: PayoutRoute[] = [
    { rail: "sepa", scheme: "iban", currency: "EUR" },
    { rail: "nacha", scheme: "aba", currency: "USD" },
    { rail: "paypal", methodType: "paypal", country: "US" },
    { rail: "test" },
  ];
  const all = () => true;

  it("takes the first rule that matches every field it names", () => {
    expect(routeFor(routes, { destination: iban, currency: "EUR", country: "DE" }, all)).toBe("sepa");
    expect(routeFor(routes, { destination: aba, currency: "USD", country: "US" }, all)).toBe("nacha");
    expect(routeFor(routes, { destination: paypal, currency: "USD", country: "US" }, all)).toBe("paypal");
    expect(routeFor(routes, { destination: paypal, currency: "EUR", country: "DE" }, all)).toBe("test");
    expect(routeFor(routes, { destination: iban, currency: "GBP", country: "GB" }, all)).toBe("test");
  });

  it("skips rules whose rail is not available, and answers undefined when nothing matches", () => {
    const noSepa = (rail: string) => rail !== "sepa";
    expect(routeFor(routes, { destination: iban, currency: "EUR", country: "DE" }, noSepa)).toBe("test");
    expect(
      routeFor(routes.slice(0, 2), { destination: paypal, currency: "USD", country: "US" }, all),
    ).toBeUndefined();
  });
});
