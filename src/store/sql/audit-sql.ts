import type { AuditEntry } from "../../access/access-store.js";
import type { SqlDialect, Statement } from "./sql-db.js";

const insertInto = "INSERT INTO audit_log (actor, action, target, before, after, at)";

/**
 * How an audit entry is written beside the change it records, in the change's transaction. A
 * conditional change (a key revoked unless it is the last admin key, a KYC review of the
 * submission the reviewer saw) is audited only when it took place: on SQLite by the statement
 * after it, through `changes()`; on PostgreSQL, which has no `changes()`, by one statement whose
 * insert reads the rows the change returned.
 */
export const auditSql = {
  insert: `${insertInto} VALUES (?, ?, ?, ?, ?, ?)`,
  /** SQLite: written only when the statement just before changed exactly one row. */
  ifChangedSqlite: `${insertInto} SELECT ?, ?, ?, ?, ?, ? WHERE changes() = 1`,
  /**
   * PostgreSQL: `WITH … ${cte} AS (… RETURNING …)` before it; one entry per row `cte` returned.
   * The parameters are typed: a SELECT list does not take its types from the INSERT's columns.
   */
  fromPostgres: (cte: string) =>
    `${insertInto} SELECT ?::text, ?::text, ?::text, ?::text, ?::text, ?::bigint FROM ${cte}`,
};

/**
 * A conditional change of at most one row and its audit entry, written only when the change took
 * place: on SQLite the change, then the entry through `changes()`; on PostgreSQL one statement.
 * Either way the statements count 2 or 1 changed rows when it took place, 0 when it did not.
 */
export function auditedChange(dialect: SqlDialect, change: Statement, audit: AuditEntry): Statement[] {
  if (dialect === "postgres") {
    return [
      {
        sql: `WITH changed AS (${change.sql} RETURNING 1) ${auditSql.fromPostgres("changed")}`,
        params: [...change.params, ...auditParams(audit)],
      },
    ];
  }
  return [change, { sql: auditSql.ifChangedSqlite, params: auditParams(audit) }];
}

/** An entry's parameters, in the column order of `auditSql`; before and after as JSON text. */
export function auditParams(entry: AuditEntry): unknown[] {
  return [
    entry.actor,
    entry.action,
    entry.target,
    entry.before === undefined ? null : JSON.stringify(entry.before),
    entry.after === undefined ? null : JSON.stringify(entry.after),
    BigInt(entry.at),
  ];
}
