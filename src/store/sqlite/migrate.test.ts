import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import { migrate } from "./migrate.js";
import { migrations } from "./migrations.js";

describe("migrate", () => {
  it("numbers the migrations 1, 2, 3… with no gap", () => {
    expect(migrations.map((m) => m.version)).toEqual(migrations.map((_, i) => i + 1));
  });

  it("refuses a list with a gap or out of order, before touching the database", () => {
    const db = new Database(":memory:");
    const m = (version: number) => ({ version, name: `m${version}`, sql: `CREATE TABLE t${version} (x)` });
    expect(() => migrate(db, [m(1), m(3)])).toThrow(/found version 3 at position 2/);
    expect(() => migrate(db, [m(2), m(1)])).toThrow(/numbered 1, 2, 3/);
    expect(db.prepare("SELECT name FROM sqlite_master WHERE name LIKE 't%'").all()).toEqual([]);
    expect(migrate(db, [m(1), m(2)]).version).toBe(2);
    db.close();
  });
});
