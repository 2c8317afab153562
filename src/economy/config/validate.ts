/**
 * Validation of an economy document: its shape (schema.ts's job, with messages written for
 * operators), then what the schema cannot express: known currencies and time zones, unique ids,
 * positive prices, rates in range, an exchange rate for every payout currency, and amounts that
 * fit under `money.amountMax`. Every problem is reported at once, each with its path.
 */
import { amountMaxLimit } from "../../config/schema.js";
import { GiftstreamError, invariant, isGiftstreamError } from "../../errors.js";
import { findUnit, parseMinor, parseRate, type Rate } from "../../money/index.js";
import {
  countryCodePattern,
  currencyCodePattern,
  type EconomyDocument,
  economyDefaults,
  economyDocumentSchema,
  type GiftDocument,
  integerStringPattern,
  type RegionDocument,
  rateStringPattern,
  slugPattern,
  timeZonePattern,
} from "./document.js";
import {
  childPath,
  type DocumentProblem,
  describeValue,
  type SchemaNode,
  shapeProblems,
  shapeProblemsMax,
} from "./shape.js";

export interface EconomyOptions {
  /** Largest amount in minor units (`money.amountMax`); defaults to the ledger's 2^63 - 1. */
  amountMax?: bigint;
}

/**
 * The document, typed, when it is valid; otherwise throws `invalid_request` whose detail lists
 * every problem, one per line, and whose `extra.problems` holds them as `{ path, message }`.
 * Shape problems come first: the other checks need a well-formed document to read.
 */
export function validateEconomyDocument(input: unknown, options: EconomyOptions = {}): EconomyDocument {
  const shape = shapeProblems(economyDocumentSchema, input, { describeLeaf: describeEconomyLeaf });
  if (shape.length > 0) throw economyDocumentError(shape);
  const document = input as EconomyDocument;
  const problems = economyProblems(document, options);
  if (problems.length > 0) throw economyDocumentError(problems);
  return document;
}

export function economyDocumentError(problems: readonly DocumentProblem[]): GiftstreamError {
  invariant(problems.length > 0, "an invalid document has at least one problem");
  const count =
    problems.length >= shapeProblemsMax
      ? `the first ${problems.length} problems`
      : problems.length === 1
        ? "1 problem"
        : `${problems.length} problems`;
  const lines = problems.map(
    (problem) => `${problem.path === "" ? "(document)" : problem.path}: ${problem.message}`,
  );
  return new GiftstreamError("invalid_request", `Invalid economy document (${count}):\n${lines.join("\n")}`, {
    problems: problems.map((problem) => ({ path: problem.path, message: problem.message })),
  });
}

/** Messages for the document's kinds of strings, so that "9.90" as a price says what is wrong with it. */
export function describeEconomyLeaf(schema: SchemaNode, value: unknown, path: string): string | undefined {
  switch (schema.pattern) {
    case integerStringPattern:
      return messageOf(() => parseMinor(value, { max: amountMaxLimit, allowZero: true, field: path }), path);
    case rateStringPattern:
      return messageOf(() => parseRate(value, { allowZero: true, field: path }), path);
  }
  if (typeof value !== "string" || value.length > Number(schema.maxLength ?? Number.POSITIVE_INFINITY)) {
    return undefined;
  }
  const shown = describeValue(value);
  switch (schema.pattern) {
    case countryCodePattern:
      return `${shown} is not an ISO 3166-1 alpha-2 country code: write two upper-case letters, such as "US"`;
    case currencyCodePattern:
      return `${shown} is not an ISO 4217 currency code: write three upper-case letters, such as "USD"`;
    case slugPattern:
      return `${shown} is not a slug: use lower-case letters, digits and single hyphens, such as "us-1000"`;
    case timeZonePattern:
      return `${shown} is not an IANA time zone name such as "America/New_York"`;
    default:
      return undefined;
  }
}

function messageOf(parse: () => unknown, path: string): string | undefined {
  try {
    parse();
    return undefined;
  } catch (error) {
    return reasonOf(error, path);
  }
}

/** The reason a money parser gives, without the path it starts with (the problem carries it). */
function reasonOf(error: unknown, path: string): string {
  if (!isGiftstreamError(error)) throw error;
  return error.message.startsWith(`${path} `) ? error.message.slice(path.length + 1) : error.message;
}

/** Problems of a well-shaped document that its schema cannot express. */
export function economyProblems(document: EconomyDocument, options: EconomyOptions = {}): DocumentProblem[] {
  const amountMax = options.amountMax ?? amountMaxLimit;
  invariant(amountMax > 0n && amountMax <= amountMaxLimit, "amountMax is between 1 and 2^63 - 1");
  const check = new Checker(amountMax);
  const coinToDiamondRate = checkRates(check, document);
  const purchaseCoinsMax = checkLimits(check, document);
  const packIds = new Map<string, string>();
  for (const [country, region] of Object.entries(document.regions)) {
    checkRegion(check, document, childPath("regions", country), region, packIds, purchaseCoinsMax);
  }
  checkGifts(check, document, coinToDiamondRate);
  return check.problems;
}

class Checker {
  readonly problems: DocumentProblem[] = [];

  constructor(readonly amountMax: bigint) {}

  add(path: string, message: string): void {
    if (this.problems.length < shapeProblemsMax) this.problems.push({ path, message });
  }

  /** An integer string bounded by `money.amountMax`; undefined (and a problem) when it is not. */
  amount(path: string, text: string, allowZero = false): bigint | undefined {
    return this.attempt(path, () => parseMinor(text, { max: this.amountMax, allowZero, field: path }));
  }

  rate(path: string, text: string, allowZero = false): Rate | undefined {
    return this.attempt(path, () => parseRate(text, { allowZero, field: path }));
  }

  currency(path: string, code: string): void {
    if (findUnit(code)?.kind === "currency") return;
    this.add(path, `${describeValue(code)} is not an ISO 4217 currency code with a minor unit`);
  }

  private attempt<T>(path: string, parse: () => T): T | undefined {
    try {
      return parse();
    } catch (error) {
      this.add(path, reasonOf(error, path));
      return undefined;
    }
  }
}

/** Checks every rate; returns the coin → diamond rate when valid, which gift checks need. */
function checkRates(check: Checker, document: EconomyDocument): Rate | undefined {
  const coinToDiamondRate = check.rate(
    "coinToDiamondRate",
    document.coinToDiamondRate ?? economyDefaults.coinToDiamondRate,
  );
  check.rate("diamondValueUsd.live", document.diamondValueUsd?.live ?? economyDefaults.diamondValueUsd.live);
  check.rate(
    "diamondValueUsd.video",
    document.diamondValueUsd?.video ?? economyDefaults.diamondValueUsd.video,
  );
  const commission = check.rate(
    "commissionRate",
    document.commissionRate ?? economyDefaults.commissionRate,
    true,
  );
  if (commission !== undefined && commission.num >= commission.den) {
    check.add(
      "commissionRate",
      `${describeValue(commission.text)} must be below 1: the creator would get nothing`,
    );
  }
  for (const [code, text] of Object.entries(document.exchangeRates ?? {})) {
    const path = childPath("exchangeRates", code);
    if (code === "USD") check.add(path, "USD is the currency of diamond values and needs no rate; remove it");
    else check.currency(path, code);
    check.rate(path, text);
  }
  return coinToDiamondRate;
}

/** Checks the limits; returns `purchaseCoinsMax` when set and valid. */
function checkLimits(check: Checker, document: EconomyDocument): bigint | undefined {
  const text = document.limits?.purchaseCoinsMax;
  return text === undefined ? undefined : check.amount("limits.purchaseCoinsMax", text);
}

function checkRegion(
  check: Checker,
  document: EconomyDocument,
  path: string,
  region: RegionDocument,
  packIds: Map<string, string>,
  purchaseCoinsMax: bigint | undefined,
): void {
  check.currency(childPath(path, "currency"), region.currency);
  check.currency(childPath(path, "payoutCurrency"), region.payoutCurrency);
  const rates = document.exchangeRates ?? {};
  if (region.payoutCurrency !== "USD" && !Object.hasOwn(rates, region.payoutCurrency)) {
    check.add(
      childPath(path, "payoutCurrency"),
      `${region.payoutCurrency} needs an exchange rate: add exchangeRates.${region.payoutCurrency} (units of ${region.payoutCurrency} per 1 USD)`,
    );
  }
  if (!isTimeZone(region.timeZone)) {
    check.add(
      childPath(path, "timeZone"),
      `${describeValue(region.timeZone)} is not a time zone this runtime knows; use an IANA name such as "America/New_York"`,
    );
  }
  for (const [index, pack] of region.packs.entries()) {
    const packPath = childPath(childPath(path, "packs"), index);
    const first = packIds.get(pack.id);
    if (first === undefined) packIds.set(pack.id, childPath(packPath, "id"));
    else
      check.add(childPath(packPath, "id"), `repeats pack id ${describeValue(pack.id)}, already at ${first}`);
    const coins = check.amount(childPath(packPath, "coins"), pack.coins);
    if (coins !== undefined && purchaseCoinsMax !== undefined && coins > purchaseCoinsMax) {
      check.add(
        childPath(packPath, "coins"),
        `${coins} is above limits.purchaseCoinsMax (${purchaseCoinsMax})`,
      );
    }
    check.amount(childPath(packPath, "priceMinor"), pack.priceMinor);
  }
  const minimum = check.amount(
    childPath(path, "cashoutMinimumNetMinor"),
    region.cashoutMinimumNetMinor,
    true,
  );
  const dailyMax = check.amount(childPath(path, "cashoutDailyMaxNetMinor"), region.cashoutDailyMaxNetMinor);
  if (minimum !== undefined && dailyMax !== undefined && dailyMax < minimum) {
    check.add(
      childPath(path, "cashoutDailyMaxNetMinor"),
      `${dailyMax} is below cashoutMinimumNetMinor (${minimum}): no cash-out could ever pass`,
    );
  }
}

function checkGifts(check: Checker, document: EconomyDocument, coinToDiamondRate: Rate | undefined): void {
  const quantityMax = BigInt(document.limits?.giftQuantityMax ?? economyDefaults.giftQuantityMax);
  const giftIds = new Map<string, string>();
  for (const [index, gift] of document.gifts.entries()) {
    const path = childPath("gifts", index);
    const first = giftIds.get(gift.id);
    if (first === undefined) giftIds.set(gift.id, childPath(path, "id"));
    else check.add(childPath(path, "id"), `repeats gift id ${describeValue(gift.id)}, already at ${first}`);
    const coins = check.amount(childPath(path, "coins"), gift.coins);
    if (coins !== undefined)
      checkGiftSend(check, childPath(path, "coins"), coins, quantityMax, coinToDiamondRate);
    checkGiftCountries(check, document, path, gift);
  }
}

/** The largest send of a gift, in coins and in diamonds, must fit in one ledger amount. */
function checkGiftSend(
  check: Checker,
  path: string,
  coins: bigint,
  quantityMax: bigint,
  coinToDiamondRate: Rate | undefined,
): void {
  const sendCoins = coins * quantityMax;
  if (sendCoins > check.amountMax) {
    check.add(
      path,
      `${coins} × limits.giftQuantityMax (${quantityMax}) = ${sendCoins} coins is above money.amountMax (${check.amountMax})`,
    );
    return;
  }
  if (coinToDiamondRate === undefined) return;
  const sendDiamonds = ceilDiv(sendCoins * coinToDiamondRate.num, coinToDiamondRate.den);
  if (sendDiamonds > check.amountMax) {
    check.add(
      path,
      `a send of limits.giftQuantityMax (${quantityMax}) earns ${sendDiamonds} diamonds, above money.amountMax (${check.amountMax})`,
    );
  }
}

function checkGiftCountries(
  check: Checker,
  document: EconomyDocument,
  path: string,
  gift: GiftDocument,
): void {
  for (const [index, country] of (gift.countries ?? []).entries()) {
    if (Object.hasOwn(document.regions, country)) continue;
    check.add(childPath(childPath(path, "countries"), index), `${country} is not a region of this economy`);
  }
}

function ceilDiv(num: bigint, den: bigint): bigint {
  return (num + den - 1n) / den;
}

/** Whether the runtime's time zone database knows the name (Intl throws RangeError otherwise). */
export function isTimeZone(name: string): boolean {
  try {
    new Intl.DateTimeFormat("en-US", { timeZone: name });
    return true;
  } catch (error) {
    if (error instanceof RangeError) return false;
    throw error;
  }
}
