import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { ageOn, isCountryCode, parseBirthDate } from "./user.js";

const at = (iso: string) => Date.parse(iso);

describe("users", () => {
  it.each([
    ["US", true],
    ["GB", true],
    ["JP", true],
    ["XX", false],
    ["ZZ", false],
    ["EU", false],
    ["UN", false],
    ["us", false],
    ["USA", false],
    ["", false],
  ])("knows %s as a country: %s", (code, known) => {
    expect(isCountryCode(code)).toBe(known);
  });

  it.each(["2008-02-30", "2008-2-01", "20080201", "2008-13-01", "1899-12-31", "2030-01-01", " 2008-01-01"])(
    "refuses the birth date %s",
    (text) => {
      expect(() => parseBirthDate(text, at("2026-11-26T00:00:00Z"))).toThrow(/birthDate/);
    },
  );

  it("counts age in whole years, a year older once the birthday has begun everywhere (UTC−12)", () => {
    expect(ageOn("2008-11-26", at("2026-11-26T11:59:59Z"))).toBe(17);
    expect(ageOn("2008-11-26", at("2026-11-26T12:00:00Z"))).toBe(18);
    expect(ageOn("2008-02-29", at("2026-03-01T11:59:59Z"))).toBe(17);
    expect(ageOn("2008-02-29", at("2026-03-01T12:00:00Z"))).toBe(18);
  });

  it("never counts anyone older than their own calendar says, in any time zone, and at most a day younger", () => {
    const zones = [
      "Pacific/Kiritimati",
      "Asia/Tokyo",
      "Europe/London",
      "America/New_York",
      "Pacific/Pago_Pago",
      "Etc/GMT+12",
    ];
    const formats = zones.map(
      (timeZone) =>
        new Intl.DateTimeFormat("en-CA", { timeZone, year: "numeric", month: "2-digit", day: "2-digit" }),
    );
    const localAge = (birthDate: string, localDate: string) => {
      const [by, bm, bd] = birthDate.split("-").map(Number) as [number, number, number];
      const [y, m, d] = localDate.split("-").map(Number) as [number, number, number];
      return y - by - (m < bm || (m === bm && d < bd) ? 1 : 0);
    };
    fc.assert(
      fc.property(
        fc.integer({ min: at("1990-01-01T00:00:00Z"), max: at("2010-12-31T00:00:00Z") }),
        fc.integer({ min: at("2020-01-01T00:00:00Z"), max: at("2040-01-01T00:00:00Z") }),
        (bornMs, now) => {
          const birthDate = new Date(bornMs).toISOString().slice(0, 10);
          const ages = formats.map((f) => localAge(birthDate, f.format(new Date(now))));
          expect(ageOn(birthDate, now)).toBeLessThanOrEqual(Math.min(...ages));
          expect(ageOn(birthDate, now)).toBeGreaterThanOrEqual(Math.max(...ages) - 1);
        },
      ),
      { numRuns: 2_000 },
    );
  });

  it("refuses to answer for a malformed birth date or a clock past what a Date holds, rather than pass a NaN", () => {
    expect(() => ageOn("next-may-01", at("2026-11-26T00:00:00Z"))).toThrow(/birth date/);
    expect(() => ageOn("2008-11-26", 8.64e15 + 2 * 86_400_000)).toThrow(/clock/);
  });

  it("counts age as the calendar does, for any birth date and any time, in any order of days", () => {
    // The reference: the birthday this year, by the calendar, not yet reached means a year less.
    const reference = (birthDate: string, now: number) => {
      const born = new Date(`${birthDate}T00:00:00Z`);
      const today = new Date(now - 12 * 3_600_000);
      const age = today.getUTCFullYear() - born.getUTCFullYear();
      const before =
        today.getUTCMonth() < born.getUTCMonth() ||
        (today.getUTCMonth() === born.getUTCMonth() && today.getUTCDate() < born.getUTCDate());
      return before ? age - 1 : age;
    };
    const day = 86_400_000;
    fc.assert(
      fc.property(
        fc.date({
          min: new Date("1900-01-01T00:00:00Z"),
          max: new Date("2100-12-31T00:00:00Z"),
          noInvalidDate: true,
        }),
        fc.array(fc.integer({ min: at("1900-01-01T00:00:00Z"), max: at("2200-01-01T00:00:00Z") }), {
          minLength: 1,
          maxLength: 5,
        }),
        (born, times) => {
          const birthDate = new Date(Math.floor(born.getTime() / day) * day).toISOString().slice(0, 10);
          for (const now of times) expect(ageOn(birthDate, now)).toBe(reference(birthDate, now));
        },
      ),
    );
  });
});
