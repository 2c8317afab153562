import { describe, expect, it } from "vitest";
import { GiftstreamError } from "../../errors.js";
import { defaultEconomyDocument } from "./preset.js";
import type { DocumentProblem } from "./shape.js";
import type { EconomyOptions } from "./validate.js";
import { economyDocumentError, economyProblems, isTimeZone, validateEconomyDocument } from "./validate.js";

// biome-ignore lint/suspicious/noExplicitAny: tests write invalid values into a copy of the preset.
type Loose = any;

/** A mutable deep copy of the preset, to break in one place. */
function preset(): Loose {
  return structuredClone(defaultEconomyDocument);
}

function problemsOf(input: unknown, options: EconomyOptions = {}): DocumentProblem[] {
  try {
    validateEconomyDocument(input, options);
  } catch (error) {
    expect(error).toBeInstanceOf(GiftstreamError);
    const failure = error as GiftstreamError;
    expect(failure.code).toBe("invalid_request");
    expect(failure.status).toBe(400);
    return failure.extra?.problems as DocumentProblem[];
  }
  return [];
}

/** The one problem a broken document has; fails when there are none or several. */
function onlyProblem(input: unknown, options: EconomyOptions = {}): DocumentProblem {
  const problems = problemsOf(input, options);
  expect(problems).toHaveLength(1);
  return problems[0]!;
}

describe("validateEconomyDocument", () => {
  it("accepts the preset and returns it", () => {
    expect(validateEconomyDocument(defaultEconomyDocument)).toBe(defaultEconomyDocument);
  });

  it("refuses a non-object", () => {
    for (const input of [null, [], "economy", 5, undefined]) {
      expect(onlyProblem(input).path).toBe("");
    }
  });

  describe("shape", () => {
    it("refuses unknown fields at every level, and suggests the near miss", () => {
      const doc = preset();
      doc.wat = 1;
      doc.regions.US.colour = "red";
      doc.regions.US.packs[0].priceMinr = "30";
      expect(problemsOf(doc)).toEqual([
        { path: "regions.US.packs[0].priceMinr", message: "unknown field (did you mean priceMinor?)" },
        { path: "regions.US.colour", message: "unknown field" },
        { path: "wat", message: "unknown field" },
      ]);
    });

    it("refuses a price written as a JSON number, which is a float", () => {
      const doc = preset();
      doc.regions.US.packs[3].priceMinor = 9.9;
      expect(onlyProblem(doc)).toEqual({
        path: "regions.US.packs[3].priceMinor",
        message: expect.stringMatching(/not a JSON number/),
      });
    });

    it('refuses "9.90" as priceMinor: amounts are in minor units', () => {
      const doc = preset();
      doc.regions.US.packs[3].priceMinor = "9.90";
      expect(onlyProblem(doc)).toEqual({
        path: "regions.US.packs[3].priceMinor",
        message: '"9.90" has a decimal point; amounts are integers in minor units (cents for USD)',
      });
    });

    it.each([
      ["-5", '"-5" must not be negative'],
      ["1e3", '"1e3" uses exponent notation; write all the digits'],
      ["0990", '"0990" has leading zeros'],
      ["", '"" is empty'],
      ["99999999999999999999", '"99999999999999999999" must be at most 9223372036854775807'],
    ])("refuses coins %j", (coins, message) => {
      const doc = preset();
      doc.gifts[0].coins = coins;
      expect(onlyProblem(doc)).toEqual({ path: "gifts[0].coins", message });
    });

    it("refuses rates that are numbers or not plain decimals", () => {
      const doc = preset();
      doc.coinToDiamondRate = 2;
      doc.diamondValueUsd.live = "5e-3";
      doc.exchangeRates.EUR = "-0.92";
      expect(problemsOf(doc)).toEqual([
        { path: "coinToDiamondRate", message: expect.stringMatching(/not a JSON number/) },
        { path: "diamondValueUsd.live", message: '"5e-3" is not a plain decimal number' },
        { path: "exchangeRates.EUR", message: '"-0.92" must not be negative' },
      ]);
    });

    it("refuses empty or repeated gift contexts and unknown ones", () => {
      const doc = preset();
      doc.gifts[0].contexts = [];
      doc.gifts[1].contexts = ["live", "live"];
      doc.gifts[2].contexts = ["story"];
      expect(problemsOf(doc)).toEqual([
        { path: "gifts[0].contexts", message: "must not be empty" },
        { path: "gifts[1].contexts[1]", message: 'repeats "live", already at gifts[1].contexts[0]' },
        { path: "gifts[2].contexts[0]", message: 'must be one of "live", "video", got "story"' },
      ]);
    });

    it("refuses badly written codes, slugs and time zones", () => {
      const doc = preset();
      doc.regions.us = doc.regions.US;
      delete doc.regions.US;
      doc.regions.GB.currency = "gbp";
      doc.regions.DE.timeZone = "+01:00";
      doc.gifts[0].id = "Red Rose";
      expect(problemsOf(doc)).toEqual([
        {
          path: "regions.GB.currency",
          message: expect.stringMatching(/^"gbp" is not an ISO 4217 currency code/),
        },
        {
          path: "regions.DE.timeZone",
          message: '"+01:00" is not an IANA time zone name such as "America/New_York"',
        },
        {
          path: "regions.us",
          message: expect.stringMatching(
            /^is not a valid key: "us" is not an ISO 3166-1 alpha-2 country code/,
          ),
        },
        { path: "gifts[0].id", message: expect.stringMatching(/^"Red Rose" is not a slug/) },
      ]);
    });

    it("refuses missing required fields and null values", () => {
      const doc = preset();
      delete doc.regions.US.timeZone;
      doc.regions.GB.refundableWebPurchases = null;
      doc.gifts[0].name = null;
      expect(problemsOf(doc)).toEqual([
        { path: "regions.US.timeZone", message: "is required" },
        { path: "regions.GB.refundableWebPurchases", message: "must be true or false, got null" },
        { path: "gifts[0].name", message: "must be a string, got null" },
      ]);
      expect(problemsOf({ regions: {}, gifts: [] })).toEqual([
        { path: "regions", message: "must not be empty" },
        { path: "gifts", message: "must not be empty" },
      ]);
    });

    it("refuses integers out of range or not integers", () => {
      const doc = preset();
      doc.earnings.maturationDays = 1.5;
      doc.refunds.windowDays = 366;
      doc.limits.giftQuantityMax = "100";
      doc.minimumAge = 17;
      expect(problemsOf(doc)).toEqual([
        { path: "earnings.maturationDays", message: "must be an integer from 0 to 365, got 1.5" },
        { path: "refunds.windowDays", message: "must be an integer from 0 to 365, got 366" },
        { path: "limits.giftQuantityMax", message: 'must be an integer from 1 to 1000000, got "100"' },
        { path: "minimumAge", message: "must be an integer from 18 to 100, got 17" },
      ]);
    });

    it("reports shape problems first: later checks need a well-formed document", () => {
      const doc = preset();
      doc.wat = 1;
      doc.commissionRate = "1.5";
      expect(problemsOf(doc)).toEqual([{ path: "wat", message: "unknown field" }]);
    });
  });

  describe("beyond the schema", () => {
    it("refuses a currency that is not a known ISO 4217 unit", () => {
      const doc = preset();
      doc.regions.US.currency = "XYZ";
      doc.regions.US.payoutCurrency = "XAU";
      doc.exchangeRates.XAU = "0.0004";
      expect(problemsOf(doc)).toEqual([
        { path: "exchangeRates.XAU", message: '"XAU" is not an ISO 4217 currency code with a minor unit' },
        { path: "regions.US.currency", message: '"XYZ" is not an ISO 4217 currency code with a minor unit' },
        {
          path: "regions.US.payoutCurrency",
          message: '"XAU" is not an ISO 4217 currency code with a minor unit',
        },
      ]);
    });

    it("needs an exchange rate for every payout currency other than USD", () => {
      const doc = preset();
      delete doc.exchangeRates.EUR;
      expect(problemsOf(doc)).toEqual([
        {
          path: "regions.DE.payoutCurrency",
          message: "EUR needs an exchange rate: add exchangeRates.EUR (units of EUR per 1 USD)",
        },
        {
          path: "regions.FR.payoutCurrency",
          message: "EUR needs an exchange rate: add exchangeRates.EUR (units of EUR per 1 USD)",
        },
      ]);
    });

    it("refuses a USD exchange rate and a zero one", () => {
      const doc = preset();
      doc.exchangeRates.USD = "1";
      doc.exchangeRates.JPY = "0";
      expect(problemsOf(doc)).toEqual([
        { path: "exchangeRates.JPY", message: '"0" must not be zero' },
        {
          path: "exchangeRates.USD",
          message: expect.stringMatching(/^USD is the currency of diamond values/),
        },
      ]);
    });

    it("refuses duplicate pack ids, across regions too", () => {
      const doc = preset();
      doc.regions.US.packs[1].id = "us-30";
      doc.regions.GB.packs[0].id = "us-1000";
      expect(problemsOf(doc)).toEqual([
        {
          path: "regions.US.packs[1].id",
          message: 'repeats pack id "us-30", already at regions.US.packs[0].id',
        },
        {
          path: "regions.GB.packs[0].id",
          message: 'repeats pack id "us-1000", already at regions.US.packs[3].id',
        },
      ]);
    });

    it("refuses duplicate gift ids", () => {
      const doc = preset();
      doc.gifts[5].id = "rose";
      expect(onlyProblem(doc)).toEqual({
        path: "gifts[5].id",
        message: 'repeats gift id "rose", already at gifts[0].id',
      });
    });

    it("refuses a free pack and a free gift", () => {
      const doc = preset();
      doc.regions.US.packs[0].priceMinor = "0";
      doc.regions.US.packs[1].coins = "0";
      doc.gifts[0].coins = "0";
      expect(problemsOf(doc)).toEqual([
        { path: "regions.US.packs[0].priceMinor", message: '"0" must be greater than zero' },
        { path: "regions.US.packs[1].coins", message: '"0" must be greater than zero' },
        { path: "gifts[0].coins", message: '"0" must be greater than zero' },
      ]);
    });

    it("refuses a time zone the runtime does not know", () => {
      const doc = preset();
      doc.regions.JP.timeZone = "Mars/Olympus_Mons";
      expect(onlyProblem(doc)).toEqual({
        path: "regions.JP.timeZone",
        message: expect.stringMatching(/^"Mars\/Olympus_Mons" is not a time zone this runtime knows/),
      });
    });

    it.each([
      ["1.5", false],
      ["1", false],
      ["1.0", false],
      ["0.999", true],
      ["0", true],
    ])("commission %s is accepted: %s", (rate, accepted) => {
      const doc = preset();
      doc.commissionRate = rate;
      const problems = problemsOf(doc);
      if (accepted) expect(problems).toEqual([]);
      else
        expect(problems).toEqual([
          { path: "commissionRate", message: `"${rate}" must be below 1: the creator would get nothing` },
        ]);
    });

    it("refuses zero coin-to-diamond and diamond value rates", () => {
      const doc = preset();
      doc.coinToDiamondRate = "0";
      doc.diamondValueUsd.video = "0.0";
      expect(problemsOf(doc).map((problem) => problem.path)).toEqual([
        "coinToDiamondRate",
        "diamondValueUsd.video",
      ]);
    });

    it("refuses a daily maximum below the minimum, and a zero daily maximum", () => {
      const doc = preset();
      doc.regions.US.cashoutDailyMaxNetMinor = "9999";
      doc.regions.GB.cashoutDailyMaxNetMinor = "0";
      doc.regions.DE.cashoutMinimumNetMinor = "0";
      expect(problemsOf(doc)).toEqual([
        {
          path: "regions.US.cashoutDailyMaxNetMinor",
          message: "9999 is below cashoutMinimumNetMinor (10000): no cash-out could ever pass",
        },
        { path: "regions.GB.cashoutDailyMaxNetMinor", message: '"0" must be greater than zero' },
      ]);
    });

    it("refuses a gift country that is not a region", () => {
      const doc = preset();
      doc.gifts[0].countries = ["US", "XX"];
      expect(onlyProblem(doc)).toEqual({
        path: "gifts[0].countries[1]",
        message: "XX is not a region of this economy",
      });
    });

    it("holds packs under limits.purchaseCoinsMax", () => {
      const doc = preset();
      doc.limits.purchaseCoinsMax = "5000";
      const paths = problemsOf(doc).map((problem) => problem.path);
      expect(paths).toHaveLength(7);
      expect(paths).toContain("regions.US.packs[5].coins");
      doc.limits.purchaseCoinsMax = "10000";
      expect(problemsOf(doc)).toEqual([]);
      doc.limits.purchaseCoinsMax = "0";
      expect(onlyProblem(doc).path).toBe("limits.purchaseCoinsMax");
    });

    it("holds every amount, and the largest send of a gift, under money.amountMax", () => {
      const options = { amountMax: 1_000_000n };
      const doc = preset();
      doc.regions.IN.packs[5].priceMinor = "1000001";
      expect(problemsOf(doc, options)).toEqual([
        { path: "regions.IN.packs[5].priceMinor", message: '"1000001" must be at most 1000000' },
        { path: "regions.IN.cashoutDailyMaxNetMinor", message: '"8000000" must be at most 1000000' },
        {
          path: "gifts[17].coins",
          message:
            "a send of limits.giftQuantityMax (100) earns 1400000 diamonds, above money.amountMax (1000000)",
        },
        {
          path: "gifts[18].coins",
          message:
            "a send of limits.giftQuantityMax (100) earns 2000000 diamonds, above money.amountMax (1000000)",
        },
        {
          path: "gifts[19].coins",
          message: "29999 × limits.giftQuantityMax (100) = 2999900 coins is above money.amountMax (1000000)",
        },
        {
          path: "gifts[20].coins",
          message: "44999 × limits.giftQuantityMax (100) = 4499900 coins is above money.amountMax (1000000)",
        },
      ]);
    });

    it("holds the diamonds of the largest send under money.amountMax", () => {
      const doc = preset();
      doc.regions = { US: doc.regions.US };
      doc.exchangeRates = {};
      doc.gifts = [{ id: "big", name: "Big", coins: "10000", contexts: ["live"] }];
      doc.limits.giftQuantityMax = 100;
      // 10,000 × 100 = 1,000,000 coins fits exactly; × 2 diamonds does not.
      expect(problemsOf(doc, { amountMax: 1_000_000n })).toEqual([
        {
          path: "gifts[0].coins",
          message:
            "a send of limits.giftQuantityMax (100) earns 2000000 diamonds, above money.amountMax (1000000)",
        },
      ]);
      doc.coinToDiamondRate = "1";
      expect(problemsOf(doc, { amountMax: 1_000_000n })).toEqual([]);
    });

    it("lists every problem at once", () => {
      const doc = preset();
      doc.commissionRate = "2";
      doc.gifts[1].id = "rose";
      doc.regions.BR.timeZone = "America/Rio";
      delete doc.exchangeRates.INR;
      expect(problemsOf(doc).map((problem) => problem.path)).toEqual([
        "commissionRate",
        "regions.IN.payoutCurrency",
        "regions.BR.timeZone",
        "gifts[1].id",
      ]);
    });
  });
});

describe("economyDocumentError", () => {
  it("writes one line per problem and carries them in extra.problems", () => {
    const problems = [
      { path: "", message: "must be an object, got null" },
      { path: "gifts[0].coins", message: '"0" must be greater than zero' },
    ];
    const error = economyDocumentError(problems);
    expect(error.message).toBe(
      'Invalid economy document (2 problems):\n(document): must be an object, got null\ngifts[0].coins: "0" must be greater than zero',
    );
    expect(error.extra).toEqual({ problems });
  });

  it("says when the list was cut at the limit", () => {
    const doc = preset();
    for (let index = 0; index < 500; index++) doc[`unknown${index}`] = index;
    try {
      validateEconomyDocument(doc);
      expect.unreachable();
    } catch (error) {
      expect((error as GiftstreamError).message).toMatch(
        /^Invalid economy document \(the first 100 problems\)/,
      );
      expect((error as GiftstreamError).extra?.problems).toHaveLength(100);
    }
  });
});

describe("economyProblems", () => {
  it("finds nothing in the preset", () => {
    expect(economyProblems(defaultEconomyDocument)).toEqual([]);
  });
});

describe("isTimeZone", () => {
  it("knows IANA names and refuses others", () => {
    expect(isTimeZone("America/Sao_Paulo")).toBe(true);
    expect(isTimeZone("Asia/Kolkata")).toBe(true);
    expect(isTimeZone("UTC")).toBe(true);
    expect(isTimeZone("Europe/Atlantis")).toBe(false);
  });
});
