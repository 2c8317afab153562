import { GiftstreamError } from "../errors.js";
import { int64Max } from "./int64.js";

/** Cursors are opaque to clients; inside, one names the last transfer id of the previous page. */
export function encodeCursor(lastId: bigint): string {
  return Buffer.from(`t:${lastId}`).toString("base64url");
}

export function decodeCursor(cursor: string): bigint {
  const text = cursor.length <= 64 ? Buffer.from(cursor, "base64url").toString() : "";
  const match = /^t:([1-9][0-9]{0,18})$/.exec(text);
  const id = match ? BigInt(match[1]!) : 0n;
  // Ids are signed 64-bit in every store; anything past that was never issued.
  if (id === 0n || id > int64Max)
    throw new GiftstreamError("invalid_request", "cursor is not one this server issued");
  return id;
}
