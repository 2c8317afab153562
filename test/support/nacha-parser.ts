/**
 * A NACHA file read back by record layout, written apart from the generator
 * (src/providers/payouts/nacha/nacha-file.ts) so that a test checks one against the other. Positions
 * are the 1-based columns of the NACHA Operating Rules.
 */
export interface ParsedEntry {
  transactionCode: string;
  receivingDfi: string;
  checkDigit: string;
  accountNumber: string;
  amountMinor: bigint;
  individualId: string;
  individualName: string;
  traceNumber: string;
}

export interface ParsedNacha {
  header: {
    immediateDestination: string;
    immediateOrigin: string;
    createdDate: string;
    fileIdModifier: string;
  };
  batch: {
    serviceClassCode: string;
    companyName: string;
    companyId: string;
    secCode: string;
    entryDescription: string;
    effectiveDate: string;
    odfi: string;
  };
  entries: ParsedEntry[];
  batchControl: { entryCount: number; entryHash: string; debitMinor: bigint; creditMinor: bigint };
  fileControl: {
    batchCount: number;
    blockCount: number;
    entryCount: number;
    entryHash: string;
    debitMinor: bigint;
    creditMinor: bigint;
  };
  recordCount: number;
}

const col = (record: string, from: number, to: number) => record.slice(from - 1, to);

export function parseNacha(text: string): ParsedNacha {
  const records = text.split("\n").filter((line) => line !== "");
  for (const [i, record] of records.entries()) {
    if (record.length !== 94) throw new Error(`record ${i + 1} is ${record.length} characters, not 94`);
  }
  const ofType = (type: string) => records.filter((r) => r[0] === type && !/^9{94}$/.test(r));
  const [header] = ofType("1");
  const [batchHeader] = ofType("5");
  const [batchControl] = ofType("8");
  const [fileControl] = ofType("9");
  if (!header || !batchHeader || !batchControl || !fileControl) throw new Error("a record type is missing");
  return {
    header: {
      immediateDestination: col(header, 4, 13),
      immediateOrigin: col(header, 14, 23),
      createdDate: col(header, 24, 29),
      fileIdModifier: col(header, 34, 34),
    },
    batch: {
      serviceClassCode: col(batchHeader, 2, 4),
      companyName: col(batchHeader, 5, 20).trimEnd(),
      companyId: col(batchHeader, 41, 50),
      secCode: col(batchHeader, 51, 53),
      entryDescription: col(batchHeader, 54, 63).trimEnd(),
      effectiveDate: col(batchHeader, 70, 75),
      odfi: col(batchHeader, 80, 87),
    },
    entries: ofType("6").map((r) => ({
      transactionCode: col(r, 2, 3),
      receivingDfi: col(r, 4, 11),
      checkDigit: col(r, 12, 12),
      accountNumber: col(r, 13, 29).trimEnd(),
      amountMinor: BigInt(col(r, 30, 39)),
      individualId: col(r, 40, 54).trimEnd(),
      individualName: col(r, 55, 76).trimEnd(),
      traceNumber: col(r, 80, 94),
    })),
    batchControl: {
      entryCount: Number(col(batchControl, 5, 10)),
      entryHash: col(batchControl, 11, 20),
      debitMinor: BigInt(col(batchControl, 21, 32)),
      creditMinor: BigInt(col(batchControl, 33, 44)),
    },
    fileControl: {
      batchCount: Number(col(fileControl, 2, 7)),
      blockCount: Number(col(fileControl, 8, 13)),
      entryCount: Number(col(fileControl, 14, 21)),
      entryHash: col(fileControl, 22, 31),
      debitMinor: BigInt(col(fileControl, 32, 43)),
      creditMinor: BigInt(col(fileControl, 44, 55)),
    },
    recordCount: records.length,
  };
}
