import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRate } from "../../money/index.js";
import { cashValue } from "./cash-value.js";

const usd = parseRate("1");

describe("cash value of diamonds", () => {
  it("holds the worked example: 200 live + 200 video diamonds are $3.00 gross, $1.50 net", () => {
    const value = cashValue(
      [
        { diamonds: 200n, valueUsd: "0.005", commissionRate: "0.5" },
        { diamonds: 200n, valueUsd: "0.01", commissionRate: "0.5" },
      ],
      "USD",
      usd,
    );
    expect(value).toEqual({ currency: "USD", gross: 300n, commission: 150n, net: 150n });
  });

  it("rounds once across lots, in the platform's favour", () => {
    // 3 live diamonds are $0.015 each lot; apart they would round to 1 + 1 cents, together 4.5 → 4.
    const lots = [
      { diamonds: 3n, valueUsd: "0.005", commissionRate: "0.5" },
      { diamonds: 3n, valueUsd: "0.005", commissionRate: "0.5" },
      { diamonds: 3n, valueUsd: "0.005", commissionRate: "0.5" },
    ];
    expect(cashValue(lots, "USD", usd)).toEqual({ currency: "USD", gross: 4n, commission: 2n, net: 2n });
  });

  it("converts to the payout currency at the locked rate, JPY with no minor unit", () => {
    const value = cashValue(
      [{ diamonds: 1000n, valueUsd: "0.005", commissionRate: "0.5" }],
      "JPY",
      parseRate("150"),
    );
    // $5.00 × 150 = ¥750 gross, ¥375 net
    expect(value).toEqual({ currency: "JPY", gross: 750n, commission: 375n, net: 375n });
  });

  it("never pays more than the exact net, and commission plus net is the gross", () => {
    fc.assert(
      fc.property(
        fc.array(
          fc.record({
            diamonds: fc.bigInt(0n, 10n ** 12n),
            valueUsd: fc.constantFrom("0.005", "0.01", "0.0037"),
            commissionRate: fc.constantFrom("0", "0.5", "0.333"),
          }),
          { maxLength: 10 },
        ),
        (lots) => {
          const value = cashValue(lots, "USD", usd);
          expect(value.commission + value.net).toBe(value.gross);
          expect(value.net).toBeGreaterThanOrEqual(0n);
          // The exact net in cents as one fraction N/D, summed by hand: the net paid is its floor.
          let n = 0n;
          let d = 1n;
          for (const l of lots) {
            const v = parseRate(l.valueUsd);
            const c = parseRate(l.commissionRate, { allowZero: true });
            const a = l.diamonds * v.num * 100n * (c.den - c.num);
            const b = v.den * c.den;
            n = n * b + a * d;
            d = d * b;
          }
          expect(value.net * d <= n).toBe(true);
          expect((value.net + 1n) * d > n).toBe(true);
        },
      ),
    );
  });
});
