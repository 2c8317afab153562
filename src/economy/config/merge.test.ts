import { describe, expect, it } from "vitest";
import { GiftstreamError } from "../../errors.js";
import { applyOverride, overrideDepthMax } from "./merge.js";
import { parseEconomy } from "./parse.js";
import { defaultEconomyDocument as base } from "./preset.js";

function problemsOf(override: unknown): unknown {
  try {
    applyOverride(base, override);
  } catch (error) {
    expect(error).toBeInstanceOf(GiftstreamError);
    expect((error as GiftstreamError).code).toBe("invalid_request");
    return (error as GiftstreamError).extra?.problems;
  }
  return expect.unreachable("the override was accepted");
}

describe("applyOverride", () => {
  it("changes one field of one region and keeps the rest", () => {
    const merged = applyOverride(base, { regions: { US: { cashoutMinimumNetMinor: "5000" } } });
    expect(merged.regions.US).toEqual({ ...base.regions.US, cashoutMinimumNetMinor: "5000" });
    expect(merged.regions.GB).toEqual(base.regions.GB);
    expect(merged.gifts).toEqual(base.gifts);
    expect(merged.commissionRate).toBe("0.5");
  });

  it("replaces arrays wholesale: packs, payout methods, gifts", () => {
    const packs = [{ id: "us-2000", coins: "2000", priceMinor: "1980" }];
    const gifts = [{ id: "rose", name: "Rose", coins: "1", contexts: ["live"] }];
    const merged = applyOverride(base, { regions: { US: { packs, payoutMethods: ["paypal"] } }, gifts });
    expect(merged.regions.US?.packs).toEqual(packs);
    expect(merged.regions.US?.payoutMethods).toEqual(["paypal"]);
    expect(merged.gifts).toEqual(gifts);
    expect(merged.regions.GB?.packs).toEqual(base.regions.GB?.packs);
  });

  it("adds a region and an exchange rate beside the existing ones", () => {
    const CA = {
      ...base.regions.US!,
      currency: "CAD",
      payoutCurrency: "CAD",
      timeZone: "America/Toronto",
      packs: [],
    };
    const merged = applyOverride(base, { regions: { CA }, exchangeRates: { CAD: "1.36" } });
    expect(Object.keys(merged.regions)).toEqual([...Object.keys(base.regions), "CA"]);
    expect(merged.exchangeRates).toEqual({ ...base.exchangeRates, CAD: "1.36" });
    expect(parseEconomy(merged).regions.CA?.payoutCurrency).toBe("CAD");
  });

  it("merges nested groups per field", () => {
    const merged = applyOverride(base, {
      diamondValueUsd: { video: "0.008" },
      earnings: { maturationDays: 0 },
    });
    expect(merged.diamondValueUsd).toEqual({ live: "0.005", video: "0.008" });
    expect(merged.earnings).toEqual({ maturationDays: 0, bonusCoinsEarn: true });
  });

  it("returns the base's content for an empty override, as a copy", () => {
    const merged = applyOverride(base, {});
    expect(merged).toEqual(base);
    expect(merged).not.toBe(base);
    expect(merged.regions.US).not.toBe(base.regions.US);
    expect(Object.isFrozen(merged)).toBe(false);
  });

  it("shares no structure with the override", () => {
    const packs = [{ id: "us-2000", coins: "2000", priceMinor: "1980" }];
    const merged = applyOverride(base, { regions: { US: { packs } } });
    packs[0]!.priceMinor = "1";
    packs.push({ id: "x", coins: "1", priceMinor: "1" });
    expect(merged.regions.US?.packs).toEqual([{ id: "us-2000", coins: "2000", priceMinor: "1980" }]);
  });

  it("ignores undefined values", () => {
    expect(
      applyOverride(base, { commissionRate: undefined, regions: { US: { currency: undefined } } }),
    ).toEqual(base);
  });

  it("refuses null anywhere, naming every path", () => {
    expect(
      problemsOf({
        commissionRate: null,
        regions: { US: { packs: [null] } },
        limits: { purchaseCoinsMax: null },
      }),
    ).toEqual([
      { path: "commissionRate", message: "must not be null: an override sets values, it cannot remove them" },
      {
        path: "regions.US.packs[0]",
        message: "must not be null: an override sets values, it cannot remove them",
      },
      {
        path: "limits.purchaseCoinsMax",
        message: "must not be null: an override sets values, it cannot remove them",
      },
    ]);
  });

  it("refuses an override that is not an object", () => {
    for (const override of [null, [], "x", 1, undefined]) {
      expect(problemsOf(override)).toEqual([{ path: "", message: "must be an object" }]);
    }
  });

  it("refuses an override nested deeper than any document", () => {
    let deep: Record<string, unknown> = {};
    const root = deep;
    for (let level = 0; level < overrideDepthMax + 5; level++) {
      const next: Record<string, unknown> = {};
      deep.a = next;
      deep = next;
    }
    expect(problemsOf(root)).toEqual([
      {
        path: Array.from({ length: overrideDepthMax }, () => "a").join("."),
        message: `nests deeper than ${overrideDepthMax} levels`,
      },
    ]);
  });

  it("passes unknown fields and bad values through, for parseEconomy to report with paths", () => {
    const merged = applyOverride(base, { regions: { US: { colour: "red", packs: "none" } }, wat: 1 });
    expect(() => parseEconomy(merged)).toThrow(
      /regions\.US\.packs: must be an array[\s\S]*regions\.US\.colour: unknown field[\s\S]*wat: unknown field/,
    );
  });

  it("keeps a __proto__ key as a field for validation to refuse, never as a prototype", () => {
    const override = JSON.parse(
      '{"__proto__": {"commissionRate": "0.9"}, "regions": {"US": {"__proto__": {"x": 1}}}}',
    );
    const merged = applyOverride(base, override);
    expect(Object.getPrototypeOf(merged)).toBe(Object.prototype);
    expect(merged.commissionRate).toBe("0.5");
    expect(Object.hasOwn(merged, "__proto__")).toBe(true);
    expect(() => parseEconomy(merged)).toThrow(
      /regions\.US\.__proto__: unknown field[\s\S]*__proto__: unknown field/,
    );
  });

  it("replaces a scalar or array by an object and the other way round, leaving the judgement to validation", () => {
    const merged = applyOverride(base, {
      gifts: { rose: {} },
      diamondValueUsd: "0.005",
    }) as unknown as Record<string, unknown>;
    expect(merged.gifts).toEqual({ rose: {} });
    expect(merged.diamondValueUsd).toBe("0.005");
  });
});
