import { describe, expect, it } from "vitest";
import { type DumpHeader, headerLine, parseHeader, parseRow, parseSection } from "./dump-format.js";

const header: DumpHeader = {
  format: "giftstream-export",
  version: 1,
  source: { dialect: "sqlite", schemaVersion: 11 },
  exportedAt: "2030-01-01T00:00:00.000Z",
  tables: [
    {
      name: "settings",
      rows: 1,
      columns: [
        { name: "key", type: "text" },
        { name: "value", type: "text" },
      ],
    },
  ],
  ledgerDigest: "a".repeat(64),
};

describe("dump format", () => {
  it("reads back the header it writes", () => {
    expect(parseHeader(headerLine(header))).toEqual(header);
  });

  it.each([
    ["not JSON", "{", /not JSON/],
    ["another format", JSON.stringify({ ...header, format: "pg_dump" }), /not a Giftstream export/],
    ["a newer version", JSON.stringify({ ...header, version: 2 }), /version 2 is not one/],
    ["a short digest", JSON.stringify({ ...header, ledgerDigest: "abc" }), /ledgerDigest/],
    [
      "a table name that is not an identifier",
      JSON.stringify({ ...header, tables: [{ ...header.tables[0], name: 'x"; DROP TABLE accounts; --' }] }),
      /plain identifier/,
    ],
    [
      "an unknown column type",
      JSON.stringify({
        ...header,
        tables: [{ ...header.tables[0], columns: [{ name: "key", type: "real" }] }],
      }),
      /int, text or bytes/,
    ],
    [
      "a negative row count",
      JSON.stringify({ ...header, tables: [{ ...header.tables[0], rows: -1 }] }),
      /rows must be a count/,
    ],
    ["a table twice", JSON.stringify({ ...header, tables: [header.tables[0], header.tables[0]] }), /twice/],
  ])("refuses a header with %s", (_name, line, message) => {
    expect(() => parseHeader(line)).toThrow(message);
  });

  it("checks sections and rows against the header", () => {
    const table = header.tables[0]!;
    expect(() => parseSection('{"table":"settings"}', "settings", 2)).not.toThrow();
    expect(() => parseSection('{"table":"users"}', "settings", 2)).toThrow(
      /line 2: expected the start of table settings/,
    );
    expect(parseRow('["k","v"]', table, 3)).toEqual(["k", "v"]);
    expect(() => parseRow('["k"]', table, 3)).toThrow(/line 3 \(settings\): expected a row of 2 values/);
    expect(() => parseRow('{"key":"k"}', table, 3)).toThrow(/expected a row/);
  });
});
