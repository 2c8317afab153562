import { describe, expect, it } from "vitest";
import { parseNacha } from "../../../../test/support/nacha-parser.js";
import { testOrigin } from "./nacha.testkit.js";
import { alpha, buildNachaFile, type NachaCredit } from "./nacha-file.js";

const origin = testOrigin;

const credit = (
  routingNumber: string,
  amountMinor: bigint,
  accountType: "checking" | "savings",
): NachaCredit => ({
  routingNumber,
  accountNumber: "000123456789",
  accountType,
  amountMinor,
  individualId: "co_abc",
  individualName: "Zoë Müller",
});

/** A file of `n` like credits, numbered from 1 (file id modifier A). */
const fileOf = (n: number) => {
  const credits = Array.from({ length: n }, () => credit("091000019", 100n, "checking"));
  return buildNachaFile({
    origin,
    createdAt: Date.parse("2027-06-02T13:45:00Z"),
    effectiveDate: "2027-06-03",
    fileIdModifier: "A",
    traceSequences: credits.map((_, i) => i + 1),
    credits,
  });
};

describe("buildNachaFile", () => {
  it("writes 94-character records in blocks of 10 whose controls add up", () => {
    const credits = [
      credit("011000015", 12345n, "checking"),
      credit("021000021", 1n, "savings"),
      credit("091000019", 9_999_999_999n, "checking"),
    ];
    const { text, traceNumbers } = buildNachaFile({
      origin,
      createdAt: Date.parse("2027-06-02T13:45:00Z"),
      effectiveDate: "2027-06-03",
      fileIdModifier: "B",
      traceSequences: [7, 8, 9],
      credits,
    });
    const parsed = parseNacha(text);
    expect(parsed.recordCount % 10).toBe(0);
    expect(parsed.recordCount).toBe(10);
    expect(parsed.header).toEqual({
      immediateDestination: " 091000019",
      immediateOrigin: "1234567890",
      createdDate: "270602",
      fileIdModifier: "B",
    });
    expect(parsed.batch).toMatchObject({
      serviceClassCode: "220",
      secCode: "PPD",
      companyId: "1234567890",
      effectiveDate: "270603",
      odfi: "09100001",
    });
    expect(parsed.entries.map((e) => e.transactionCode)).toEqual(["22", "32", "22"]);
    expect(parsed.entries.map((e) => e.receivingDfi + e.checkDigit)).toEqual([
      "011000015",
      "021000021",
      "091000019",
    ]);
    expect(parsed.entries[0]!.individualName).toBe("ZOE MULLER");
    expect(parsed.entries.map((e) => e.traceNumber)).toEqual(traceNumbers);
    expect(traceNumbers).toEqual(["091000010000007", "091000010000008", "091000010000009"]);
    const total = 12345n + 1n + 9_999_999_999n;
    // 01100001 + 02100002 + 09100001
    const hash = "0012300004";
    expect(parsed.batchControl).toEqual({
      entryCount: 3,
      entryHash: hash,
      debitMinor: 0n,
      creditMinor: total,
    });
    expect(parsed.fileControl).toEqual({
      batchCount: 1,
      blockCount: 1,
      entryCount: 3,
      entryHash: hash,
      debitMinor: 0n,
      creditMinor: total,
    });
  });

  it("keeps only the 10 rightmost digits of the entry hash", () => {
    const { text } = fileOf(130);
    const parsed = parseNacha(text);
    // 130 × 09100001 = 1,183,000,130: ten digits; the sum itself is kept whole here.
    expect(parsed.fileControl.entryHash).toBe(String((130n * 9100001n) % 10_000_000_000n).padStart(10, "0"));
    expect(parsed.fileControl.blockCount).toBe(Math.ceil((130 + 4) / 10));
    expect(parsed.recordCount).toBe(140);
  });

  it("counts the file control itself in the block count, for every number of entries", () => {
    // 6 records and the file control make 7 with one entry; 7 entries make exactly 10 records
    // before the file control, whose own record starts a second block.
    for (let n = 1; n <= 25; n++) {
      const { text } = fileOf(n);
      const parsed = parseNacha(text);
      const records = n + 4;
      expect(parsed.recordCount, `${n} entries`).toBe(Math.ceil(records / 10) * 10);
      expect(parsed.fileControl.blockCount, `${n} entries`).toBe(parsed.recordCount / 10);
    }
  });

  it("refuses an amount that does not fit its field rather than truncating it", () => {
    expect(() =>
      buildNachaFile({
        origin,
        createdAt: 0,
        effectiveDate: "2027-06-03",
        fileIdModifier: "A",
        traceSequences: [1],
        credits: [credit("091000019", 10_000_000_000n, "checking")],
      }),
    ).toThrow(/invariant/);
  });

  it("writes text fields in upper-case ASCII, cut to their width", () => {
    expect(alpha("Zoë Müller-Łukasiewicz", 22)).toBe("ZOE MULLER-LUKASIEWICZ");
    expect(alpha("李小龙 <b>", 10)).toBe("LIXIAOLONG");
    expect(alpha("a", 3)).toBe("A  ");
  });
});
