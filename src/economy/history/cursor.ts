import { GiftstreamError } from "../../errors.js";
import { int64Max } from "../../ledger/int64.js";
import { type HistoryPosition, HistorySource } from "./activity.js";

/**
 * The page cursor of a user's history: its last entry's position, `<at>.<source>.<key>` in
 * base64url, so that clients treat it as opaque. A cursor is parsed strictly, since its parts go
 * into SQL as bound values: anything this service did not hand out is a 400, never a 500.
 */
const positionPattern = /^(0|[1-9][0-9]{0,15})\.([0-2])\.([A-Za-z0-9_-]{1,64})$/;
/** Longest cursor text this service hands out, with room: a position is at most 84 characters. */
export const historyCursorCharsMax = 128;

export function historyCursorOf(position: HistoryPosition): string {
  return Buffer.from(`${position.at}.${position.source}.${position.key}`).toString("base64url");
}

export function historyPositionOf(cursor: string): HistoryPosition {
  const refuse = () => new GiftstreamError("invalid_request", "cursor is not one this endpoint gave");
  if (cursor.length > historyCursorCharsMax || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw refuse();
  const match = positionPattern.exec(Buffer.from(cursor, "base64url").toString("latin1"));
  if (!match) throw refuse();
  const at = Number(match[1]);
  const source = Number(match[2]) as HistorySource;
  const key = match[3]!;
  if (!Number.isSafeInteger(at)) throw refuse();
  // An activity row's key is its 64-bit id; a gift's is its id, which never is digits alone.
  if (source === HistorySource.activity && (!/^[1-9][0-9]{0,18}$/.test(key) || BigInt(key) > int64Max)) {
    throw refuse();
  }
  if (source !== HistorySource.activity && /^[0-9]+$/.test(key)) throw refuse();
  return { at, source, key };
}
