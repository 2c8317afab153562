import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { parseRate } from "../../money/index.js";
import { type AvailableLot, allocate, largestWithinNet } from "./allocate.js";

const usd = parseRate("1");
const live = (giftId: string, diamonds: bigint): AvailableLot => ({
  giftId,
  diamonds,
  valueUsd: "0.005",
  commissionRate: "0.5",
});
const video = (giftId: string, diamonds: bigint): AvailableLot => ({
  giftId,
  diamonds,
  valueUsd: "0.01",
  commissionRate: "0.5",
});

describe("allocate", () => {
  it("takes the oldest lots first, the last one in part, and rounds once across lots", () => {
    // 3 live diamonds ($0.015) and 3 video diamonds ($0.03): 5 of them are $0.035 gross, which
    // rounds to 3 cents; each lot rounded alone would give 1 + 2 = 3, but the net shows the
    // difference: $0.0175 rounds to 1 cent, where per-lot rounding would give 0 + 1.
    const lots = [live("g1", 3n), video("g2", 3n), live("g3", 10n)];
    const a = allocate(lots, 5n, "USD", usd)!;
    expect(a.takes.map((t) => [t.giftId, t.diamonds])).toEqual([
      ["g1", 3n],
      ["g2", 2n],
    ]);
    expect(a.value).toEqual({ currency: "USD", gross: 3n, commission: 2n, net: 1n });
  });

  it("values lots of one value but different locked commissions each at its own rate", () => {
    // The economy's commission changed between two gifts of the same value: 200 diamonds at 50 %
    // and 200 at 20 %, $1 gross each, so $0.50 + $0.80 net. Valued as one group at either rate,
    // the net would be $1.00 or $1.60.
    const lots: AvailableLot[] = [
      { giftId: "g1", diamonds: 200n, valueUsd: "0.005", commissionRate: "0.5" },
      { giftId: "g2", diamonds: 200n, valueUsd: "0.005", commissionRate: "0.2" },
    ];
    expect(allocate(lots, 400n, "USD", usd)!.value).toEqual({
      currency: "USD",
      gross: 200n,
      commission: 70n,
      net: 130n,
    });
  });

  it("skips emptied lots and refuses more than there is", () => {
    const lots = [live("g1", 0n), video("g2", 100n)];
    expect(allocate(lots, 100n, "USD", usd)!.takes).toEqual([{ ...video("g2", 100n) }]);
    expect(allocate(lots, 101n, "USD", usd)).toBeUndefined();
  });

  it("values a non-USD payout at the given rate", () => {
    // 20,000 video diamonds are $200 gross; at 0.92 EUR per USD that is €184, €92 net.
    const a = allocate([video("g1", 20_000n)], 20_000n, "EUR", parseRate("0.92"))!;
    expect(a.value).toEqual({ currency: "EUR", gross: 18_400n, commission: 9_200n, net: 9_200n });
  });
});

describe("largestWithinNet", () => {
  it("caps to the most diamonds whose net fits", () => {
    const lots = [video("g1", 1_000_000n)];
    // $1,000 net at $0.005 net per video diamond is 200,000 diamonds, and one more still nets
    // $1,000.005, which rounds down to $1,000: the platform keeps the half cent.
    const a = largestWithinNet(lots, 1_000_000n, 100_000n, "USD", usd);
    expect(a.diamonds).toBe(200_001n);
    expect(a.value.net).toBe(100_000n);
  });

  it("is the largest prefix within the cap, for any lots (property)", () => {
    const lot = fc.record({
      diamonds: fc.bigInt({ min: 0n, max: 5_000n }),
      valueUsd: fc.constantFrom("0.005", "0.01", "0.0033"),
      commissionRate: fc.constantFrom("0.5", "0.3", "0"),
    });
    fc.assert(
      fc.property(fc.array(lot, { maxLength: 8 }), fc.bigInt({ min: 0n, max: 200n }), (raw, cap) => {
        const lots = raw.map((l, i) => ({ ...l, giftId: `g${i}` }));
        const total = lots.reduce((s, l) => s + l.diamonds, 0n);
        const a = largestWithinNet(lots, total, cap, "USD", usd);
        expect(a.value.net <= cap).toBe(true);
        expect(a.value.gross - a.value.commission).toBe(a.value.net);
        expect(a.takes.reduce((s, t) => s + t.diamonds, 0n)).toBe(a.diamonds);
        if (a.diamonds < total)
          expect(allocate(lots, a.diamonds + 1n, "USD", usd)!.value.net > cap).toBe(true);
      }),
      { numRuns: 200 },
    );
  });
});
