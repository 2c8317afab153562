import { describe, expect, it } from "vitest";
import type { PayoutState } from "../../providers/payouts/rail.js";
import { type CashoutStatus, cashoutStatuses, reportContradicts } from "./cashout.js";

describe("reportContradicts", () => {
  const reported: PayoutState["status"][] = ["unknown", "processing", "paid", "failed", "returned"];
  /** Every (status, report) pair whose money and books disagree; every other pair does not. */
  const contradictions = new Set<string>([
    // The rail paid, but the books released the diamonds or never sent the payout.
    "requested paid",
    "approved paid",
    "failed paid",
    "cancelled paid",
    "rejected paid",
    // The rail says the money never left, but the books paid it.
    "paid failed",
  ]);

  for (const status of cashoutStatuses) {
    for (const state of reported) {
      const contradicts = contradictions.has(`${status} ${state}`);
      it(`${state} reported for a ${status} cash-out ${contradicts ? "contradicts" : "does not contradict"} it`, () => {
        expect(reportContradicts(status as CashoutStatus, state)).toBe(contradicts);
      });
    }
  }
});
