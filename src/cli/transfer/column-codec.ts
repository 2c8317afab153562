import { int64Max } from "../../ledger/int64.js";
import { TransferError } from "./transfer-error.js";

/**
 * The three kinds of column both schemas use, each with one encoding in a dump. The kind comes
 * from the schema (SQLite's declared type, PostgreSQL's data type), never from a value, so that a
 * text that looks like a number stays text and an empty BLOB stays binary.
 * - `int`: INTEGER / bigint, integer, smallint; a decimal string, since JSON numbers lose
 *   precision past 2^53;
 * - `text`: TEXT / text; the JSON string;
 * - `bytes`: BLOB / bytea; canonical base64.
 * NULL is JSON null in every kind.
 */
export type ColumnType = "int" | "text" | "bytes";

export const columnTypes: readonly ColumnType[] = ["int", "text", "bytes"];

const int64Min = -int64Max - 1n;
const decimal = /^-?(0|[1-9][0-9]{0,18})$/;

/** A value as read from either database, in its dump form. `where` names it in errors. */
export function encodeValue(type: ColumnType, value: unknown, where: string): string | null {
  if (value === null) return null;
  switch (type) {
    case "int":
      // better-sqlite3 reads bigint; pg reads bigint columns as bigint and smaller ones as number.
      if (typeof value === "bigint") return value.toString();
      if (typeof value === "number" && Number.isSafeInteger(value)) return String(value);
      break;
    case "text":
      if (typeof value === "string") return value;
      break;
    case "bytes":
      if (value instanceof Uint8Array)
        return Buffer.from(value.buffer, value.byteOffset, value.byteLength).toString("base64");
      break;
  }
  throw new TransferError(`${where}: a ${type} column holds ${describe(value)}`);
}

/** A dump value back to what both database drivers bind: bigint, string, Buffer or null. */
export function decodeValue(
  type: ColumnType,
  encoded: unknown,
  where: string,
): bigint | string | Buffer | null {
  if (encoded === null) return null;
  if (typeof encoded !== "string") {
    throw new TransferError(
      `${where}: expected a string or null for a ${type} column, found ${describe(encoded)}`,
    );
  }
  switch (type) {
    case "int": {
      if (!decimal.test(encoded)) throw new TransferError(`${where}: "${clip(encoded)}" is not an integer`);
      const n = BigInt(encoded);
      if (n < int64Min || n > int64Max) throw new TransferError(`${where}: ${encoded} is outside 64 bits`);
      return n;
    }
    case "text":
      return encoded;
    case "bytes": {
      const bytes = Buffer.from(encoded, "base64");
      // Node's decoder skips what is not base64: only a canonical string round-trips.
      if (bytes.toString("base64") !== encoded) {
        throw new TransferError(`${where}: "${clip(encoded)}" is not canonical base64`);
      }
      return bytes;
    }
  }
}

function describe(value: unknown): string {
  if (value instanceof Uint8Array) return "bytes";
  if (typeof value === "number") return Number.isSafeInteger(value) ? "a number" : `the number ${value}`;
  return typeof value === "object" ? (Array.isArray(value) ? "an array" : "an object") : `a ${typeof value}`;
}

function clip(text: string): string {
  return text.length > 40 ? `${text.slice(0, 40)}…` : text;
}
