import { describe, expect, it } from "vitest";
import { foldPeriod, nextStreak, periodStart, StreakBook } from "./streaks.js";

const rules = { windowMs: 10_000, periodMs: 3_600_000 };
let n = 0;
const gift = (senderId: string, createdAt: number, quantity = 1, giftId = "rose") => ({
  id: `gft_${n++}`,
  senderId,
  giftId,
  quantity,
  createdAt,
});

describe("periodStart", () => {
  it("floors to the period, before 1970 too", () => {
    expect(periodStart(3_600_000, 3_600_000)).toBe(3_600_000);
    expect(periodStart(3_599_999, 3_600_000)).toBe(0);
    expect(periodStart(-1, 3_600_000)).toBe(-3_600_000);
  });
});

describe("nextStreak", () => {
  it("continues within the window either way in time, and starts afresh past it", () => {
    const first = nextStreak(undefined, gift("a", 1000, 3), 10);
    expect(first).toMatchObject({ count: 3, sends: 1, lastAt: 1000 });
    const second = nextStreak(first, gift("a", 1010, 2), 10);
    expect(second).toMatchObject({ streakId: first.streakId, count: 5, sends: 2 });
    // A send committed later but stamped a little earlier (clocks of concurrent requests).
    expect(nextStreak(second, gift("a", 1005), 10)).toMatchObject({ streakId: first.streakId, count: 6 });
    const late = gift("a", 1021);
    expect(nextStreak(second, late, 10)).toMatchObject({ streakId: late.id, count: 1, sends: 1 });
  });
});

describe("StreakBook", () => {
  it("keeps one streak per viewer and gift, and ends streaks at period boundaries", () => {
    const book = new StreakBook(rules);
    const t0 = 3_600_000 * 10 - 4000;
    book.load(book.periodOf(t0), []);
    const a1 = gift("a", t0);
    expect(book.fold(a1)).toEqual({ id: a1.id, count: 1, sends: 1, expiresAt: 3_600_000 * 10 - 1 });
    expect(book.fold(gift("b", t0 + 1))).toMatchObject({ count: 1 });
    expect(book.fold(gift("a", t0 + 2, 1, "hand-hearts"))).toMatchObject({ count: 1 });
    expect(book.fold(gift("a", t0 + 3000, 4))).toMatchObject({ id: a1.id, count: 5, sends: 2 });
    // Within the window, but in the next period: a new streak.
    const next = gift("a", t0 + 5000);
    book.load(book.periodOf(next.createdAt), []);
    expect(book.fold(next)).toEqual({ id: next.id, count: 1, sends: 1, expiresAt: next.createdAt + 10_000 });
  });

  it("continues a streak loaded from the store", () => {
    const book = new StreakBook(rules);
    book.load(0, [{ senderId: "a", giftId: "rose", streakId: "gft_x", count: 7, sends: 3, lastAt: 5000 }]);
    expect(book.fold(gift("a", 9000, 2))).toMatchObject({ id: "gft_x", count: 9, sends: 4 });
  });

  it("refuses to fold a gift of a period it has not loaded", () => {
    expect(() => new StreakBook(rules).fold(gift("a", 0))).toThrow(/loaded/);
  });

  it("folds like foldPeriod, the reference the stores are checked against", () => {
    let seed = 7;
    const random = () => {
      seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
      return seed / 2 ** 31;
    };
    const gifts = [];
    let at = 0;
    for (let i = 0; i < 500; i++) {
      at += Math.floor(random() * 6000) - 1000;
      gifts.push(gift(`v${Math.floor(random() * 4)}`, Math.max(0, at), 1 + Math.floor(random() * 3)));
    }
    const book = new StreakBook({ windowMs: 5000, periodMs: 10 ** 12 });
    book.load(0, foldPeriod(gifts.slice(0, 200), 5000));
    for (const g of gifts.slice(200)) book.fold(g);
    const expected = foldPeriod(gifts, 5000);
    for (const s of expected) {
      const probe = gift(s.senderId, s.lastAt, 0);
      expect(book.fold(probe)).toMatchObject({ id: s.streakId, count: s.count, sends: s.sends + 1 });
    }
  });
});
