import { describe, expect, it } from "vitest";
import {
  convert,
  convertExact,
  formatRational,
  multiplyRate,
  rational,
  subtractRationals,
} from "../../money/index.js";
import { parseEconomy } from "./parse.js";
import { defaultEconomyDocument } from "./preset.js";

const economy = parseEconomy(defaultEconomyDocument);

describe("defaultEconomyDocument", () => {
  it("parses, and is frozen", () => {
    expect(Object.isFrozen(defaultEconomyDocument)).toBe(true);
    expect(Object.isFrozen(defaultEconomyDocument.regions.US?.packs[0])).toBe(true);
  });

  it("holds the article's US prices and cash-out rules", () => {
    const us = economy.regions.US!;
    expect(us).toMatchObject({
      currency: "USD",
      payoutCurrency: "USD",
      timeZone: "America/New_York",
      payoutMethods: ["bank_account", "paypal"],
      cashoutMinimumNetMinor: 10000n,
      cashoutDailyMaxNetMinor: 100000n,
      refundableWebPurchases: false,
    });
    const price = (coins: bigint) => us.packs.find((pack) => pack.coins === coins)?.priceMinor;
    expect(price(1000n)).toBe(990n);
    expect(price(100n)).toBe(99n);
  });

  it("has the regions of DESIGN.md with their currencies and time zones", () => {
    const summary = Object.values(economy.regions).map((region) => [
      region.country,
      region.currency,
      region.payoutCurrency,
      region.timeZone,
    ]);
    expect(summary).toEqual([
      ["US", "USD", "USD", "America/New_York"],
      ["GB", "GBP", "GBP", "Europe/London"],
      ["DE", "EUR", "EUR", "Europe/Berlin"],
      ["FR", "EUR", "EUR", "Europe/Paris"],
      ["IN", "INR", "INR", "Asia/Kolkata"],
      ["BR", "BRL", "BRL", "America/Sao_Paulo"],
      ["JP", "JPY", "JPY", "Asia/Tokyo"],
    ]);
  });

  it("gives every region a pack ladder that never costs more per coin as packs grow", () => {
    for (const region of Object.values(economy.regions)) {
      expect(region.packs.map((pack) => pack.coins)).toEqual([30n, 100n, 500n, 1000n, 5000n, 10000n]);
      for (const [index, pack] of region.packs.entries()) {
        const previous = region.packs[index - 1];
        if (previous === undefined) continue;
        // price/coins ≤ previous price/coins, cross-multiplied to stay in integers.
        expect(pack.priceMinor * previous.coins <= previous.priceMinor * pack.coins).toBe(true);
      }
    }
  });

  it("makes web purchases refundable in the UK and the EEA only", () => {
    const refundable = Object.values(economy.regions)
      .filter((region) => region.refundableWebPurchases)
      .map((region) => region.country);
    expect(refundable).toEqual(["GB", "DE", "FR"]);
  });

  it("has an exchange rate for every payout currency but USD", () => {
    const payout = new Set(Object.values(economy.regions).map((region) => region.payoutCurrency));
    payout.delete("USD");
    expect(Object.keys(economy.exchangeRates).sort()).toEqual([...payout].sort());
  });

  it("has about 20 gifts from rose to universe, live-only and both", () => {
    expect(economy.gifts.length).toBeGreaterThanOrEqual(18);
    expect(economy.gifts.length).toBeLessThanOrEqual(24);
    const byId = new Map(economy.gifts.map((gift) => [gift.id, gift]));
    expect(byId.get("rose")).toMatchObject({ coins: 1n, contexts: ["live", "video"] });
    expect(byId.get("hand-hearts")).toMatchObject({ coins: 100n, contexts: ["live", "video"] });
    expect(byId.get("universe")).toMatchObject({ coins: 44999n, contexts: ["live"] });
    const coins = economy.gifts.map((gift) => gift.coins);
    expect(coins.every((value) => value <= 44999n)).toBe(true);
    expect(economy.gifts.some((gift) => gift.contexts.length === 1)).toBe(true);
    expect(economy.gifts.some((gift) => gift.contexts.length === 2)).toBe(true);
  });

  it("holds the article's rates and the default rules", () => {
    expect(economy.coinToDiamondRate.text).toBe("2");
    expect(economy.diamondValueUsd.live.text).toBe("0.005");
    expect(economy.diamondValueUsd.video.text).toBe("0.01");
    expect(economy.commissionRate.text).toBe("0.5");
    expect(economy.earnings).toEqual({ maturationDays: 7, bonusCoinsEarn: true });
    expect(economy.spending.order).toBe("bonus_first");
    expect(economy.refunds.windowDays).toBe(14);
    expect(economy.minimumAge).toBe(18);
  });

  it("proves DESIGN.md's worked example from the preset alone", () => {
    const us = economy.regions.US!;
    const pack = us.packs.find((candidate) => candidate.coins === 1000n)!;
    expect(pack.priceMinor).toBe(990n);
    const coinsLeft = pack.coins - 100n - 100n;
    expect(coinsLeft).toBe(800n);

    const diamonds = (coins: bigint) => multiplyRate(coins, economy.coinToDiamondRate, "down");
    expect(diamonds(100n)).toEqual({ result: 200n, remainder: rational(0n, 1n) });

    const live = convertExact(200n, "DIAMOND", economy.diamondValueUsd.live, "USD");
    const video = convertExact(200n, "DIAMOND", economy.diamondValueUsd.video, "USD");
    expect(formatRational(live)).toBe("100");
    expect(formatRational(video)).toBe("200");
    expect(convert(200n, "DIAMOND", economy.diamondValueUsd.live, "USD", "down").minor).toBe(100n);

    const gross = 100n + 200n;
    expect(gross).toBe(300n);
    // Net is rounded down (the creator never gets more than exact); commission = gross − net.
    const creatorShare = subtractRationals(rational(1n, 1n), economy.commissionRate);
    const net = multiplyRate(gross, creatorShare, "down").result;
    const commission = gross - net;
    expect({ gross, commission, net }).toEqual({ gross: 300n, commission: 150n, net: 150n });
    expect(net < us.cashoutMinimumNetMinor).toBe(true);
    expect(us.cashoutMinimumNetMinor).toBe(10000n);
  });
});
