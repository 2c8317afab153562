import { describe, expect, it } from "vitest";
import { autoApproveLimits } from "../cli/cashouts.js";
import { configFiles, problemsOf } from "./config.testkit.js";
import { loadConfig } from "./load.js";
import type { ConfigInput } from "./schema.js";

/** `cashouts.autoApproveNetMaxMinor` (per payout currency) and `cashouts.resolveProcessingHoursMin`. */

const configs = configFiles("cashout-config");
const file = (text: string) => configs.file("config.yaml", text);

const withLimits = (autoApproveNetMaxMinor: unknown) =>
  problemsOf(() =>
    loadConfig({ env: {}, overrides: { cashouts: { autoApproveNetMaxMinor } } as unknown as ConfigInput }),
  );

describe("cashouts.autoApproveNetMaxMinor", () => {
  it("defaults to no currency: every cash-out goes to review", () => {
    const config = loadConfig({ env: {} });
    expect(config.cashouts.autoApproveNetMaxMinor).toEqual({});
    expect(autoApproveLimits(config.cashouts.autoApproveNetMaxMinor)).toEqual(new Map());
  });

  it("reads a figure per payout currency, each in that currency's minor units", () => {
    const path = file(
      'cashouts:\n  autoApproveNetMaxMinor:\n    USD: "50000"\n    JPY: "7500"\n    EUR: "0"\n    BHD: "999999999999999999"\n',
    );
    const config = loadConfig({ env: { GIFTSTREAM_CONFIG: path } });
    expect(config.cashouts.autoApproveNetMaxMinor).toEqual({
      USD: "50000",
      JPY: "7500",
      EUR: "0",
      BHD: "999999999999999999",
    });
    expect(autoApproveLimits(config.cashouts.autoApproveNetMaxMinor)).toEqual(
      new Map([
        ["USD", 50_000n],
        ["JPY", 7_500n],
        ["EUR", 0n],
        ["BHD", 999_999_999_999_999_999n],
      ]),
    );
  });

  it("is set whole by the last source that sets it, never merged currency by currency", () => {
    const path = file('cashouts:\n  autoApproveNetMaxMinor:\n    USD: "50000"\n');
    const config = loadConfig({
      env: { GIFTSTREAM_CONFIG: path },
      overrides: { cashouts: { autoApproveNetMaxMinor: { EUR: "40000" } } },
    });
    expect(config.cashouts.autoApproveNetMaxMinor).toEqual({ EUR: "40000" });
  });

  it.each([["500"], ["0"], [500], [0], [null], [["USD", "500"]], [true]])(
    "refuses the single figure of earlier versions, or any other value that is not a mapping: %j",
    (value) => {
      const problems = withLimits(value);
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(
        /^cashouts\.autoApproveNetMaxMinor: must be a mapping of payout currency to minor units, e\.g\. \{USD: "5000", EUR: "5000"\}: one figure for every currency is no longer accepted .* \(from overrides\)$/,
      );
    },
  );

  it("refuses the old single figure from a file too, naming the file", () => {
    const path = file('cashouts:\n  autoApproveNetMaxMinor: "50000"\n');
    const problems = problemsOf(() => loadConfig({ env: { GIFTSTREAM_CONFIG: path } }));
    expect(problems).toEqual([expect.stringMatching(/^cashouts\.autoApproveNetMaxMinor: must be a mapping/)]);
    expect(problems[0]).toContain(`(from file ${path})`);
  });

  it.each(["usd", "Usd", "US", "USDT", "", "US1", " USD", "$"])("refuses %j as a currency code", (code) => {
    expect(withLimits({ [code]: "500" })).toEqual([
      `cashouts.autoApproveNetMaxMinor: ${JSON.stringify(code)} is not a currency code: three capital letters (ISO 4217), e.g. USD (from overrides)`,
    ]);
  });

  it.each(["UDS", "ABC", "XAU", "XTS", "COIN"])(
    "refuses %j, which is no ISO 4217 currency (a typo would match no cash-out, silently)",
    (code) => {
      const problems = withLimits({ USD: "500", [code]: "500" });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^cashouts\.autoApproveNetMaxMinor: /);
      expect(problems[0]).toMatch(
        code.length === 3 ? new RegExp(`${code}: not an ISO 4217 currency code`) : /not a currency code/,
      );
    },
  );

  it.each([
    ["a JSON number", 500],
    ["a float", "1.5"],
    ["an exponent", "1e3"],
    ["a negative", "-5"],
    ["a sign", "+5"],
    ["a leading zero", "05"],
    ["a space", " 5"],
    ["empty", ""],
    ["hex", "0x10"],
    ["19 digits", "1000000000000000000"],
    ["null", null],
  ])("refuses %s as an amount", (_name, amount) => {
    expect(withLimits({ EUR: "100", USD: amount })).toEqual([
      'cashouts.autoApproveNetMaxMinor: USD: must be minor units as a string of digits, e.g. "5000" (no sign, leading zero, decimal point or exponent; numbers are refused: they can lose precision) (from overrides)',
    ]);
  });

  it("lists at most 256 currencies", () => {
    const letters = "ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    const many: Record<string, string> = {};
    for (let i = 0; Object.keys(many).length < 257; i++) {
      many[`${letters[Math.floor(i / 676) % 26]}${letters[Math.floor(i / 26) % 26]}${letters[i % 26]}`] = "1";
    }
    expect(withLimits(many)).toEqual([
      "cashouts.autoApproveNetMaxMinor: must list at most 256 currencies (from overrides)",
    ]);
  });
});

describe("cashouts.resolveProcessingHoursMin", () => {
  it("defaults to a day, and may be 0 or a year", () => {
    expect(loadConfig({ env: {} }).cashouts.resolveProcessingHoursMin).toBe(24);
    for (const hours of [0, 8760]) {
      const config = loadConfig({ env: {}, overrides: { cashouts: { resolveProcessingHoursMin: hours } } });
      expect(config.cashouts.resolveProcessingHoursMin).toBe(hours);
    }
  });

  it.each([
    [-1, "must be between 0 and 8760"],
    [8761, "must be between 0 and 8760"],
    [1.5, "must be an integer"],
    ["24", "must be an integer"],
  ])("refuses %j", (hours, problem) => {
    expect(
      problemsOf(() =>
        loadConfig({
          env: {},
          overrides: { cashouts: { resolveProcessingHoursMin: hours } } as unknown as ConfigInput,
        }),
      ),
    ).toEqual([`cashouts.resolveProcessingHoursMin: ${problem} (from overrides)`]);
  });
});
