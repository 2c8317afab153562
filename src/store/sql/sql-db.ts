/**
 * The one SQL port the domain stores are written against, so that the same store code and the
 * same SQL text run on the embedded SQLite file and on a shared PostgreSQL database. SQL is
 * written with `?` placeholders and in the dialect both understand (`ON CONFLICT`, `UPDATE … FROM`,
 * window functions, `COALESCE`); where the two differ, a store asks `dialect`.
 *
 * Integers read back as `bigint` on both (better-sqlite3 with safe integers; the pg pool's int8
 * parser). An aggregate over bigint on PostgreSQL is `numeric`, read as an exact string, so a
 * store converts sums with `BigInt(…)` rather than casting the type.
 */
export type Row = Record<string, unknown>;

/** An integer a SUM (or COUNT) read back: bigint on SQLite, an exact numeric string on PostgreSQL. */
export function bigintOf(value: unknown): bigint {
  return BigInt(value as bigint | string);
}

/** A statement with its parameters, in `?` form. */
export interface Statement {
  sql: string;
  params: unknown[];
}

export type SqlDialect = "sqlite" | "postgres";

export interface SqlDb {
  readonly dialect: SqlDialect;
  /** Every row of one read, in the statement's order. */
  all(sql: string, params?: readonly unknown[]): Promise<Row[]>;
  /** The first row of one read, if any. */
  get(sql: string, params?: readonly unknown[]): Promise<Row | undefined>;
  /**
   * Control-plane writes (keys, users, economy versions, audit, endpoints, …): the statements run
   * in order in one transaction, outside the ledger. Resolves, once committed, with the number of
   * rows they changed in all.
   */
  execute(statements: readonly Statement[]): Promise<number>;
}
