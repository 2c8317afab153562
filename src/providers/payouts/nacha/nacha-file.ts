import anyAscii from "any-ascii";
import { invariant } from "../../../errors.js";

/**
 * A NACHA ACH file of credits (PPD, service class 220), written field by field from the record
 * layouts of the NACHA Operating Rules: 94-character records, a file header (1), one batch header
 * (5), an entry detail (6) per credit, the batch control (8), the file control (9), and lines of 9s
 * up to a multiple of 10 records. Amounts are bigint cents throughout; nach2 was not used because
 * it sums dollar amounts as JavaScript numbers.
 */

export const recordLength = 94;
const blockingFactor = 10;

/** The originator: the platform, its bank (the ODFI) and where the file goes. */
export interface NachaOrigin {
  /** The routing number the file is sent to (the ODFI or its ACH operator): 9 digits. */
  immediateDestination: string;
  immediateDestinationName: string;
  /** Who sends the file, as the bank assigned it: 9 digits (written with a leading space) or 10 characters. */
  immediateOrigin: string;
  immediateOriginName: string;
  /** Company name of the batch, as the receivers' statements show it (16 characters). */
  companyName: string;
  /** Company identification (10 characters, often "1" and the EIN). */
  companyId: string;
  /** The first 8 digits of the ODFI's routing number: batch headers and trace numbers. */
  odfiRouting: string;
  /** What the receivers' statements say the entry is (10 characters), e.g. PAYOUT. */
  entryDescription: string;
}

export interface NachaCredit {
  routingNumber: string;
  accountNumber: string;
  accountType: "checking" | "savings";
  amountMinor: bigint;
  /** Individual identification number (15 characters). */
  individualId: string;
  individualName: string;
}

export interface NachaFileInput {
  origin: NachaOrigin;
  createdAt: number;
  /** YYYY-MM-DD the receivers should be credited. */
  effectiveDate: string;
  /** A–Z then 0–9: tells apart the files of one day to one destination. */
  fileIdModifier: string;
  /** Each credit's trace sequence (7 digits are kept), in order. */
  traceSequences: readonly number[];
  credits: readonly NachaCredit[];
}

/** 22: automated deposit to checking; 32: to savings. */
export const transactionCodes = { checking: "22", savings: "32" } as const;

/** Most credits one batch holds: its entry count has 6 digits. */
export const batchEntriesMax = 999_999;
/** The entry detail record's Individual Name field, in characters. */
export const individualNameWidth = 22;
/** The most one entry carries: ten digits of cents, $99,999,999.99. */
export const amountMaxMinor = 9_999_999_999n;
const totalMaxMinor = 999_999_999_999n;

export function buildNachaFile(input: NachaFileInput): { text: string; traceNumbers: string[] } {
  const { origin, credits } = input;
  invariant(
    credits.length > 0 && credits.length <= batchEntriesMax,
    "a NACHA batch holds 1 to 999,999 entries",
  );
  invariant(input.traceSequences.length === credits.length, "one trace sequence per credit");
  invariant(/^[0-9]{8}$/.test(origin.odfiRouting), "the ODFI routing is 8 digits");
  invariant(/^[0-9]{9}$/.test(origin.immediateDestination), "the immediate destination is 9 digits");
  invariant(/^[A-Z0-9]$/.test(input.fileIdModifier), "the file id modifier is A-Z or 0-9");

  const created = new Date(input.createdAt);
  const yymmdd = (iso: string) => iso.slice(2, 4) + iso.slice(5, 7) + iso.slice(8, 10);
  const createdDate = yymmdd(created.toISOString());
  const createdTime = created.toISOString().slice(11, 13) + created.toISOString().slice(14, 16);
  const batchNumber = 1;

  const records: string[] = [];
  records.push(
    record([
      "1",
      "01",
      ` ${origin.immediateDestination}`,
      /^[0-9]{9}$/.test(origin.immediateOrigin)
        ? ` ${origin.immediateOrigin}`
        : alpha(origin.immediateOrigin, 10),
      createdDate,
      createdTime,
      input.fileIdModifier,
      "094",
      String(blockingFactor),
      "1",
      alpha(origin.immediateDestinationName, 23),
      alpha(origin.immediateOriginName, 23),
      alpha("", 8),
    ]),
  );
  records.push(
    record([
      "5",
      "220",
      alpha(origin.companyName, 16),
      alpha("", 20),
      alpha(origin.companyId, 10),
      "PPD",
      alpha(origin.entryDescription, 10),
      alpha("", 6),
      yymmdd(input.effectiveDate),
      alpha("", 3),
      "1",
      origin.odfiRouting,
      numeric(BigInt(batchNumber), 7),
    ]),
  );

  let entryHash = 0n;
  let totalCreditMinor = 0n;
  const traceNumbers: string[] = [];
  credits.forEach((credit, i) => {
    invariant(/^[0-9]{9}$/.test(credit.routingNumber), "a routing number is 9 digits");
    invariant(/^[0-9]{1,17}$/.test(credit.accountNumber), "an account number is 1 to 17 digits");
    invariant(
      credit.amountMinor > 0n && credit.amountMinor <= amountMaxMinor,
      "an entry is $0.01 to $99,999,999.99",
    );
    const trace = origin.odfiRouting + numeric(BigInt(input.traceSequences[i]! % 10_000_000), 7);
    traceNumbers.push(trace);
    entryHash += BigInt(credit.routingNumber.slice(0, 8));
    totalCreditMinor += credit.amountMinor;
    records.push(
      record([
        "6",
        transactionCodes[credit.accountType],
        credit.routingNumber.slice(0, 8),
        credit.routingNumber.slice(8),
        alpha(credit.accountNumber, 17),
        numeric(credit.amountMinor, 10),
        alpha(credit.individualId, 15),
        alpha(credit.individualName, individualNameWidth),
        alpha("", 2),
        "0",
        trace,
      ]),
    );
  });
  invariant(totalCreditMinor <= totalMaxMinor, "a NACHA file's credits total at most $9,999,999,999.99");
  // Only the 10 rightmost digits of the sum are kept.
  const hash = numeric(entryHash % 10_000_000_000n, 10);
  records.push(
    record([
      "8",
      "220",
      numeric(BigInt(credits.length), 6),
      hash,
      numeric(0n, 12),
      numeric(totalCreditMinor, 12),
      alpha(origin.companyId, 10),
      alpha("", 19),
      alpha("", 6),
      origin.odfiRouting,
      numeric(BigInt(batchNumber), 7),
    ]),
  );
  // The file control counts itself in the blocks.
  const blockCount = Math.ceil((records.length + 1) / blockingFactor);
  records.push(
    record([
      "9",
      numeric(1n, 6),
      numeric(BigInt(blockCount), 6),
      numeric(BigInt(credits.length), 8),
      hash,
      numeric(0n, 12),
      numeric(totalCreditMinor, 12),
      alpha("", 39),
    ]),
  );
  while (records.length % blockingFactor !== 0) records.push("9".repeat(recordLength));
  return { text: `${records.join("\n")}\n`, traceNumbers };
}

/** One record: its fields laid end to end, which must come to exactly 94 characters. */
function record(fields: readonly string[]): string {
  const line = fields.join("");
  invariant(line.length === recordLength, `a NACHA record is ${recordLength} characters, not ${line.length}`);
  return line;
}

/** A number right-justified with zeros; a value that does not fit is a bug, never truncated. */
function numeric(value: bigint, width: number): string {
  const digits = value.toString();
  invariant(value >= 0n && digits.length <= width, `${digits} does not fit ${width} digits`);
  return digits.padStart(width, "0");
}

/**
 * Text left-justified with spaces, cut to its width: upper-case ASCII letters, digits, spaces and
 * a little punctuation, which every ACH processor accepts. Names are transliterated (Zoë → ZOE).
 */
export function alpha(text: string, width: number): string {
  const clean = anyAscii(text.normalize("NFC"))
    .toUpperCase()
    .replace(/[^A-Z0-9 .,'&/-]/g, " ")
    .replace(/\s+/g, " ")
    .trim()
    .slice(0, width);
  return clean.padEnd(width, " ");
}
