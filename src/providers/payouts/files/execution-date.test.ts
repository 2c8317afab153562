import { describe, expect, it } from "vitest";
import { executionDate, isoDate } from "./execution-date.js";

const at = (iso: string) => Date.parse(iso);

describe("executionDate", () => {
  it("counts weekdays after the creation date, skipping weekends", () => {
    // 2027-06-04 is a Friday.
    expect(isoDate(executionDate(at("2027-06-04T18:00:00Z"), 1))).toBe("2027-06-07");
    expect(isoDate(executionDate(at("2027-06-02T09:00:00Z"), 1))).toBe("2027-06-03");
    expect(isoDate(executionDate(at("2027-06-02T09:00:00Z"), 3))).toBe("2027-06-07");
  });

  it("with no delay, a weekend creation date moves to Monday", () => {
    expect(isoDate(executionDate(at("2027-06-05T09:00:00Z"), 0))).toBe("2027-06-07");
    expect(isoDate(executionDate(at("2027-06-02T23:59:59Z"), 0))).toBe("2027-06-02");
  });

  it("gives a file created on a weekend its full delay, counted from the Monday the bank first sees it", () => {
    // 2027-06-05 is a Saturday, 2027-06-06 a Sunday. One business day of lead time must stay one
    // more than none: Tuesday, not the Monday a delay of 0 already asks for.
    for (const created of ["2027-06-05T09:00:00Z", "2027-06-06T23:59:59Z"]) {
      expect(isoDate(executionDate(at(created), 0)), created).toBe("2027-06-07");
      expect(isoDate(executionDate(at(created), 1)), created).toBe("2027-06-08");
      expect(isoDate(executionDate(at(created), 5)), created).toBe("2027-06-14");
    }
  });
});
