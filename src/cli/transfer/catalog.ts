import type { ColumnType } from "./column-codec.js";
import type { Reader } from "./snapshot.js";
import { TransferError } from "./transfer-error.js";

export interface CatalogColumn {
  name: string;
  type: ColumnType;
  /** PostgreSQL identity column (GENERATED … AS IDENTITY): an insert of its value needs OVERRIDING SYSTEM VALUE. */
  identity: boolean;
}

/** A table as its database declares it, before the differences between the stores are mapped. */
export interface CatalogTable {
  name: string;
  columns: CatalogColumn[];
  /** The primary key's columns, in key order: the export pages by it. */
  key: string[];
}

/** Each store's own record of its migrations; not data, and numbered differently per store. */
const versionTables = new Set(["schema_migrations"]);

/** Names the transfer code puts in SQL, quoted; anything else is refused rather than escaped. */
export const identifierPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/** `"name"`, for a name already checked against identifierPattern. */
export const quoted = (name: string): string => `"${name}"`;

/** Every data table of the migrated schema, by name, read from the database itself. */
export async function readCatalog(reader: Reader): Promise<CatalogTable[]> {
  const names = await tableNames(reader);
  const tables: CatalogTable[] = [];
  for (const name of names) {
    if (versionTables.has(name)) continue;
    checkIdentifier(name, "table");
    const table =
      reader.dialect === "sqlite" ? await sqliteTable(reader, name) : await postgresTable(reader, name);
    for (const column of table.columns) checkIdentifier(column.name, `column of ${name}`);
    if (table.key.length === 0) throw new TransferError(`table ${name} has no primary key to page by`);
    tables.push(table);
  }
  return tables;
}

async function tableNames(reader: Reader): Promise<string[]> {
  const rows =
    reader.dialect === "sqlite"
      ? await reader.all(
          "SELECT name FROM sqlite_schema WHERE type = 'table' AND name NOT LIKE 'sqlite\\_%' ESCAPE '\\' ORDER BY name",
        )
      : await reader.all(
          `SELECT table_name AS name FROM information_schema.tables
           WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' ORDER BY table_name`,
        );
  return rows.map((row) => String(row.name));
}

async function sqliteTable(reader: Reader, name: string): Promise<CatalogTable> {
  const rows = await reader.all("SELECT name, type, pk FROM pragma_table_info(?) ORDER BY cid", [name]);
  const columns = rows.map((row) => ({
    name: String(row.name),
    type: sqliteType(String(row.type), name, String(row.name)),
    identity: false,
  }));
  const key = rows
    .filter((row) => Number(row.pk) > 0)
    .sort((a, b) => Number(a.pk) - Number(b.pk))
    .map((row) => String(row.name));
  return { name, columns, key };
}

async function postgresTable(reader: Reader, name: string): Promise<CatalogTable> {
  const rows = await reader.all(
    `SELECT column_name AS name, data_type AS type, is_identity AS identity FROM information_schema.columns
     WHERE table_schema = current_schema() AND table_name = ? ORDER BY ordinal_position`,
    [name],
  );
  const columns = rows.map((row) => ({
    name: String(row.name),
    type: postgresType(String(row.type), name, String(row.name)),
    identity: row.identity === "YES",
  }));
  const keyRows = await reader.all(
    `SELECT k.column_name AS name FROM information_schema.table_constraints c
     JOIN information_schema.key_column_usage k
       ON k.constraint_schema = c.constraint_schema AND k.constraint_name = c.constraint_name
      AND k.table_name = c.table_name
     WHERE c.table_schema = current_schema() AND c.table_name = ? AND c.constraint_type = 'PRIMARY KEY'
     ORDER BY k.ordinal_position`,
    [name],
  );
  return { name, columns, key: keyRows.map((row) => String(row.name)) };
}

/** STRICT tables declare one of these; anything else would need an encoding of its own. */
function sqliteType(declared: string, table: string, column: string): ColumnType {
  switch (declared.toUpperCase()) {
    case "INTEGER":
    case "INT":
      return "int";
    case "TEXT":
      return "text";
    case "BLOB":
      return "bytes";
    default:
      throw new TransferError(`column ${table}.${column} has type ${declared}, which export does not carry`);
  }
}

function postgresType(dataType: string, table: string, column: string): ColumnType {
  switch (dataType) {
    case "bigint":
    case "integer":
    case "smallint":
      return "int";
    case "text":
      return "text";
    case "bytea":
      return "bytes";
    default:
      throw new TransferError(`column ${table}.${column} has type ${dataType}, which export does not carry`);
  }
}

function checkIdentifier(name: string, what: string): void {
  if (!identifierPattern.test(name))
    throw new TransferError(`${what} name ${JSON.stringify(name)} is not a plain identifier`);
}
