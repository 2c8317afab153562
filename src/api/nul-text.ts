import { GiftstreamError } from "../errors.js";

/** Deepest nesting walked; request schemas are far shallower, and deeper bodies are refused by them. */
const depthMax = 32;

/**
 * Whether any string in `value` (a parsed body, the query or the path parameters) holds the NUL
 * character. PostgreSQL text cannot store it, so such a request would fail in the database (a 500,
 * or, for a value that rides a group-commit batch, the whole batch); it is refused up front, with
 * a 400 on both stores.
 */
export function holdsNul(value: unknown, depth = 0): boolean {
  if (typeof value === "string") return value.includes("\u0000");
  if (depth >= depthMax || typeof value !== "object" || value === null) return false;
  if (Array.isArray(value)) return value.some((item) => holdsNul(item, depth + 1));
  for (const [key, item] of Object.entries(value)) {
    if (key.includes("\u0000") || holdsNul(item, depth + 1)) return true;
  }
  return false;
}

export function refuseNul(parts: readonly unknown[]): void {
  if (parts.some((part) => holdsNul(part))) {
    throw new GiftstreamError("invalid_request", "text must not contain the NUL character (U+0000)");
  }
}
