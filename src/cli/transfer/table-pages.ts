import { invariant } from "../../errors.js";
import { quoted } from "./catalog.js";
import type { Reader } from "./snapshot.js";
import { type PortableTable, portableRowsWhere } from "./store-differences.js";

export interface PageLimits {
  /** Rows per page. */
  pageRowsMax: number;
  /** Bytes of binary columns per page, for tables that have any; a larger row comes alone. */
  pageBytesMax: number;
}

/**
 * Every portable row of `table` in primary key order, a page at a time, each row as its values in
 * the table's column order. Keyset paging (`WHERE (key) > (last) ORDER BY key LIMIT n`): each page
 * is an index range, however deep into the table, and nothing holds more than a page.
 */
export async function* tablePages(
  reader: Reader,
  table: PortableTable,
  limits: PageLimits,
): AsyncGenerator<unknown[][]> {
  const keyIndexes = table.key.map((k) => table.columns.findIndex((c) => c.name === k));
  invariant(
    keyIndexes.every((i) => i >= 0),
    `the key of ${table.name} is among its columns`,
  );
  const keyList = table.key.map(quoted).join(", ");
  const filter = portableRowsWhere(table.name, reader.dialect);
  const binary = table.columns.filter((c) => c.type === "bytes").map((c) => c.name);
  const select = table.columns.map((c) => quoted(c.name)).join(", ");
  let after: unknown[] | null = null;
  for (;;) {
    const conditions = [
      filter,
      after === null ? null : `(${keyList}) > (${after.map(() => "?").join(", ")})`,
    ];
    const where = conditions.filter((c) => c !== null).join(" AND ");
    const from = `FROM ${quoted(table.name)}${where === "" ? "" : ` WHERE ${where}`} ORDER BY ${keyList}`;
    const params = after ?? [];
    const limit =
      binary.length === 0 ? limits.pageRowsMax : await sizedLimit(reader, binary, from, params, limits);
    if (limit === 0) return;
    const rows = await reader.all(`SELECT ${select} ${from} LIMIT ?`, [...params, limit]);
    if (rows.length === 0) return;
    const page = rows.map((row) => table.columns.map((c) => row[c.name]));
    yield page;
    if (rows.length < limit) return;
    const last = page.at(-1)!;
    after = keyIndexes.map((i) => last[i]);
  }
}

/**
 * How many of the next rows fit in `pageBytesMax` of binary data (at least one, none at the end).
 * Both databases give a BLOB's or bytea's length from its header without reading it.
 */
async function sizedLimit(
  reader: Reader,
  binary: readonly string[],
  from: string,
  params: readonly unknown[],
  limits: PageLimits,
): Promise<number> {
  const size = binary.map((c) => `COALESCE(octet_length(${quoted(c)}), 0)`).join(" + ");
  const sizes = await reader.all(`SELECT ${size} AS n ${from} LIMIT ?`, [...params, limits.pageRowsMax]);
  let bytes = 0;
  let rows = 0;
  for (const { n } of sizes) {
    bytes += Number(n);
    if (rows > 0 && bytes > limits.pageBytesMax) break;
    rows += 1;
  }
  return rows;
}

/** How many portable rows `table` has: what `tablePages` yields in all. */
export async function countRows(reader: Reader, table: string): Promise<number> {
  const where = portableRowsWhere(table, reader.dialect);
  const [row] = await reader.all(
    `SELECT COUNT(*) AS n FROM ${quoted(table)}${where === null ? "" : ` WHERE ${where}`}`,
  );
  return Number(row!.n);
}
