import { GiftstreamError } from "../errors.js";
import { unstorableTextDetail } from "../ledger/validate.js";

/** Deepest nesting walked; request schemas are far shallower, and deeper bodies are refused by them. */
const depthMax = 32;

function unstorable(text: string): boolean {
  return text.includes("\u0000") || !text.isWellFormed();
}

/**
 * Whether any string in `value` (a parsed body, the query or the path parameters) holds the NUL
 * character or a lone UTF-16 surrogate (JSON's `"\ud800"` parses to one). PostgreSQL text cannot
 * store a NUL, and its JSON parser refuses a lone surrogate in the lists a batch binds, so such a
 * request would fail in the database (a 500, or, for a value that rides a group-commit batch,
 * the whole batch); SQLite would keep U+FFFD instead of what was sent. It is refused up front,
 * with a 400 on both stores.
 */
export function holdsUnstorable(value: unknown, depth = 0): boolean {
  if (typeof value === "string") return unstorable(value);
  if (depth >= depthMax || typeof value !== "object" || value === null) return false;
  // A raw body (signed webhooks, KYC uploads) is bytes, not text: walked as an object, each byte
  // would be its own entry, about 0.6 s of blocked event loop per MiB.
  if (ArrayBuffer.isView(value)) return false;
  if (Array.isArray(value)) return value.some((item) => holdsUnstorable(item, depth + 1));
  for (const [key, item] of Object.entries(value)) {
    if (unstorable(key) || holdsUnstorable(item, depth + 1)) return true;
  }
  return false;
}

export function refuseUnstorable(parts: readonly unknown[]): void {
  if (parts.some((part) => holdsUnstorable(part))) {
    throw new GiftstreamError("invalid_request", unstorableTextDetail);
  }
}
