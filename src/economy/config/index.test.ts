import { describe, expect, it } from "vitest";
import {
  applyOverride,
  defaultEconomyDocument,
  firstVersion,
  parseEconomy,
  planVersion,
  scheduledAfter,
  validateEconomyDocument,
  versionInForce,
} from "./index.js";

describe("economy config public surface", () => {
  it("exports the functions the domain uses", () => {
    const functions = [
      applyOverride,
      firstVersion,
      parseEconomy,
      planVersion,
      scheduledAfter,
      validateEconomyDocument,
      versionInForce,
    ];
    for (const fn of functions) expect(typeof fn).toBe("function");
    expect(parseEconomy(defaultEconomyDocument).regions.US?.currency).toBe("USD");
  });
});
