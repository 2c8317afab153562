/**
 * The economy document: what an operator writes to configure coins, gifts, diamonds and cash-outs
 * (DESIGN.md §1). Money is never a JSON number here: amounts are strings of integers in minor
 * units and rates are decimal strings, so no float ever touches a price. Unknown fields are
 * rejected everywhere, so a typo cannot pass silently.
 *
 * This file is the schema and its raw type; `parseEconomy` turns a document into the parsed
 * `Economy` (bigint amounts, exact rates) after the checks the schema cannot express.
 */
import Type, { type Static, type TProperties } from "typebox";

export const payoutMethods = ["bank_account", "paypal", "stripe_account"] as const;
export type PayoutMethod = (typeof payoutMethods)[number];

export const giftContexts = ["live", "video"] as const;
export type GiftContext = (typeof giftContexts)[number];

export const spendingOrders = ["bonus_first", "paid_first"] as const;
export type SpendingOrder = (typeof spendingOrders)[number];

// Patterns are exported so that error messages can be chosen per kind of string.
export const countryCodePattern = "^[A-Z]{2}$";
export const currencyCodePattern = "^[A-Z]{3}$";
export const slugPattern = "^[a-z0-9]+(?:-[a-z0-9]+)*$";
export const integerStringPattern = "^(?:0|[1-9][0-9]*)$";
export const rateStringPattern = "^(?:0|[1-9][0-9]*)(?:\\.[0-9]+)?$";
/** The shape of an IANA name ("America/New_York", "Etc/GMT+5", "UTC"); Intl decides if it exists. */
export const timeZonePattern = "^[A-Za-z][A-Za-z0-9_+-]*(?:/[A-Za-z0-9_+-]+)*$";

/** Limits on a document's size, so that one document cannot exhaust memory or a page. */
export const economyLimits = {
  regionsMax: 250,
  packsPerRegionMax: 50,
  giftsMax: 1000,
  exchangeRatesMax: 200,
  slugLengthMax: 64,
  giftNameLengthMax: 64,
  timeZoneLengthMax: 64,
  /** 2^63 - 1 has 19 digits; the value itself is bounded by `money.amountMax` when parsed. */
  integerStringLengthMax: 19,
  rateStringLengthMax: 40,
  giftQuantityMaxLimit: 1_000_000,
  daysMax: 365,
} as const;

/**
 * Defaults of the optional fields: the article's numbers. `giftQuantityMax` is 100: a quantity is
 * one tap's multiplier, large sends show as streaks of taps, and 100 bounds what one mistaken
 * request can spend to 100 times the dearest gift (4,499,900 coins, about $44,500, in the preset).
 */
export const economyDefaults = {
  coinToDiamondRate: "2",
  diamondValueUsd: { live: "0.005", video: "0.01" },
  commissionRate: "0.5",
  maturationDays: 7,
  bonusCoinsEarn: true,
  spendingOrder: "bonus_first",
  refundWindowDays: 14,
  giftQuantityMax: 100,
  minimumAge: 18,
} as const;

function object<T extends TProperties>(properties: T, description: string) {
  return Type.Object(properties, { additionalProperties: false, description });
}

function integerString(description: string) {
  return Type.String({
    pattern: integerStringPattern,
    maxLength: economyLimits.integerStringLengthMax,
    description: `${description} A string of digits, never a JSON number.`,
  });
}

function rateString(description: string, defaultValue?: string) {
  return Type.String({
    pattern: rateStringPattern,
    maxLength: economyLimits.rateStringLengthMax,
    description: `${description} An exact decimal string, never a JSON number.`,
    ...(defaultValue === undefined ? {} : { default: defaultValue }),
  });
}

function slug(description: string) {
  return Type.String({ pattern: slugPattern, maxLength: economyLimits.slugLengthMax, description });
}

function days(defaultValue: number, description: string) {
  return Type.Optional(
    Type.Integer({ minimum: 0, maximum: economyLimits.daysMax, default: defaultValue, description }),
  );
}

const countryCode = Type.String({
  pattern: countryCodePattern,
  description: "ISO 3166-1 alpha-2 country code, e.g. US.",
});

const currencyCode = Type.String({
  pattern: currencyCodePattern,
  description: "ISO 4217 currency code, e.g. USD.",
});

export const packSchema = object(
  {
    id: slug('Pack id, unique across all regions, e.g. "us-1000".'),
    coins: integerString("Coins the pack credits; at least 1."),
    priceMinor: integerString(
      "Price in minor units of the region's currency, e.g. 990 for $9.90; at least 1.",
    ),
  },
  "A coin pack on sale in one region.",
);

export const regionSchema = object(
  {
    currency: {
      ...currencyCode,
      description: "Currency the region's packs are priced in.",
    },
    payoutCurrency: {
      ...currencyCode,
      description: "Currency creators of the region are paid in; other than USD it needs an exchange rate.",
    },
    timeZone: Type.String({
      pattern: timeZonePattern,
      maxLength: economyLimits.timeZoneLengthMax,
      description: "IANA time zone that bounds the region's calendar days (the daily cash-out maximum).",
    }),
    packs: Type.Array(packSchema, {
      maxItems: economyLimits.packsPerRegionMax,
      description: "Packs a user of this country may buy.",
    }),
    payoutMethods: Type.Array(Type.Enum(payoutMethods), {
      uniqueItems: true,
      maxItems: payoutMethods.length,
      description: "Payout methods creators of the region may link.",
    }),
    cashoutMinimumNetMinor: integerString("Smallest net cash-out, in minor units of the payout currency."),
    cashoutDailyMaxNetMinor: integerString(
      "Largest net cash-out per creator per calendar day in the region's time zone, in minor units of the payout currency.",
    ),
    refundableWebPurchases: Type.Boolean({
      description: "Unused coins bought on the web may be refunded within the refund window (EEA and UK).",
    }),
  },
  "A country's prices, payout currency and cash-out rules.",
);

export const giftSchema = object(
  {
    id: slug('Gift id, unique, e.g. "hand-hearts".'),
    name: Type.String({
      minLength: 1,
      maxLength: economyLimits.giftNameLengthMax,
      description: "Display name.",
    }),
    coins: integerString("Coin price of one gift; at least 1."),
    contexts: Type.Array(Type.Enum(giftContexts), {
      minItems: 1,
      maxItems: giftContexts.length,
      uniqueItems: true,
      description: "Where the gift may be sent: during a live stream, on a video, or both.",
    }),
    countries: Type.Optional(
      Type.Array(countryCode, {
        minItems: 1,
        maxItems: economyLimits.regionsMax,
        uniqueItems: true,
        description: "Regions whose users may send the gift; omitted means everywhere.",
      }),
    ),
  },
  "A gift of the catalog.",
);

export const economyDocumentSchema = Type.Object(
  {
    regions: Type.Record(countryCode, regionSchema, {
      additionalProperties: false,
      minProperties: 1,
      maxProperties: economyLimits.regionsMax,
      description: "Regions by ISO 3166-1 alpha-2 country code.",
    }),
    gifts: Type.Array(giftSchema, {
      minItems: 1,
      maxItems: economyLimits.giftsMax,
      description: "The gift catalog.",
    }),
    coinToDiamondRate: Type.Optional(
      rateString("Diamonds a creator earns per coin gifted.", economyDefaults.coinToDiamondRate),
    ),
    diamondValueUsd: Type.Optional(
      object(
        {
          live: Type.Optional(
            rateString(
              "USD value of a diamond earned from a live gift.",
              economyDefaults.diamondValueUsd.live,
            ),
          ),
          video: Type.Optional(
            rateString(
              "USD value of a diamond earned from a video gift.",
              economyDefaults.diamondValueUsd.video,
            ),
          ),
        },
        "USD per diamond, by where the gift was sent.",
      ),
    ),
    commissionRate: Type.Optional(
      rateString(
        "Share of a cash-out's gross value the platform keeps, from 0 to below 1.",
        economyDefaults.commissionRate,
      ),
    ),
    exchangeRates: Type.Optional(
      Type.Record(currencyCode, rateString("Units of this currency per 1 USD."), {
        additionalProperties: false,
        maxProperties: economyLimits.exchangeRatesMax,
        description:
          "Units of each payout currency per 1 USD; every payout currency other than USD needs one.",
      }),
    ),
    earnings: Type.Optional(
      object(
        {
          maturationDays: days(
            economyDefaults.maturationDays,
            "Days new diamonds stay pending before they can be withdrawn.",
          ),
          bonusCoinsEarn: Type.Optional(
            Type.Boolean({
              default: economyDefaults.bonusCoinsEarn,
              description:
                "Whether bonus coins earn diamonds (the platform books promotion expense). When false, a gift earns on the paid coins it spends only.",
            }),
          ),
        },
        "Creator earnings.",
      ),
    ),
    spending: Type.Optional(
      object(
        {
          order: Type.Optional(
            Type.Enum(spendingOrders, {
              default: economyDefaults.spendingOrder,
              description: "Which coins a gift spends first; paid coins always go oldest purchase first.",
            }),
          ),
        },
        "Coin spending.",
      ),
    ),
    refunds: Type.Optional(
      object(
        {
          windowDays: days(
            economyDefaults.refundWindowDays,
            "Days unused web-bought coins stay refundable where the region allows it.",
          ),
        },
        "Coin refunds.",
      ),
    ),
    limits: Type.Optional(
      object(
        {
          giftQuantityMax: Type.Optional(
            Type.Integer({
              minimum: 1,
              maximum: economyLimits.giftQuantityMaxLimit,
              default: economyDefaults.giftQuantityMax,
              description: "Most gifts of one kind in one send.",
            }),
          ),
          purchaseCoinsMax: Type.Optional(
            integerString(
              "Most coins one purchase may credit; every pack must fit. Omitted: only money.amountMax bounds it.",
            ),
          ),
        },
        "Limits.",
      ),
    ),
    minimumAge: Type.Optional(
      Type.Integer({
        minimum: 18,
        maximum: 100,
        default: economyDefaults.minimumAge,
        description: "Age in years required to buy coins and to earn.",
      }),
    ),
  },
  {
    additionalProperties: false,
    description: "An economy: regions, packs, gifts, rates and cash-out rules.",
  },
);

/** An economy document as written (optional fields may be absent); see `Economy` for the parsed form. */
export type EconomyDocument = Static<typeof economyDocumentSchema>;
export type PackDocument = Static<typeof packSchema>;
export type RegionDocument = Static<typeof regionSchema>;
export type GiftDocument = Static<typeof giftSchema>;
