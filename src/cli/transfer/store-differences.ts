import { PendingStatus } from "../../ledger/types.js";
import type { SqlDialect } from "../../store/sql/sql-db.js";
import type { CatalogTable } from "./catalog.js";
import type { ColumnType } from "./column-codec.js";
import { TransferError } from "./transfer-error.js";

/**
 * Where the SQLite and PostgreSQL schemas differ, mapped to one portable form that a dump carries
 * (src/store/postgres/migrations.ts explains why they differ). Everything not named here is the
 * same column for column in both, and import checks that it is.
 */
export interface PortableColumn {
  name: string;
  type: ColumnType;
}

export interface PortableTable {
  name: string;
  columns: PortableColumn[];
  /** Primary key columns, for paging. */
  key: string[];
}

/**
 * SQLite tables whose implicit rowid the domain stores read (the live feed's event ids, the order
 * of lots and payout methods): carried as a `rowid` column, which is PostgreSQL's explicit identity
 * column of that name. Other implicit rowids (SQLite's `accounts`, the ledger writer's own row
 * handle) are not data: import numbers them afresh.
 */
export const implicitRowidTables: ReadonlySet<string> = new Set(["gifts", "purchases", "payout_methods"]);
export const rowidColumn = "rowid";

/**
 * PostgreSQL keeps a closed hold's row with a status (0 open, 1 posted, 2 voided); SQLite keeps
 * open holds only. A dump carries open holds, without the status: a closed hold is the pending
 * transfer and the transfer that closed it, both in `transfers`, and an import into PostgreSQL
 * writes those rows back from them (see restoreClosedHolds).
 */
export const holds = { table: "holds", status: "status", open: BigInt(PendingStatus.open) } as const;

/** The ledger's tables first, in the order its rows refer to each other, then the rest by name. */
const ledgerOrder = ["accounts", "transfers", "holds", "idempotency"];

export function portableTable(table: CatalogTable, dialect: SqlDialect): PortableTable {
  let columns: PortableColumn[] = table.columns.map(({ name, type }) => ({ name, type }));
  if (dialect === "sqlite" && implicitRowidTables.has(table.name)) {
    if (columns.some((c) => c.name === rowidColumn)) {
      throw new TransferError(
        `SQLite table ${table.name} has a column named rowid; export expects the implicit one`,
      );
    }
    columns = [...columns, { name: rowidColumn, type: "int" }];
  }
  if (dialect === "postgres" && table.name === holds.table) {
    if (!columns.some((c) => c.name === holds.status)) {
      throw new TransferError("PostgreSQL table holds has no status column");
    }
    columns = columns.filter((c) => c.name !== holds.status);
  }
  return { name: table.name, columns, key: table.key };
}

/** The condition that picks a table's portable rows, if not all of them: open holds on PostgreSQL. */
export function portableRowsWhere(table: string, dialect: SqlDialect): string | null {
  return dialect === "postgres" && table === holds.table ? `"${holds.status}" = ${holds.open}` : null;
}

/** Columns an import sets that a dump does not carry: a PostgreSQL hold from a dump is open. */
export function importConstants(table: string, dialect: SqlDialect): { column: string; value: bigint }[] {
  return dialect === "postgres" && table === holds.table ? [{ column: holds.status, value: holds.open }] : [];
}

export function orderTables<T extends { name: string }>(tables: readonly T[]): T[] {
  const rank = (name: string) => {
    const i = ledgerOrder.indexOf(name);
    return i === -1 ? ledgerOrder.length : i;
  };
  return [...tables].sort(
    (a, b) => rank(a.name) - rank(b.name) || (a.name < b.name ? -1 : a.name > b.name ? 1 : 0),
  );
}

/**
 * Every way the tables of a dump and of the target database differ, as sentences: a table in one
 * and not the other, a column missing or of another kind. Empty when the dump loads as it is.
 */
export function tableDifferences(
  dump: readonly Pick<PortableTable, "name" | "columns">[],
  target: readonly Pick<PortableTable, "name" | "columns">[],
): string[] {
  const problems: string[] = [];
  const targetByName = new Map(target.map((t) => [t.name, t]));
  const dumpNames = new Set(dump.map((t) => t.name));
  for (const table of dump) {
    const other = targetByName.get(table.name);
    if (other === undefined) {
      problems.push(`table ${table.name} is in the dump but not in the target database`);
      continue;
    }
    const theirs = new Map(other.columns.map((c) => [c.name, c.type]));
    const ours = new Set(table.columns.map((c) => c.name));
    for (const column of table.columns) {
      const type = theirs.get(column.name);
      if (type === undefined)
        problems.push(`column ${table.name}.${column.name} is in the dump but not in the target`);
      else if (type !== column.type) {
        problems.push(
          `column ${table.name}.${column.name} is ${column.type} in the dump but ${type} in the target`,
        );
      }
    }
    for (const column of other.columns) {
      if (!ours.has(column.name))
        problems.push(`column ${table.name}.${column.name} is in the target but not in the dump`);
    }
  }
  for (const table of target) {
    if (!dumpNames.has(table.name))
      problems.push(`table ${table.name} is in the target database but not in the dump`);
  }
  return problems;
}
