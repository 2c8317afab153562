import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GiftstreamError, InvariantViolation } from "../../errors.js";
import { parseEconomy } from "./parse.js";
import { defaultEconomyDocument } from "./preset.js";
import {
  compareVersions,
  type EconomyVersion,
  effectiveAtMax,
  firstVersion,
  planVersion,
  scheduledAfter,
  versionInForce,
} from "./versions.js";

const presetEconomy = parseEconomy(defaultEconomyDocument);

/** A version whose content does not matter: the selection functions read only times and ids. */
function stub(id: string, effectiveAt: number, createdAt = 0): EconomyVersion {
  return { id, effectiveAt, createdAt, document: defaultEconomyDocument, economy: presetEconomy };
}

const day = 86_400_000;
const t0 = Date.UTC(2025, 0, 1);

describe("versionInForce", () => {
  const versions = [stub("ev_3", t0 + 2 * day), stub("ev_1", 0), stub("ev_2", t0)];

  it("picks the latest version whose effectiveAt is not after the time", () => {
    expect(versionInForce(versions, 0).id).toBe("ev_1");
    expect(versionInForce(versions, t0 - 1).id).toBe("ev_1");
    expect(versionInForce(versions, t0).id).toBe("ev_2");
    expect(versionInForce(versions, t0 + 2 * day - 1).id).toBe("ev_2");
    expect(versionInForce(versions, t0 + 2 * day).id).toBe("ev_3");
    expect(versionInForce(versions, Number.MAX_SAFE_INTEGER).id).toBe("ev_3");
  });

  it("breaks a tie of effectiveAt by the later createdAt, then by id", () => {
    const tied = [stub("ev_1", 0), stub("ev_b", t0, 5), stub("ev_c", t0, 9), stub("ev_a", t0, 9)];
    expect(versionInForce(tied, t0).id).toBe("ev_c");
    expect(versionInForce([...tied].reverse(), t0).id).toBe("ev_c");
  });

  it("treats no version in force as a broken invariant", () => {
    expect(() => versionInForce([], 0)).toThrow(InvariantViolation);
    expect(() => versionInForce([stub("ev_2", t0)], t0 - 1)).toThrow(InvariantViolation);
    expect(() => versionInForce(versions, -1)).toThrow(InvariantViolation);
    expect(() => versionInForce(versions, 1.5)).toThrow(InvariantViolation);
  });

  it("is the version with the largest effectiveAt ≤ at, whatever the set (property)", () => {
    const versionsArb = fc
      .array(
        fc.record({
          effectiveAt: fc.integer({ min: 0, max: 1000 }),
          createdAt: fc.integer({ min: 0, max: 50 }),
        }),
        {
          maxLength: 30,
        },
      )
      .map((rows) => [
        stub("ev_0", 0, 0),
        ...rows.map((row, index) => stub(`ev_${index + 1}`, row.effectiveAt, row.createdAt)),
      ]);
    fc.assert(
      fc.property(versionsArb, fc.integer({ min: 0, max: 1100 }), (all, at) => {
        const chosen = versionInForce(all, at);
        const eligible = all.filter((version) => version.effectiveAt <= at);
        const latest = Math.max(...eligible.map((version) => version.effectiveAt));
        expect(chosen.effectiveAt).toBe(latest);
        for (const version of eligible) expect(compareVersions(version, chosen)).toBeLessThanOrEqual(0);
        expect(versionInForce([...all].reverse(), at)).toBe(chosen);
      }),
    );
  });
});

describe("scheduledAfter", () => {
  it("lists the versions after a time, in the order they take effect", () => {
    const versions = [
      stub("ev_4", t0 + 3 * day),
      stub("ev_1", 0),
      stub("ev_3", t0 + day, 2),
      stub("ev_2", t0 + day, 1),
    ];
    expect(scheduledAfter(versions, t0).map((version) => version.id)).toEqual(["ev_2", "ev_3", "ev_4"]);
    expect(scheduledAfter(versions, t0 + day).map((version) => version.id)).toEqual(["ev_4"]);
    expect(scheduledAfter(versions, t0 + 3 * day)).toEqual([]);
  });
});

describe("firstVersion", () => {
  it("is the whole document, in force from 0, parsed and frozen", () => {
    const first = firstVersion(defaultEconomyDocument, { id: "ev_1", createdAt: t0 });
    expect(first).toMatchObject({ id: "ev_1", effectiveAt: 0, createdAt: t0 });
    expect(first.document).toEqual(defaultEconomyDocument);
    expect(first.economy.regions.US?.packs[3]?.priceMinor).toBe(990n);
    expect(Object.isFrozen(first)).toBe(true);
    expect(Object.isFrozen(first.document.regions.US)).toBe(true);
  });

  it("refuses an invalid document", () => {
    expect(() => firstVersion({ regions: {} }, { id: "ev_1", createdAt: t0 })).toThrow(GiftstreamError);
  });
});

describe("planVersion", () => {
  const first = firstVersion(defaultEconomyDocument, { id: "ev_1", createdAt: t0 });
  const raise = { regions: { US: { packs: [{ id: "us-1000", coins: "1000", priceMinor: "1090" }] } } };
  const second = planVersion([first], {
    effectiveAt: t0 + 10 * day,
    override: raise,
    now: t0,
    id: "ev_2",
    createdAt: t0,
  });

  it("applies the override onto the version in force at its effective time", () => {
    expect(second.effectiveAt).toBe(t0 + 10 * day);
    expect(second.economy.regions.US?.packs).toEqual([{ id: "us-1000", coins: 1000n, priceMinor: 1090n }]);
    expect(second.economy.regions.GB?.packs).toEqual(first.economy.regions.GB?.packs);
    expect(versionInForce([first, second], t0 + 10 * day - 1)).toBe(first);
    expect(versionInForce([first, second], t0 + 10 * day)).toBe(second);
  });

  it("builds a later change on the scheduled one before it, and an earlier one on what precedes it", () => {
    const versions = [first, second];
    const later = planVersion(versions, {
      effectiveAt: t0 + 20 * day,
      override: { commissionRate: "0.4" },
      now: t0 + day,
      id: "ev_3",
      createdAt: t0 + day,
    });
    expect(later.economy.commissionRate.text).toBe("0.4");
    expect(later.economy.regions.US?.packs[0]?.priceMinor).toBe(1090n);

    const earlier = planVersion(versions, {
      effectiveAt: t0 + 5 * day,
      override: { commissionRate: "0.4" },
      now: t0 + day,
      id: "ev_4",
      createdAt: t0 + day,
    });
    expect(earlier.economy.commissionRate.text).toBe("0.4");
    expect(earlier.economy.regions.US?.packs).toHaveLength(6);
    // The change scheduled later was built without it and replaces it when it takes effect.
    expect(scheduledAfter([...versions, earlier], earlier.effectiveAt)).toEqual([second]);
  });

  it("builds on a version planned for the same instant, and wins the tie by being created later", () => {
    const same = planVersion([first, second], {
      effectiveAt: second.effectiveAt,
      override: { minimumAge: 21 },
      now: t0 + day,
      id: "ev_5",
      createdAt: t0 + day,
    });
    expect(same.economy.regions.US?.packs[0]?.priceMinor).toBe(1090n);
    expect(versionInForce([first, second, same], second.effectiveAt)).toBe(same);
  });

  it("accepts a version effective now, and refuses one in the past", () => {
    const now = t0 + day;
    const atNow = planVersion([first], { effectiveAt: now, override: {}, now, id: "ev_6", createdAt: now });
    expect(atNow.effectiveAt).toBe(now);
    const past = () =>
      planVersion([first], { effectiveAt: now - 1, override: {}, now, id: "ev_7", createdAt: now });
    expect(past).toThrow(GiftstreamError);
    expect(past).toThrow(/is before now .*cannot rewrite the past/);
    try {
      past();
    } catch (error) {
      expect((error as GiftstreamError).code).toBe("invalid_request");
      expect((error as GiftstreamError).extra).toEqual({ field: "effectiveAt", effectiveAt: now - 1, now });
    }
  });

  it("refuses an effectiveAt that is not a time", () => {
    for (const effectiveAt of [Number.NaN, 1.5, -1, effectiveAtMax + 1, Number.POSITIVE_INFINITY]) {
      expect(() =>
        planVersion([first], { effectiveAt, override: {}, now: 0, id: "ev_8", createdAt: 0 }),
      ).toThrow(/effectiveAt must be an integer of milliseconds/);
    }
  });

  it("refuses a used or malformed id", () => {
    const request = { effectiveAt: t0 + day, override: {}, now: t0, createdAt: t0 };
    expect(() => planVersion([first], { ...request, id: "ev_1" })).toThrow(/already exists/);
    expect(() => planVersion([first], { ...request, id: "" })).toThrow(/id must be/);
    expect(() => planVersion([first], { ...request, id: "ev 9" })).toThrow(/id must be/);
  });

  it("validates the result and reports the override's problems with their paths", () => {
    const request = { effectiveAt: t0 + day, now: t0, id: "ev_9", createdAt: t0 };
    expect(() =>
      planVersion([first], { ...request, override: { regions: { US: { currency: "XYZ" } } } }),
    ).toThrow(/regions\.US\.currency: "XYZ" is not an ISO 4217 currency code/);
    expect(() => planVersion([first], { ...request, override: { commissionRate: null } })).toThrow(
      /must not be null/,
    );
  });

  it("honours the configured amountMax", () => {
    const request = { effectiveAt: t0 + day, now: t0, id: "ev_10", createdAt: t0, override: {} };
    expect(() => planVersion([first], request, { amountMax: 1000n })).toThrow(/must be at most 1000/);
  });

  it("never changes the versions it builds on", () => {
    expect(first.economy.regions.US?.packs[3]?.priceMinor).toBe(990n);
    expect(first.document.regions.US?.packs).toHaveLength(6);
  });

  it("treats a bad clock reading as a broken invariant", () => {
    expect(() =>
      planVersion([first], { effectiveAt: t0, override: {}, now: Number.NaN, id: "ev_11", createdAt: t0 }),
    ).toThrow(InvariantViolation);
  });
});
