import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestLedger } from "../../ledger/ledger.testkit.js";
import { openTestPostgresStore, requirePostgres } from "../postgres/postgres.testkit.js";
import { batchedReads, keyIn, keysPerReadMax } from "./batched-reads.js";
import type { Row, SqlDb } from "./sql-db.js";

const available = await requirePostgres();

/** The database, counting the reads that reach it. */
function counted(db: SqlDb): SqlDb & { reads: number } {
  const wrapped = {
    dialect: db.dialect,
    reads: 0,
    all(sql: string, params?: readonly unknown[]) {
      wrapped.reads++;
      return db.all(sql, params);
    },
    get: (sql: string, params?: readonly unknown[]) => db.get(sql, params),
    execute: (statements: Parameters<SqlDb["execute"]>[0]) => db.execute(statements),
  };
  return wrapped;
}

function suite(open: () => Promise<{ db: SqlDb; close(): Promise<void> }>) {
  let db: SqlDb;
  let close: () => Promise<void>;
  beforeAll(async () => {
    ({ db, close } = await open());
    await db.execute([
      { sql: "CREATE TABLE kv (k text NOT NULL, v text NOT NULL, n integer NOT NULL)", params: [] },
      ...Array.from({ length: 1500 }, (_, i) => ({
        sql: "INSERT INTO kv (k, v, n) VALUES (?, ?, ?)",
        params: [`k${i}`, `v${i}`, 1],
      })),
      // A second row for every third key: a key's rows are answered together, in order.
      ...Array.from({ length: 500 }, (_, i) => ({
        sql: "INSERT INTO kv (k, v, n) VALUES (?, ?, ?)",
        params: [`k${i * 3}`, `w${i * 3}`, 2],
      })),
    ]);
  });
  afterAll(() => close());

  const reader = (target: SqlDb) =>
    batchedReads<string[]>(
      target,
      `SELECT k, v FROM kv WHERE ${keyIn(target.dialect, "k")} ORDER BY k, n`,
      (rows: Row[]) => {
        const found = new Map<string, string[]>();
        for (const row of rows) {
          const list = found.get(row.k as string) ?? [];
          list.push(row.v as string);
          found.set(row.k as string, list);
        }
        return found;
      },
      () => [],
    );

  it("answers reads made together with one statement, each with its own rows", async () => {
    const target = counted(db);
    const read = reader(target);
    const keys = ["k0", "k1", "k3", "missing", 'quote"d', "k1"];
    const answers = await Promise.all(keys.map(read));
    expect(answers).toEqual([["v0", "w0"], ["v1"], ["v3", "w3"], [], [], ["v1"]]);
    expect(target.reads).toBe(1);
    // Keys with no rows each get their own fresh answer.
    expect(answers[3]).not.toBe(answers[4]);
  });

  it("reads separately what is asked for at separate times, and splits a burst past the limit", async () => {
    const target = counted(db);
    const read = reader(target);
    expect(await read("k2")).toEqual(["v2"]);
    expect(await read("k2")).toEqual(["v2"]);
    expect(target.reads).toBe(2);
    const many = Array.from({ length: 1500 }, (_, i) => `k${i}`);
    const answers = await Promise.all(many.map(read));
    expect(answers.map((a) => a[0])).toEqual(many.map((k) => `v${k.slice(1)}`));
    expect(target.reads).toBe(2 + Math.ceil(many.length / keysPerReadMax));
  });

  it("fails every read of a statement that fails", async () => {
    const read = batchedReads(
      db,
      `SELECT * FROM no_such_table WHERE ${keyIn(db.dialect, "k")}`,
      () => new Map(),
      () => 0,
    );
    const settled = await Promise.allSettled([read("a"), read("b")]);
    expect(settled.map((s) => s.status)).toEqual(["rejected", "rejected"]);
  });
}

describe("batched reads on SQLite", () => {
  suite(async () => {
    const { store, dispose } = openTestLedger();
    return { db: store, close: dispose };
  });
});

describe.skipIf(!available)("batched reads on PostgreSQL", () => {
  suite(async () => {
    const { store, dispose } = await openTestPostgresStore();
    return { db: store, close: dispose };
  });
});
