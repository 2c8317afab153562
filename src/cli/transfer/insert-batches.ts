import type { Statement } from "../../store/sql/sql-db.js";
import { quoted } from "./catalog.js";
import { transferLimits } from "./limits.js";

/** How one table's rows go into the target database. */
export interface InsertPlan {
  table: string;
  /** The dump's columns, in the order of its row arrays. */
  columns: readonly string[];
  /** Columns the dump does not carry, set to the same value on every row (see importConstants). */
  constants: readonly { column: string; value: bigint }[];
  /** PostgreSQL: an identity column is among the columns, and its value is the dump's. */
  overriding: boolean;
}

/** Rows per statement for a table of `width` columns: within the row and the parameter limits. */
export function batchRowsMax(width: number): number {
  return Math.max(
    1,
    Math.min(transferLimits.insertRowsMax, Math.floor(transferLimits.insertParamsMax / width)),
  );
}

/** One multi-row INSERT of `rows` (each in the plan's column order), in `?` form for either database. */
export function insertStatement(plan: InsertPlan, rows: readonly (readonly unknown[])[]): Statement {
  const names = [...plan.columns, ...plan.constants.map((c) => c.column)];
  const tuple = `(${names.map(() => "?").join(", ")})`;
  const constants = plan.constants.map((c) => c.value);
  const params: unknown[] = [];
  for (const row of rows) params.push(...row, ...constants);
  return {
    sql: `INSERT INTO ${quoted(plan.table)} (${names.map(quoted).join(", ")})${plan.overriding ? " OVERRIDING SYSTEM VALUE" : ""} VALUES ${rows.map(() => tuple).join(", ")}`,
    params,
  };
}
