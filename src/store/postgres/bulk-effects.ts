import { freshJson, type JsonTexts } from "../../ledger/json-texts.js";
import type { StoreEffect } from "../../ledger/types.js";
import { statementsFor } from "../sql/effects.js";
import type { Statement } from "../sql/sql-db.js";
import { numbered } from "./placeholders.js";

/**
 * The effects of one batch as PostgreSQL statements. A gift batch carries a gift row and two
 * activity rows per gift; one statement each would cost a round trip per row, so those two kinds
 * are written as one multi-row insert per kind (the same SQL as effects.ts, its VALUES repeated).
 * Every other effect keeps its own statements, in the order the requests carried them.
 */
export function postgresEffectStatements(
  effects: readonly StoreEffect[],
  texts: JsonTexts = freshJson,
): Statement[] {
  const grouped = new Map<string, unknown[][]>();
  const out: Statement[] = [];
  for (const effect of effects) {
    const statements = statementsFor(effect, "postgres", texts);
    if (bulkTypes.has(effect.type) && statements.length === 1) {
      const { sql, params } = statements[0]!;
      let rows = grouped.get(sql);
      if (rows === undefined) {
        rows = [];
        grouped.set(sql, rows);
      }
      rows.push(params);
    } else {
      out.push(...statements.map((s) => ({ sql: numbered(s.sql), params: s.params })));
    }
  }
  const bulk: Statement[] = [];
  for (const [sql, rows] of grouped) {
    for (let i = 0; i < rows.length; i += rowsPerInsert)
      bulk.push(multiRow(sql, rows.slice(i, i + rowsPerInsert)));
  }
  // Rows first: a later effect of the same batch (a maturation, a reversal) may update a gift row
  // this batch inserts.
  return [...bulk, ...out];
}

/** Plain inserts of new rows: no conflict clause, so their order within the batch does not matter. */
const bulkTypes: ReadonlySet<string> = new Set(["gift.record", "activity.record"]);

/** Well under PostgreSQL's 65,535 bound parameters for the widest row (14 columns). */
const rowsPerInsert = 2_000;

const valuesPattern = /^([\s\S]*\bVALUES\s*)(\([^()]*\))(\s*)$/;

/** `INSERT … VALUES (?, …)` with its VALUES list repeated once per row, numbered for PostgreSQL. */
function multiRow(sql: string, rows: readonly unknown[][]): Statement {
  const match = valuesPattern.exec(sql);
  if (match === null) throw new Error(`not a single-row INSERT … VALUES statement: ${sql}`);
  const [, head, tuple] = match;
  let n = 0;
  // Literals in the tuple ('pending') are kept; only placeholders are numbered.
  const tuples = rows.map(() => tuple!.replace(/\?/g, () => `$${++n}`));
  return { sql: `${head!}${tuples.join(", ")}`, params: rows.flat() };
}
