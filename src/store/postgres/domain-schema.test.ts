import Database from "better-sqlite3";
import type pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { migrate } from "../sqlite/migrate.js";
import { migrations } from "../sqlite/migrations.js";
import { migratePostgres } from "./migrate.js";
import { openPool } from "./pool.js";
import { createTestSchema, requirePostgres, testDatabaseUrl } from "./postgres.testkit.js";

const available = await requirePostgres();

/**
 * Columns PostgreSQL has and SQLite has not, on purpose: the closed holds keep their row with a
 * status (see the header of ./migrations.ts).
 */
const postgresOnlyColumns: Record<string, readonly string[]> = { holds: ["status"] };

/** The tables whose SQLite store SQL reads the implicit rowid, and which so have a `rowid` column here. */
const rowidTables = ["gifts", "payout_methods", "purchases"];

/** The same columns, as SQLite declares them and as PostgreSQL must type them in the domain tables. */
const postgresTypeOf: Record<string, string> = { INTEGER: "bigint", TEXT: "text", BLOB: "bytea" };

interface Column {
  name: string;
  type: string;
  notNull: boolean;
  /** The default's text without PostgreSQL's cast (`'x'::text` is `'x'`), or null. */
  defaultValue: string | null;
  primaryKey: boolean;
}

interface Table {
  columns: Map<string, Column>;
  /** SQLite: the INTEGER PRIMARY KEY column, which is the rowid under another name. */
  rowidAlias: string | null;
  /** SQLite: a rowid table whose rowid is not an INTEGER PRIMARY KEY column's alias. */
  implicitRowid: boolean;
  /** One line per index, key constraints included: `unique (a, b) partial`; named if made by CREATE INDEX. */
  indexes: string[];
}

function indexLine(name: string | null, unique: boolean, columns: readonly string[], partial: boolean) {
  return `${name ?? ""} ${unique ? "unique " : ""}(${columns.join(", ")})${partial ? " partial" : ""}`.trim();
}

function sqliteSchema(db: Database.Database): Map<string, Table> {
  const tables = new Map<string, Table>();
  const listed = db
    .prepare(
      "SELECT name, wr FROM pragma_table_list WHERE schema = 'main' AND type = 'table' AND name NOT LIKE 'sqlite_%' AND name <> 'schema_migrations'",
    )
    .all() as { name: string; wr: number }[];
  for (const { name, wr } of listed) {
    const info = db.prepare("SELECT * FROM pragma_table_info(?)").all(name) as {
      name: string;
      type: string;
      notnull: number;
      dflt_value: string | null;
      pk: number;
    }[];
    const keyColumns = info.filter((c) => c.pk > 0).sort((a, b) => a.pk - b.pk);
    const rowidAlias = keyColumns.length === 1 && keyColumns[0]!.type.toUpperCase() === "INTEGER";
    const indexes = (
      db.prepare("SELECT * FROM pragma_index_list(?)").all(name) as {
        name: string;
        unique: number;
        origin: string;
        partial: number;
      }[]
    ).map((index) => {
      const columns = (
        db.prepare("SELECT name FROM pragma_index_info(?) ORDER BY seqno").all(index.name) as {
          name: string;
        }[]
      ).map((c) => c.name);
      return indexLine(
        index.origin === "c" ? index.name : null,
        index.unique === 1,
        columns,
        index.partial === 1,
      );
    });
    // An INTEGER PRIMARY KEY is the table's b-tree key, not an index, and so not in the list.
    if (rowidAlias) indexes.push(indexLine(null, true, [keyColumns[0]!.name], false));
    tables.set(name, {
      columns: new Map(
        info.map((c) => [
          c.name,
          {
            name: c.name,
            type: c.type.toUpperCase(),
            notNull: c.notnull === 1,
            defaultValue: c.dflt_value,
            primaryKey: c.pk > 0,
          },
        ]),
      ),
      rowidAlias: rowidAlias ? keyColumns[0]!.name : null,
      implicitRowid: wr === 0 && !rowidAlias,
      indexes: indexes.sort(),
    });
  }
  return tables;
}

async function postgresSchema(pool: pg.Pool): Promise<Map<string, Table>> {
  const tables = new Map<string, Table>();
  const { rows: columns } = await pool.query<{
    table_name: string;
    column_name: string;
    data_type: string;
    is_nullable: string;
    column_default: string | null;
    primary_key: boolean;
  }>(
    `SELECT c.table_name, c.column_name, c.data_type, c.is_nullable, c.column_default,
            EXISTS (SELECT 1 FROM information_schema.key_column_usage k
                    JOIN information_schema.table_constraints t
                      ON t.constraint_schema = k.constraint_schema AND t.constraint_name = k.constraint_name
                    WHERE t.constraint_type = 'PRIMARY KEY' AND k.table_schema = c.table_schema
                      AND k.table_name = c.table_name AND k.column_name = c.column_name) AS primary_key
     FROM information_schema.columns c JOIN information_schema.tables t
       ON t.table_schema = c.table_schema AND t.table_name = c.table_name
     WHERE c.table_schema = current_schema() AND t.table_type = 'BASE TABLE' AND c.table_name <> 'schema_migrations'
     ORDER BY c.table_name, c.ordinal_position`,
  );
  for (const c of columns) {
    let table = tables.get(c.table_name);
    if (table === undefined) {
      table = { columns: new Map(), rowidAlias: null, implicitRowid: false, indexes: [] };
      tables.set(c.table_name, table);
    }
    table.columns.set(c.column_name, {
      name: c.column_name,
      type: c.data_type,
      notNull: c.is_nullable === "NO",
      defaultValue: c.column_default?.replace(/::[a-z ]+$/, "") ?? null,
      primaryKey: c.primary_key,
    });
  }
  const { rows: indexes } = await pool.query<{
    table_name: string;
    index_name: string;
    unique: boolean;
    partial: boolean;
    constraint: boolean;
    columns: string[];
  }>(
    `SELECT t.relname AS table_name, i.relname AS index_name, x.indisunique AS unique,
            x.indpred IS NOT NULL AS partial,
            EXISTS (SELECT 1 FROM pg_constraint k WHERE k.conindid = x.indexrelid) AS constraint,
            ARRAY(SELECT a.attname::text FROM unnest(x.indkey) WITH ORDINALITY AS u(attnum, n)
                  JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = u.attnum
                  ORDER BY u.n) AS columns
     FROM pg_index x
     JOIN pg_class i ON i.oid = x.indexrelid
     JOIN pg_class t ON t.oid = x.indrelid
     WHERE t.relnamespace = current_schema()::regnamespace AND t.relname <> 'schema_migrations'`,
  );
  for (const index of indexes) {
    tables
      .get(index.table_name)
      ?.indexes.push(
        indexLine(index.constraint ? null : index.index_name, index.unique, index.columns, index.partial),
      );
  }
  for (const table of tables.values()) table.indexes.sort();
  return tables;
}

describe.skipIf(!available)("the PostgreSQL domain schema", () => {
  let pool: pg.Pool | undefined;
  let drop: (() => Promise<void>) | undefined;
  let sqlite: Map<string, Table>;
  let ledgerTables: Set<string>;
  let postgres: Map<string, Table>;

  beforeAll(async () => {
    const db = new Database(":memory:");
    try {
      migrate(db);
      sqlite = sqliteSchema(db);
    } finally {
      db.close();
    }
    const ledgerOnly = new Database(":memory:");
    try {
      migrate(ledgerOnly, migrations.slice(0, 1));
      ledgerTables = new Set(sqliteSchema(ledgerOnly).keys());
    } finally {
      ledgerOnly.close();
    }
    const created = await createTestSchema();
    drop = created.drop;
    pool = openPool({ url: testDatabaseUrl, schema: created.schema });
    await migratePostgres(pool);
    postgres = await postgresSchema(pool);
  });

  afterAll(async () => {
    await pool?.end();
    await drop?.();
  });

  it("has every SQLite table, and no other", () => {
    expect(sqlite.size).toBeGreaterThan(ledgerTables.size);
    expect([...postgres.keys()].sort()).toEqual([...sqlite.keys()].sort());
  });

  it("has every table's columns, plus rowid only where SQLite's is implicit", () => {
    for (const [name, table] of sqlite) {
      const expected = [...table.columns.keys(), ...(postgresOnlyColumns[name] ?? [])];
      const actual = [...(postgres.get(name)?.columns.keys() ?? [])];
      const rowid = actual.includes("rowid");
      if (rowid) expect(table.implicitRowid, `${name} has an implicit rowid in SQLite`).toBe(true);
      expect(actual.filter((c) => c !== "rowid").sort(), `columns of ${name}`).toEqual(expected.sort());
    }
    const withRowid = [...postgres].filter(([, t]) => t.columns.has("rowid")).map(([name]) => name);
    expect(withRowid.sort()).toEqual(rowidTables);
  });

  it("types, constrains and defaults the domain tables' columns as SQLite does", () => {
    for (const [name, table] of sqlite) {
      if (ledgerTables.has(name)) continue;
      const mirror = postgres.get(name)!;
      for (const column of table.columns.values()) {
        const other = mirror.columns.get(column.name)!;
        const where = `${name}.${column.name}`;
        expect(other.type, where).toBe(postgresTypeOf[column.type]);
        // A key column is NOT NULL in PostgreSQL whether declared so or not.
        if (!column.primaryKey) expect(other.notNull, where).toBe(column.notNull);
        expect(other.primaryKey, where).toBe(column.primaryKey);
        // An INTEGER PRIMARY KEY numbers itself in SQLite: here it is an identity, with no default.
        expect(other.defaultValue, where).toBe(column.defaultValue);
      }
    }
  });

  it("has the domain tables' indexes and key constraints, plus a unique one on each rowid", () => {
    for (const [name, table] of sqlite) {
      if (ledgerTables.has(name)) continue;
      const expected = [...table.indexes];
      if (rowidTables.includes(name)) expected.push(`${name}_rowid unique (rowid)`);
      expect(postgres.get(name)!.indexes, `indexes of ${name}`).toEqual(expected.sort());
    }
  });

  it("numbers the rowid and INTEGER PRIMARY KEY columns itself", async () => {
    const { rows } = await pool!.query<{
      table_name: string;
      column_name: string;
      identity_generation: string;
    }>(
      `SELECT table_name, column_name, identity_generation FROM information_schema.columns
       WHERE table_schema = current_schema() AND is_identity = 'YES' ORDER BY table_name`,
    );
    // The ledger's transfer ids come from a sequence of their own (see ./migrations.ts).
    const rowidAliases = [...sqlite]
      .filter(([name, t]) => !ledgerTables.has(name) && t.rowidAlias !== null)
      .map(([name, t]) => `${name}.${t.rowidAlias} BY DEFAULT`);
    expect(rows.map((r) => `${r.table_name}.${r.column_name} ${r.identity_generation}`).sort()).toEqual(
      [...rowidAliases, ...rowidTables.map((name) => `${name}.rowid ALWAYS`)].sort(),
    );
  });

  it("sorts every indexed text column in byte order, as SQLite does", async () => {
    const { rows } = await pool!.query<{ column: string }>(
      `SELECT DISTINCT t.relname || '.' || a.attname AS column
       FROM pg_index x
       JOIN pg_class t ON t.oid = x.indrelid
       JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = ANY (x.indkey)
       WHERE t.relnamespace = current_schema()::regnamespace AND a.atttypid = 'text'::regtype
         AND a.attcollation <> (SELECT oid FROM pg_collation WHERE collname = 'C' AND collnamespace = 'pg_catalog'::regnamespace)`,
    );
    expect(rows.map((r) => r.column)).toEqual([]);
  });
});
