import { SealedValueError, type Sealer, sealedHeaderBytes, sealedKeyId } from "../../crypto/sealed.js";
import { invariant } from "../../errors.js";
import { type SealedColumn, sealedColumnName, sealedColumns } from "./sealed-columns.js";
import type { SqlDb } from "./sql-db.js";

/**
 * Reads and conditional writes of one row before it is left to a later run: each lost write means
 * another process changed the row between this run's read and its write.
 */
export const rowAttemptsMax = 3;

export interface ResealCounts {
  /** Sealed again under the current key by this run. */
  resealed: number;
  /** Under the current key already (sealed since the rotation, or by an earlier run): left as is. */
  current: number;
  /** Under a key this process lacks, damaged, or moved from another row: left as is, and reported. */
  unopened: number;
  /** Changed by another process at each of `rowAttemptsMax` attempts: left to a later run. */
  contended: number;
}

export interface ResealProblem {
  /** `kyc.submission` */
  column: string;
  /** The value's place, `kyc.submission:usr_1`: which row, never what it holds. */
  context: string;
  reason: string;
}

export interface ResealOptions {
  db: SqlDb;
  sealer: Sealer;
  /** `encryption.resealPageRowsMax`: rows listed per read. */
  pageRowsMax: number;
  /** Every sealed column unless given (tests). */
  columns?: readonly SealedColumn[];
  /** Each value left under an old key, as it is met: a run may meet many. */
  onProblem(problem: ResealProblem): void;
}

export interface ResealReport {
  columns: { name: string; counts: ResealCounts }[];
  /** Every value read is under the current key now: none unopened, none contended. */
  ok: boolean;
}

type Outcome = keyof ResealCounts | "gone";

interface ColumnSql {
  first: string;
  next: string;
  row: string;
  swap: string;
}

/**
 * Seals every sealed value again under the current key, column by column, in pages of the
 * primary key. A value already under the current key is skipped, so a run that stopped halfway is
 * finished by running again. Each value is rewritten only if it is still the one read (compare
 * and set), so a value another process writes meanwhile is never replaced by an older one: the
 * row is read again instead. Safe beside running servers that hold the current key.
 */
export async function resealAll(o: ResealOptions): Promise<ResealReport> {
  invariant(
    Number.isSafeInteger(o.pageRowsMax) && o.pageRowsMax > 0,
    "reseal reads pages of at least one row",
  );
  const columns: ResealReport["columns"] = [];
  for (const column of o.columns ?? sealedColumns) {
    columns.push({ name: sealedColumnName(column), counts: await resealColumn(o, column) });
  }
  const ok = columns.every(({ counts }) => counts.unopened === 0 && counts.contended === 0);
  return { columns, ok };
}

async function resealColumn(o: ResealOptions, column: SealedColumn): Promise<ResealCounts> {
  const counts: ResealCounts = { resealed: 0, current: 0, unopened: 0, contended: 0 };
  const sql = statementsOf(column);
  const limit = BigInt(o.pageRowsMax);
  let after: string | null = null;
  for (;;) {
    const page =
      after === null ? await o.db.all(sql.first, [limit]) : await o.db.all(sql.next, [after, limit]);
    for (const row of page) {
      // The page holds each value's header only: a document may be megabytes, and most values are
      // skipped on a second run.
      const outcome: Outcome = o.sealer.isCurrent(row.head as Buffer)
        ? "current"
        : await resealRow(o, column, sql, row.k as string);
      if (outcome !== "gone") counts[outcome] += 1;
    }
    if (page.length < o.pageRowsMax) return counts;
    after = page[page.length - 1]!.k as string;
  }
}

async function resealRow(
  o: ResealOptions,
  column: SealedColumn,
  sql: ColumnSql,
  key: string,
): Promise<Outcome> {
  let context = "";
  for (let attempt = 0; attempt < rowAttemptsMax; attempt++) {
    const row = await o.db.get(sql.row, [key]);
    if (row === undefined) return "gone";
    const sealed = row.sealed as Buffer;
    if (o.sealer.isCurrent(sealed)) return "current";
    context = column.context(row);
    let resealed: Buffer;
    try {
      resealed = sealAgain(o.sealer, sealed, context);
    } catch (error) {
      if (!(error instanceof SealedValueError)) throw error;
      o.onProblem({ column: sealedColumnName(column), context, reason: reasonOf(error, sealed) });
      return "unopened";
    }
    const changed = await o.db.execute([{ sql: sql.swap, params: [resealed, key, sealed] }]);
    invariant(changed === 0 || changed === 1, "a reseal writes one row, named by its primary key");
    if (changed === 1) return "resealed";
  }
  o.onProblem({
    column: sealedColumnName(column),
    context,
    reason: `changed by another process at each of ${rowAttemptsMax} attempts; run reseal again`,
  });
  return "contended";
}

/** The same plaintext at the same place, under the current key; checked before it is written. */
function sealAgain(sealer: Sealer, sealed: Buffer, context: string): Buffer {
  const plaintext = sealer.open(sealed, context);
  const resealed = sealer.seal(plaintext, context);
  invariant(sealer.isCurrent(resealed), "a resealed value is under the current key");
  invariant(
    sealer.open(resealed, context).equals(plaintext),
    "a resealed value opens to the plaintext it was sealed from",
  );
  return resealed;
}

/** Why a value did not open, with the id of the key it names (an id says nothing of the key). */
function reasonOf(error: SealedValueError, sealed: Buffer): string {
  const keyId = sealedKeyId(sealed);
  return keyId === undefined ? error.message : `${error.message} (key id ${keyId.toString("hex")})`;
}

/** Table and column names come from `sealedColumns`, never from input. */
function statementsOf(column: SealedColumn): ColumnSql {
  const { table, key } = column;
  const head = `SELECT ${key} AS k, substr(${column.column}, 1, ${sealedHeaderBytes}) AS head FROM ${table}`;
  const selected = [key, ...column.contextColumns, `${column.column} AS sealed`].join(", ");
  return {
    // A kept answer's row has no value while its request runs (http_replies): nothing to reseal.
    first: `${head} WHERE ${column.column} IS NOT NULL ORDER BY ${key} LIMIT ?`,
    next: `${head} WHERE ${column.column} IS NOT NULL AND ${key} > ? ORDER BY ${key} LIMIT ?`,
    row: `SELECT ${selected} FROM ${table} WHERE ${key} = ?`,
    swap: `UPDATE ${table} SET ${column.column} = ? WHERE ${key} = ? AND ${column.column} = ?`,
  };
}
