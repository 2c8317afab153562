import { describe, expect, it } from "vitest";
import type { RailRecord } from "../../providers/payouts/rail.js";
import { comparePayouts, type OurPayout } from "./reconcile-payouts.js";

const ours = (id: string, status: OurPayout["status"], rail = "paypal", netMinor = 10_000n): OurPayout => ({
  cashoutId: id,
  rail,
  status,
  currency: "USD",
  netMinor,
});

const paid = (id: string, netMinor = 10_000n, currency = "USD"): RailRecord => ({
  cashoutId: id,
  state: { status: "paid", ref: `ref_${id}` },
  currency,
  netMinor,
});
const record = (id: string, state: RailRecord["state"], netMinor = 10_000n): RailRecord => ({
  cashoutId: id,
  state,
  currency: "USD",
  netMinor,
});

describe("comparePayouts", () => {
  it("finds nothing when every cash-out agrees with its rail", () => {
    const result = comparePayouts(
      [
        ours("co_1", "paid"),
        ours("co_2", "processing"),
        ours("co_3", "failed"),
        ours("co_4", "returned"),
        ours("co_5", "paid", "stripe_connect"),
      ],
      [
        {
          rail: "paypal",
          records: [
            paid("co_1"),
            record("co_2", { status: "processing", ref: null }),
            record("co_3", { status: "failed", reason: "FAILED" }),
            record("co_4", { status: "returned", reason: "RETURNED" }),
          ],
        },
        { rail: "stripe_connect", records: [paid("co_5")] },
      ],
    );
    expect(result).toEqual({ ok: true, cashoutsChecked: 5, railRecordsChecked: 5, differences: [] });
  });

  it("takes a failed cash-out the rail never recorded, or recorded as returned, as agreeing", () => {
    const result = comparePayouts(
      [ours("co_refused", "failed"), ours("co_back_early", "failed")],
      [{ rail: "paypal", records: [record("co_back_early", { status: "returned", reason: "RETURNED" })] }],
    );
    expect(result.ok).toBe(true);
  });

  it("reports each kind of difference, with both sides", () => {
    const result = comparePayouts(
      [
        ours("co_missing", "paid"),
        ours("co_status", "processing"),
        ours("co_amount", "paid"),
        ours("co_currency", "paid"),
        ours("co_twice", "paid"),
        ours("co_other_rail", "paid", "stripe_connect"),
        ours("co_returned_failed", "returned"),
      ],
      [
        {
          rail: "paypal",
          records: [
            paid("co_status"),
            paid("co_amount", 9_999n),
            paid("co_currency", 10_000n, "EUR"),
            paid("co_twice"),
            paid("co_twice"),
            paid("co_stranger"),
            paid("co_other_rail"),
            record("co_returned_failed", { status: "failed", reason: "x" }),
          ],
        },
        { rail: "stripe_connect", records: [paid("co_other_rail")] },
      ],
    );
    expect(result.ok).toBe(false);
    const found = result.differences.map((d) => [d.kind, d.cashoutId]);
    expect(found).toEqual([
      ["status_mismatch", "co_status"],
      ["amount_mismatch", "co_amount"],
      ["currency_mismatch", "co_currency"],
      ["duplicate_at_rail", "co_twice"],
      ["unknown_to_us", "co_stranger"],
      ["wrong_rail", "co_other_rail"],
      ["status_mismatch", "co_returned_failed"],
      ["missing_at_rail", "co_missing"],
    ]);
    expect(result.differences[1]).toMatchObject({
      rail: "paypal",
      ours: { status: "paid", currency: "USD", netMinor: 10_000n },
      atRail: { status: "paid", currency: "USD", netMinor: 9_999n },
    });
    expect(result.differences.at(-1)).toMatchObject({ ours: { status: "paid" }, atRail: null });
  });

  it("reports a rail it cannot compare once, and not its cash-outs one by one", () => {
    const result = comparePayouts(
      [ours("co_a", "paid", "sepa"), ours("co_b", "paid", "gone"), ours("co_c", "paid", "paypal")],
      [
        { rail: "sepa", withoutRecords: true },
        { rail: "gone", notConfigured: true },
        { rail: "paypal", unavailable: "timeout" },
        { rail: "nacha", withoutRecords: true },
      ],
    );
    expect(result.differences.map((d) => [d.kind, d.rail, d.cashoutId])).toEqual([
      ["rail_without_records", "sepa", null],
      ["rail_not_configured", "gone", null],
      ["rail_unavailable", "paypal", null],
    ]);
  });

  it("counts what it checked", () => {
    const result = comparePayouts(
      [ours("co_1", "paid")],
      [{ rail: "paypal", records: [paid("co_1"), paid("co_x")] }],
    );
    expect(result).toMatchObject({ cashoutsChecked: 1, railRecordsChecked: 2, ok: false });
  });
});
