/** Most distinct statements whose numbered form is kept: the stores have a few hundred. */
const cachedMax = 2_000;
const cache = new Map<string, string>();

/**
 * The statement with each `?` placeholder numbered `$1`, `$2`, … for PostgreSQL, so the stores
 * keep one SQL text for both databases. A `?` inside a quoted string or identifier, or in a
 * comment, is left alone. Pure and cached: the same statements are numbered on every request.
 */
export function numbered(sql: string): string {
  const hit = cache.get(sql);
  if (hit !== undefined) return hit;
  let out = "";
  let n = 0;
  let i = 0;
  while (i < sql.length) {
    const c = sql[i]!;
    if (c === "'" || c === '"') {
      const end = closing(sql, i, c);
      out += sql.slice(i, end);
      i = end;
    } else if (c === "-" && sql[i + 1] === "-") {
      const end = sql.indexOf("\n", i);
      const stop = end === -1 ? sql.length : end;
      out += sql.slice(i, stop);
      i = stop;
    } else if (c === "?") {
      n += 1;
      out += `$${n}`;
      i += 1;
    } else {
      out += c;
      i += 1;
    }
  }
  if (cache.size >= cachedMax) cache.clear();
  cache.set(sql, out);
  return out;
}

/** The index just past the quote that closes the one at `start`; a doubled quote is an escape. */
function closing(sql: string, start: number, quote: string): number {
  let i = start + 1;
  while (i < sql.length) {
    if (sql[i] === quote) {
      if (sql[i + 1] === quote) i += 2;
      else return i + 1;
    } else {
      i += 1;
    }
  }
  return sql.length;
}
