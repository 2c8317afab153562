import { describe, expect, it } from "vitest";
import { GiftstreamError } from "../../errors.js";
import { parseEconomy } from "./parse.js";
import { defaultEconomyDocument } from "./preset.js";

const minimal = {
  regions: {
    US: {
      currency: "USD",
      payoutCurrency: "USD",
      timeZone: "America/New_York",
      packs: [{ id: "us-1000", coins: "1000", priceMinor: "990" }],
      payoutMethods: ["paypal"],
      cashoutMinimumNetMinor: "10000",
      cashoutDailyMaxNetMinor: "100000",
      refundableWebPurchases: false,
    },
  },
  gifts: [{ id: "rose", name: "Rose", coins: "1", contexts: ["live", "video"] }],
};

describe("parseEconomy", () => {
  it("turns amounts into bigint and rates into exact Rates", () => {
    const economy = parseEconomy(defaultEconomyDocument);
    const us = economy.regions.US!;
    expect(us.country).toBe("US");
    expect(us.packs.find((pack) => pack.id === "us-1000")).toEqual({
      id: "us-1000",
      coins: 1000n,
      priceMinor: 990n,
    });
    expect(us.cashoutMinimumNetMinor).toBe(10000n);
    expect(economy.coinToDiamondRate).toEqual({ num: 2n, den: 1n, text: "2" });
    expect(economy.diamondValueUsd.live).toEqual({ num: 5n, den: 1000n, text: "0.005" });
    expect(economy.commissionRate).toEqual({ num: 5n, den: 10n, text: "0.5" });
    expect(economy.exchangeRates.JPY).toEqual({ num: 150n, den: 1n, text: "150" });
    expect(economy.gifts.find((gift) => gift.id === "universe")?.coins).toBe(44999n);
  });

  it("applies the defaults of everything optional", () => {
    const economy = parseEconomy(minimal);
    expect(economy.coinToDiamondRate.text).toBe("2");
    expect(economy.diamondValueUsd.live.text).toBe("0.005");
    expect(economy.diamondValueUsd.video.text).toBe("0.01");
    expect(economy.commissionRate.text).toBe("0.5");
    expect(Object.keys(economy.exchangeRates)).toEqual([]);
    expect(economy.earnings).toEqual({ maturationDays: 7, bonusCoinsEarn: true });
    expect(economy.spending).toEqual({ order: "bonus_first" });
    expect(economy.refunds).toEqual({ windowDays: 14 });
    expect(economy.limits).toEqual({ giftQuantityMax: 100 });
    expect(economy.minimumAge).toBe(18);
    expect(economy.gifts[0]).not.toHaveProperty("countries");
  });

  it("keeps partial groups' written values and defaults the rest", () => {
    const economy = parseEconomy({
      ...minimal,
      diamondValueUsd: { video: "0.02" },
      earnings: { maturationDays: 0 },
      limits: { purchaseCoinsMax: "20000" },
    });
    expect([economy.diamondValueUsd.live.text, economy.diamondValueUsd.video.text]).toEqual([
      "0.005",
      "0.02",
    ]);
    expect(economy.earnings).toEqual({ maturationDays: 0, bonusCoinsEarn: true });
    expect(economy.limits).toEqual({ giftQuantityMax: 100, purchaseCoinsMax: 20000n });
  });

  it("returns a deeply frozen economy that shares nothing with its input", () => {
    const input = structuredClone(minimal);
    const economy = parseEconomy(input);
    expect(Object.isFrozen(economy)).toBe(true);
    expect(Object.isFrozen(economy.regions.US!.packs[0])).toBe(true);
    expect(Object.isFrozen(economy.gifts[0]!.contexts)).toBe(true);
    expect(Object.isFrozen(economy.diamondValueUsd.live)).toBe(true);
    input.gifts[0]!.contexts.push("story" as "live");
    expect(economy.gifts[0]!.contexts).toEqual(["live", "video"]);
  });

  it("finds nothing inherited when looking up an untrusted key", () => {
    const economy = parseEconomy(defaultEconomyDocument);
    expect(economy.regions.constructor).toBeUndefined();
    expect(economy.regions.toString).toBeUndefined();
    expect(economy.exchangeRates.hasOwnProperty).toBeUndefined();
    expect(economy.regions.ZZ).toBeUndefined();
  });

  it("throws invalid_request listing the problems", () => {
    const input = structuredClone(minimal) as { regions: { US: { packs: { priceMinor: unknown }[] } } };
    input.regions.US.packs[0]!.priceMinor = "9.90";
    expect(() => parseEconomy(input)).toThrow(GiftstreamError);
    expect(() => parseEconomy(input)).toThrow(
      /regions\.US\.packs\[0\]\.priceMinor: "9\.90" has a decimal point/,
    );
  });

  it("bounds amounts by the configured amountMax", () => {
    expect(() => parseEconomy(minimal, { amountMax: 99_999n })).toThrow(/cashoutDailyMaxNetMinor/);
    expect(parseEconomy(minimal, { amountMax: 100_000n }).regions.US?.cashoutDailyMaxNetMinor).toBe(100000n);
  });
});
