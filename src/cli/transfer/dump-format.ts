import type { SqlDialect } from "../../store/sql/sql-db.js";
import { identifierPattern } from "./catalog.js";
import { type ColumnType, columnTypes } from "./column-codec.js";
import { transferLimits } from "./limits.js";
import type { PortableColumn } from "./store-differences.js";
import { TransferError } from "./transfer-error.js";

/**
 * A dump is gzipped NDJSON, read and written as a stream:
 *
 *     {"format":"giftstream-export","version":1,"source":{…},"exportedAt":"…","tables":[…],"ledgerDigest":"…"}
 *     {"table":"accounts"}
 *     ["mint","COIN","0","0","1000","0","0","1780000000000","1"]
 *     …
 *     {"table":"transfers"}
 *     …
 *
 * The header lists every table in the order its section follows, with its row count and its
 * columns (name and kind: int, text or bytes; see column-codec.ts). Each row is a JSON array of
 * its values in that column order. Row counts let a reader tell a cut-off file from a whole one.
 */
export const dumpFormat = "giftstream-export";
export const dumpVersion = 1;

export interface DumpTable {
  name: string;
  rows: number;
  columns: PortableColumn[];
}

export interface DumpHeader {
  format: typeof dumpFormat;
  version: typeof dumpVersion;
  /** Where it came from, for the operator; import goes by the columns, not by this. */
  source: { dialect: SqlDialect; schemaVersion: number };
  exportedAt: string;
  tables: DumpTable[];
  /** ledgerDigest over the exported ledger: import recomputes it on the target. */
  ledgerDigest: string;
}

export const headerLine = (header: DumpHeader): string => JSON.stringify(header);
export const sectionLine = (table: string): string => JSON.stringify({ table });
export const rowLine = (values: readonly (string | null)[]): string => JSON.stringify(values);

/** The first line of a dump, checked field by field. */
export function parseHeader(line: string): DumpHeader {
  const value = parseJson(line, "the header (line 1)");
  if (!isObject(value) || value.format !== dumpFormat) {
    throw new TransferError(`not a Giftstream export: line 1 has no "format": "${dumpFormat}"`);
  }
  if (value.version !== dumpVersion) {
    throw new TransferError(
      `export format version ${JSON.stringify(value.version)} is not one this Giftstream reads (${dumpVersion})`,
    );
  }
  const source = value.source;
  if (
    !isObject(source) ||
    (source.dialect !== "sqlite" && source.dialect !== "postgres") ||
    !Number.isSafeInteger(source.schemaVersion)
  ) {
    throw new TransferError("header: source must be { dialect: sqlite or postgres, schemaVersion }");
  }
  if (typeof value.exportedAt !== "string") throw new TransferError("header: exportedAt must be a string");
  if (typeof value.ledgerDigest !== "string" || !/^[0-9a-f]{64}$/.test(value.ledgerDigest)) {
    throw new TransferError("header: ledgerDigest must be 64 hex digits");
  }
  if (!Array.isArray(value.tables) || value.tables.length > transferLimits.tablesMax) {
    throw new TransferError(`header: tables must be a list of at most ${transferLimits.tablesMax}`);
  }
  const tables = value.tables.map(parseTable);
  const names = new Set(tables.map((t) => t.name));
  if (names.size !== tables.length) throw new TransferError("header: a table is listed twice");
  return {
    format: dumpFormat,
    version: dumpVersion,
    source: { dialect: source.dialect, schemaVersion: source.schemaVersion as number },
    exportedAt: value.exportedAt,
    tables,
    ledgerDigest: value.ledgerDigest,
  };
}

function parseTable(value: unknown, index: number): DumpTable {
  const where = `header: tables[${index}]`;
  if (!isObject(value) || typeof value.name !== "string" || !identifierPattern.test(value.name)) {
    throw new TransferError(`${where}: name must be a plain identifier`);
  }
  if (!Number.isSafeInteger(value.rows) || (value.rows as number) < 0) {
    throw new TransferError(`${where} (${value.name}): rows must be a count`);
  }
  if (
    !Array.isArray(value.columns) ||
    value.columns.length === 0 ||
    value.columns.length > transferLimits.columnsMax
  ) {
    throw new TransferError(`${where} (${value.name}): columns must list 1 to ${transferLimits.columnsMax}`);
  }
  const columns = value.columns.map((c: unknown) => {
    if (
      !isObject(c) ||
      typeof c.name !== "string" ||
      !identifierPattern.test(c.name) ||
      !columnTypes.includes(c.type as ColumnType)
    ) {
      throw new TransferError(`${where} (${value.name}): each column is { name, type: int, text or bytes }`);
    }
    return { name: c.name, type: c.type as ColumnType };
  });
  if (new Set(columns.map((c) => c.name)).size !== columns.length) {
    throw new TransferError(`${where} (${value.name}): a column is listed twice`);
  }
  return { name: value.name, rows: value.rows as number, columns };
}

/** A section's first line, which must name the table the header lists next. */
export function parseSection(line: string, expected: string, lineNumber: number): void {
  const value = parseJson(line, `line ${lineNumber}`);
  if (!isObject(value) || value.table !== expected) {
    throw new TransferError(`line ${lineNumber}: expected the start of table ${expected}`);
  }
}

/** A row line of `table`: an array of as many values as it has columns, not yet decoded. */
export function parseRow(line: string, table: DumpTable, lineNumber: number): unknown[] {
  const value = parseJson(line, `line ${lineNumber} (${table.name})`);
  if (!Array.isArray(value) || value.length !== table.columns.length) {
    throw new TransferError(
      `line ${lineNumber} (${table.name}): expected a row of ${table.columns.length} values`,
    );
  }
  return value;
}

function parseJson(line: string, where: string): unknown {
  try {
    return JSON.parse(line);
  } catch {
    throw new TransferError(`${where} is not JSON`);
  }
}

function isObject(value: unknown): value is Record<string, unknown> {
  return typeof value === "object" && value !== null && !Array.isArray(value);
}
