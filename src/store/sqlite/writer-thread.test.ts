import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { afterEach, describe, expect, it } from "vitest";
import { type WriterOp, WriterThread } from "./writer-thread.js";

/**
 * The writer numbers SQL texts it has seen, so that a text travels once; these check that the
 * numbering changes nothing about what runs, how failures are answered, or what happens past its
 * bound.
 */
let dir: string;
let writer: WriterThread | null = null;
afterEach(async () => {
  await writer?.close();
  writer = null;
  rmSync(dir, { recursive: true, force: true });
});

function open(): { writer: WriterThread; rows(): bigint[] } {
  dir = mkdtempSync(join(tmpdir(), "giftstream-writer-"));
  const path = join(dir, "w.db");
  const db = new Database(path);
  db.exec("CREATE TABLE t (v INTEGER PRIMARY KEY)");
  db.close();
  writer = new WriterThread({ path, chunkRows: 1, pragmas: [], statements: {} });
  return {
    writer,
    rows: () => {
      const read = new Database(path, { readonly: true });
      read.defaultSafeIntegers(true);
      const values = read
        .prepare("SELECT v FROM t ORDER BY v")
        .all()
        .map((r) => (r as { v: bigint }).v);
      read.close();
      return values;
    },
  };
}

const insert = "INSERT INTO t (v) VALUES (?)";

describe("WriterThread SQL numbering", () => {
  it("runs a text sent again, in batches and control writes alike", async () => {
    const w = open();
    expect(await w.writer.control([["exec", insert, [1]]])).toBe(1);
    expect(
      await w.writer.run([
        ["exec", insert, [2]],
        ["exec", insert, [3]],
      ]),
    ).toBe(2);
    expect(await w.writer.control([["exec", insert, [4]]])).toBe(1);
    expect(w.rows()).toEqual([1n, 2n, 3n, 4n]);
  });

  it("fails every use of a text that does not prepare, and nothing else", async () => {
    const w = open();
    const bad = "INSERT INTO missing (v) VALUES (?)";
    await expect(w.writer.control([["exec", bad, [1]]])).rejects.toThrow(/no such table: missing/);
    await expect(w.writer.control([["exec", bad, [1]]])).rejects.toThrow(/no such table: missing/);
    expect(await w.writer.control([["exec", insert, [5]]])).toBe(1);
    expect(w.rows()).toEqual([5n]);
  });

  it("defines nothing when a post fails, so the text works when sent again", async () => {
    const w = open();
    // A function cannot be cloned to the writer: the post throws and nothing is sent.
    await expect(w.writer.control([["exec", insert, [() => 1]]])).rejects.toThrow(/could not be cloned/);
    expect(await w.writer.control([["exec", insert, [7]]])).toBe(1);
    expect(await w.writer.run([["exec", insert, [8]]])).toBe(1);
    expect(w.rows()).toEqual([7n, 8n]);
  });

  it("prepares a numbered text when it is first run, after the statements before it", async () => {
    const w = open();
    const create = "CREATE TABLE u (v INTEGER)";
    const insertU = "INSERT INTO u (v) VALUES (?)";
    expect(
      await w.writer.control([
        ["exec", create, []],
        ["exec", insertU, [1]],
      ]),
    ).toBe(1);
    expect(await w.writer.control([["exec", insertU, [2]]])).toBe(1);
  });

  it("sends a long text as text, and runs it each time", async () => {
    const w = open();
    const long = `INSERT INTO t (v) VALUES (?) -- ${"x".repeat(5_000)}`;
    expect(await w.writer.control([["exec", long, [1]]])).toBe(1);
    expect(await w.writer.run([["exec", long, [2]]])).toBe(1);
    expect(w.rows()).toEqual([1n, 2n]);
  });

  it("keeps texts first sent in a refused batch, for the batches after the reset", async () => {
    const w = open();
    await w.writer.run([["exec", insert, [1]]]);
    // A duplicate key fails this batch; the next is refused unrun, but its new text is defined.
    await expect(w.writer.run([["exec", insert, [1]]])).rejects.toThrow(/UNIQUE/);
    const other = "INSERT INTO t (v) VALUES (? + 100)";
    await expect(w.writer.run([["exec", other, [1]]])).rejects.toThrow(/refused/);
    await w.writer.reset();
    expect(await w.writer.run([["exec", other, [2]]])).toBe(1);
    expect(w.rows()).toEqual([1n, 102n]);
  });

  it("sends texts past its bound as text, and runs them all", async () => {
    const w = open();
    const ops = Array.from(
      { length: 4_200 },
      (_, i): WriterOp => ["exec", `INSERT INTO t (v) VALUES (${i} + ?)`, [0]],
    );
    expect(await w.writer.control(ops)).toBe(4_200);
    expect(await w.writer.control([["exec", "INSERT INTO t (v) VALUES (4199 + ?)", [1]]])).toBe(1);
    expect(w.rows().length).toBe(4_201);
  });
});
