import { GiftstreamError } from "../errors.js";
import { int64Max } from "../ledger/int64.js";

/**
 * A row id from a page cursor the schema matched as digits. Ids are 64-bit SQL integers: a larger
 * number would fail in the driver (a 500), so it is a 400 here.
 */
export function cursorRowId(text: string | undefined): bigint | null {
  if (text === undefined) return null;
  const id = BigInt(text);
  if (id > int64Max) throw new GiftstreamError("invalid_request", "cursor is not a page cursor");
  return id;
}

/**
 * Milliseconds of an RFC 3339 `date-time` the schema accepted. The format allows a leap second
 * (`23:59:60`), which `Date` cannot hold; that is a 400 rather than a NaN travelling on.
 */
export function dateTimeMs(text: string, field: string): number {
  const ms = Date.parse(text);
  if (!Number.isFinite(ms)) {
    throw new GiftstreamError("invalid_request", `${field} must be a date-time without a leap second`);
  }
  return ms;
}
