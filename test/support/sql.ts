import type { Row, SqlDb } from "../../src/store/sql/sql-db.js";

/**
 * Reads straight from the database under a test app, in SQL both stores run (`app.runtime.store`
 * is a SQLite file or a PostgreSQL schema): what the HTTP suites check behind the API's back.
 */

/** `COUNT(*)` of a table, optionally with a `WHERE` clause (`"status = 'paid'"`). */
export async function count(db: SqlDb, table: string, where?: string): Promise<bigint> {
  const row = await db.get(`SELECT COUNT(*) AS n FROM ${table}${where ? ` WHERE ${where}` : ""}`);
  return BigInt(row!.n as bigint);
}

/** Every table of the database (the test's schema on PostgreSQL), by name. */
export async function tableNames(db: SqlDb): Promise<string[]> {
  const rows =
    db.dialect === "sqlite"
      ? await db.all("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name")
      : await db.all(
          `SELECT table_name AS name FROM information_schema.tables
           WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
        );
  return rows.map((r) => String(r.name));
}

/** A table's column names, in their declared order. */
async function columnNames(db: SqlDb, table: string): Promise<string[]> {
  const rows =
    db.dialect === "sqlite"
      ? await db.all("SELECT name FROM pragma_table_info(?) ORDER BY cid", [table])
      : await db.all(
          `SELECT column_name AS name FROM information_schema.columns
           WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`,
          [table],
        );
  return rows.map((r) => String(r.name));
}

/**
 * Every row of a table, ordered by all its columns: PostgreSQL has no implicit row order, so two
 * reads of an unchanged table compare equal only if the order is spelled out.
 */
export async function tableRows(db: SqlDb, table: string): Promise<Row[]> {
  const columns = await columnNames(db, table);
  const order = columns.map((c) => `"${c}"`).join(", ");
  return db.all(`SELECT * FROM "${table}"${order ? ` ORDER BY ${order}` : ""}`);
}

/** Makes the audit log refuse every write, as a full disk or a broken table would. */
export async function refuseAuditWrites(db: SqlDb): Promise<void> {
  await db.execute(
    db.dialect === "sqlite"
      ? [
          {
            sql: "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log BEGIN SELECT RAISE(ABORT, 'audit down'); END",
            params: [],
          },
        ]
      : [
          {
            sql: "CREATE FUNCTION no_audit() RETURNS trigger LANGUAGE plpgsql AS $f$ BEGIN RAISE EXCEPTION 'audit down'; END $f$",
            params: [],
          },
          {
            sql: "CREATE TRIGGER no_audit BEFORE INSERT ON audit_log FOR EACH ROW EXECUTE FUNCTION no_audit()",
            params: [],
          },
        ],
  );
}

/** Lets the audit log take writes again after `refuseAuditWrites`. */
export async function allowAuditWrites(db: SqlDb): Promise<void> {
  await db.execute([
    { sql: `DROP TRIGGER no_audit${db.dialect === "postgres" ? " ON audit_log" : ""}`, params: [] },
  ]);
}
