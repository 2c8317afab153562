import { describe, expect, it } from "vitest";
import { calendarDay } from "./day.js";

describe("calendarDay", () => {
  it("is the day in the zone, not in UTC", () => {
    // 03:59 UTC on 1 March is still 28 February in New York (UTC−5).
    expect(calendarDay(Date.UTC(2026, 2, 1, 4, 59), "America/New_York")).toBe("2026-02-28");
    expect(calendarDay(Date.UTC(2026, 2, 1, 5, 0), "America/New_York")).toBe("2026-03-01");
    expect(calendarDay(Date.UTC(2026, 2, 1, 18, 30), "Asia/Kolkata")).toBe("2026-03-02");
  });

  it("follows daylight-saving changes: midnight moves from 05:00 to 04:00 UTC in New York", () => {
    // Clocks spring forward on 8 March 2026: the 8th is 23 hours long.
    expect(calendarDay(Date.UTC(2026, 2, 8, 4, 59), "America/New_York")).toBe("2026-03-07");
    expect(calendarDay(Date.UTC(2026, 2, 8, 5, 0), "America/New_York")).toBe("2026-03-08");
    expect(calendarDay(Date.UTC(2026, 2, 9, 3, 59), "America/New_York")).toBe("2026-03-08");
    expect(calendarDay(Date.UTC(2026, 2, 9, 4, 0), "America/New_York")).toBe("2026-03-09");
    // And fall back on 1 November 2026: the 1st is 25 hours long.
    expect(calendarDay(Date.UTC(2026, 10, 2, 4, 59), "America/New_York")).toBe("2026-11-01");
    expect(calendarDay(Date.UTC(2026, 10, 2, 5, 0), "America/New_York")).toBe("2026-11-02");
  });
});
