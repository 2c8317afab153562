import { describe, expect, it } from "vitest";
import { type LeaderboardStore, Leaderboards, periodRange } from "./leaderboards.js";

describe("periodRange", () => {
  const at = (iso: string) => Date.parse(iso);

  it("is the UTC calendar day", () => {
    expect(periodRange("day", at("2030-01-09T23:59:59.999Z"))).toEqual({
      fromMs: at("2030-01-09T00:00:00.000Z"),
      toMs: at("2030-01-10T00:00:00.000Z"),
    });
    expect(periodRange("day", at("2030-01-10T00:00:00.000Z")).fromMs).toBe(at("2030-01-10T00:00:00.000Z"));
  });

  it("is the ISO week, Monday to Monday, in UTC", () => {
    const week = { fromMs: at("2030-01-07T00:00:00.000Z"), toMs: at("2030-01-14T00:00:00.000Z") };
    // 2030-01-07 is a Monday; the Sunday after still belongs to its week.
    expect(periodRange("week", at("2030-01-07T00:00:00.000Z"))).toEqual(week);
    expect(periodRange("week", at("2030-01-13T23:59:59.999Z"))).toEqual(week);
    expect(periodRange("week", at("2030-01-14T00:00:00.000Z")).fromMs).toBe(at("2030-01-14T00:00:00.000Z"));
    // Across a year's end.
    expect(periodRange("week", at("2026-01-01T12:00:00.000Z")).fromMs).toBe(at("2025-12-29T00:00:00.000Z"));
  });

  it("is unbounded for all", () => {
    expect(periodRange("all", 0)).toEqual({ fromMs: null, toMs: null });
  });
});

describe("Leaderboards", () => {
  const store: LeaderboardStore = {
    streamTop: async () => [],
    creatorTop: async () => [],
  };

  it("bounds the limit", async () => {
    const boards = new Leaderboards({ store, userExists: async () => ({}), clock: () => 0, sizeMax: 5 });
    await expect(boards.stream("s", 5)).resolves.toEqual([]);
    for (const limit of [0, 6, 1.5, Number.NaN]) {
      await expect(boards.stream("s", limit)).rejects.toMatchObject({ code: "invalid_request" });
      await expect(boards.creator("u", "all", limit)).rejects.toMatchObject({ code: "invalid_request" });
    }
  });
});
