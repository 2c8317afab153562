import { describe, expect, it } from "vitest";
import { parseReturnsCsv } from "./returns-csv.js";

describe("parseReturnsCsv", () => {
  it("reads rows, quoted fields, a BOM, CRLF and blank lines", () => {
    const csv =
      '\uFEFFreference,status,reason\r\nco.1,returned,"AC04, account closed"\r\n\r\nco.2,paid,\r\n"co.3",paid,"say ""hi"""\n';
    expect(parseReturnsCsv(csv, 10)).toEqual({
      rows: [
        { line: 2, reference: "co.1", status: "returned", reason: "AC04, account closed" },
        { line: 4, reference: "co.2", status: "paid", reason: null },
        { line: 5, reference: "co.3", status: "paid", reason: 'say "hi"' },
      ],
      problems: [],
    });
  });

  it("lists every malformed row with its line number, and no rows", () => {
    const csv = [
      "reference,status,reason",
      "co.1,returned,",
      "co.2,lost,x",
      "co.3,paid",
      "co.4,paid,x,y",
      "co.5,paid,",
      "co.5,returned,again",
      ',paid,"open',
      `co.6,returned,${"r".repeat(501)}`,
    ].join("\n");
    const result = parseReturnsCsv(csv, 10);
    expect(result.rows).toEqual([]);
    expect(result.problems.map((p) => p.line)).toEqual([2, 3, 4, 5, 7, 8, 9]);
    expect(result.problems[0]!.detail).toMatch(/reason/);
  });

  it("refuses a wrong header, an empty body and more rows than the file has lines", () => {
    expect(parseReturnsCsv("id,status\nco.1,paid", 10).problems[0]).toMatchObject({ line: 1 });
    expect(parseReturnsCsv("reference,status,reason\n", 10).problems[0]!.detail).toMatch(/no rows/);
    expect(
      parseReturnsCsv("reference,status,reason\na,paid,\nb,paid,\nc,paid,", 2).problems[0],
    ).toMatchObject({
      line: 4,
    });
  });
});
