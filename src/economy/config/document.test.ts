import Value from "typebox/value";
import { describe, expect, it } from "vitest";
import {
  countryCodePattern,
  currencyCodePattern,
  economyDefaults,
  economyDocumentSchema,
  integerStringPattern,
  rateStringPattern,
  slugPattern,
  timeZonePattern,
} from "./document.js";
import { defaultEconomyDocument } from "./preset.js";

type Node = Record<string, unknown>;

/** Every object node of the schema, with its JSON path. */
function objectNodes(node: Node, path: string, into: [string, Node][] = []): [string, Node][] {
  if (node.type === "object") into.push([path, node]);
  for (const [name, child] of Object.entries((node.properties ?? {}) as Record<string, Node>)) {
    objectNodes(child, `${path}.${name}`, into);
  }
  for (const child of Object.values((node.patternProperties ?? {}) as Record<string, Node>)) {
    objectNodes(child, `${path}.*`, into);
  }
  if (node.items !== undefined) objectNodes(node.items as Node, `${path}[]`, into);
  return into;
}

describe("economyDocumentSchema", () => {
  it("rejects unknown properties in every object, records included", () => {
    const nodes = objectNodes(economyDocumentSchema as unknown as Node, "$");
    expect(nodes.length).toBeGreaterThan(8);
    for (const [path, node] of nodes) expect([path, node.additionalProperties]).toEqual([path, false]);
  });

  it("accepts the default preset", () => {
    expect(Value.Check(economyDocumentSchema, defaultEconomyDocument)).toBe(true);
  });

  it("accepts the smallest document: one region and one gift", () => {
    const minimal = {
      regions: {
        US: {
          currency: "USD",
          payoutCurrency: "USD",
          timeZone: "America/New_York",
          packs: [],
          payoutMethods: [],
          cashoutMinimumNetMinor: "0",
          cashoutDailyMaxNetMinor: "1",
          refundableWebPurchases: false,
        },
      },
      gifts: [{ id: "rose", name: "Rose", coins: "1", contexts: ["live"] }],
    };
    expect(Value.Check(economyDocumentSchema, minimal)).toBe(true);
  });

  it("declares the article's numbers as defaults", () => {
    const properties = economyDocumentSchema.properties as unknown as Record<string, Node>;
    expect(properties.coinToDiamondRate?.default).toBe("2");
    expect(properties.commissionRate?.default).toBe("0.5");
    const diamond = (properties.diamondValueUsd?.properties ?? {}) as Record<string, Node>;
    expect([diamond.live?.default, diamond.video?.default]).toEqual(["0.005", "0.01"]);
    const earnings = (properties.earnings?.properties ?? {}) as Record<string, Node>;
    expect(earnings.maturationDays?.default).toBe(economyDefaults.maturationDays);
    expect(economyDefaults.maturationDays).toBe(7);
    expect(economyDefaults.minimumAge).toBe(18);
  });

  it("never declares a number where money goes", () => {
    const text = JSON.stringify(economyDocumentSchema);
    for (const field of ["coins", "priceMinor", "cashoutMinimumNetMinor", "commissionRate", "live"]) {
      expect(text).toMatch(new RegExp(`"${field}":\\{"type":"string"`));
    }
  });
});

describe("patterns", () => {
  const cases: [string, string[], string[]][] = [
    [countryCodePattern, ["US", "GB"], ["us", "USA", "U", ""]],
    [currencyCodePattern, ["USD", "JPY"], ["usd", "US", "USDT"]],
    [slugPattern, ["us-1000", "rose", "a1"], ["Rose", "-a", "a-", "a--b", "a_b", ""]],
    [integerStringPattern, ["0", "990", "10000"], ["-1", "09", "9.90", "1e3", " 1", ""]],
    [rateStringPattern, ["2", "0.005", "83.2"], ["-0.5", ".5", "5.", "1e-3", "0x1", ""]],
    [timeZonePattern, ["America/New_York", "UTC", "Etc/GMT+5"], ["+05:30", "/UTC", "America//X", "a b"]],
  ];
  it.each(cases)("%s accepts and refuses", (pattern, good, bad) => {
    const regexp = new RegExp(pattern, "u");
    for (const value of good) expect([value, regexp.test(value)]).toEqual([value, true]);
    for (const value of bad) expect([value, regexp.test(value)]).toEqual([value, false]);
  });
});
