import { afterEach, describe, expect, it } from "vitest";
import { GiftstreamError } from "../../errors.js";
import { openPool } from "./pool.js";
import { createTestSchema, requirePostgres, testDatabaseUrl } from "./postgres.testkit.js";
import { isPostgresUnavailable } from "./unavailable.js";

const available = await requirePostgres();

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** A pool on a fresh schema, closed and dropped after the test. */
async function pool(
  options: { statementTimeoutMs?: number; connectionsMax?: number; connectTimeoutMs?: number } = {},
) {
  const { schema, drop } = await createTestSchema();
  cleanups.push(drop);
  const opened = openPool({ url: testDatabaseUrl, schema, ...options });
  cleanups.push(() => opened.end());
  return opened;
}

/** What `work` rejects with; fails the test if it resolves. */
async function failure(work: Promise<unknown>): Promise<unknown> {
  return work.then(
    () => expect.fail("expected a failure"),
    (error: unknown) => error,
  );
}

describe("isPostgresUnavailable", () => {
  it("is false for errors that are not about the database's availability", () => {
    expect(isPostgresUnavailable(new Error("boom"))).toBe(false);
    expect(isPostgresUnavailable(new GiftstreamError("insufficient_coins"))).toBe(false);
    expect(isPostgresUnavailable("57014")).toBe(false);
    expect(isPostgresUnavailable(undefined)).toBe(false);
    // A socket error from something other than opening a connection.
    expect(
      isPostgresUnavailable(Object.assign(new Error("x"), { code: "ECONNREFUSED", syscall: "read" })),
    ).toBe(false);
  });

  describe.skipIf(!available)("on the real server", () => {
    it("is true for a statement over statement_timeout (57014)", async () => {
      const p = await pool({ statementTimeoutMs: 1000 });
      const error = await failure(p.query("SELECT pg_sleep(1.5)"));
      expect(error).toMatchObject({ code: "57014" });
      expect(isPostgresUnavailable(error)).toBe(true);
    });

    it("is true for a deadlock (40P01)", async () => {
      const p = await pool({ connectionsMax: 2 });
      await p.query("CREATE TABLE t (id int PRIMARY KEY, n int)");
      await p.query("INSERT INTO t VALUES (1, 0), (2, 0)");
      const a = await p.connect();
      const b = await p.connect();
      try {
        await a.query("BEGIN");
        await b.query("BEGIN");
        await a.query("UPDATE t SET n = 1 WHERE id = 1");
        await b.query("UPDATE t SET n = 1 WHERE id = 2");
        const results = await Promise.allSettled([
          a.query("UPDATE t SET n = 2 WHERE id = 2"),
          b.query("UPDATE t SET n = 2 WHERE id = 1"),
        ]);
        const refused = results.flatMap((r) => (r.status === "rejected" ? [r.reason as unknown] : []));
        expect(refused).toHaveLength(1);
        expect(refused[0]).toMatchObject({ code: "40P01" });
        expect(isPostgresUnavailable(refused[0])).toBe(true);
      } finally {
        await a.query("ROLLBACK").catch(() => undefined);
        await b.query("ROLLBACK").catch(() => undefined);
        a.release();
        b.release();
      }
    });

    it("is true when the server ends the session mid-query, and for the dead connection after", async () => {
      const p = await pool({ connectionsMax: 2 });
      const victim = await p.connect();
      const ended = new Promise((resolve) => victim.once("error", resolve));
      victim.on("error", () => undefined);
      try {
        const { rows } = await victim.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
        const sleeping = failure(victim.query("SELECT pg_sleep(30)"));
        // Ends the sleeping backend as a restart or an operator's pg_terminate_backend would.
        for (let i = 0; i < 50; i++) {
          const { rows: active } = await p.query(
            "SELECT 1 FROM pg_stat_activity WHERE pid = $1 AND query LIKE 'SELECT pg_sleep%'",
            [rows[0]?.pid],
          );
          if (active.length > 0) break;
          await new Promise((resolve) => setTimeout(resolve, 20));
        }
        await p.query("SELECT pg_terminate_backend($1)", [rows[0]?.pid]);
        // The server answered the statement with FATAL 57P01 before closing: it did not commit.
        const error = await sleeping;
        expect(error).toMatchObject({ code: "57P01" });
        expect(isPostgresUnavailable(error)).toBe(true);
        // A statement sent once the client knows its connection failed never leaves it.
        await ended;
        const after = await failure(victim.query("SELECT 1"));
        expect(after).toMatchObject({
          message: "Client has encountered a connection error and is not queryable",
        });
        expect(isPostgresUnavailable(after)).toBe(true);
      } finally {
        victim.release(true);
      }
    });

    it("is false when the connection closes with a statement in flight and no answer", async () => {
      // What a COMMIT whose socket dropped looks like: the outcome is unknown, so not retryable.
      const p = await pool({ connectionsMax: 1 });
      const victim = await p.connect();
      victim.on("error", () => undefined);
      try {
        const sleeping = failure(victim.query("SELECT pg_sleep(30)"));
        // The socket itself goes, as a network failure would, without the server saying anything.
        (victim as unknown as { connection: { stream: { destroy(): void } } }).connection.stream.destroy();
        const error = await sleeping;
        expect(error).toMatchObject({ message: expect.stringMatching(/^Connection terminated/) });
        expect(isPostgresUnavailable(error)).toBe(false);
      } finally {
        victim.release(true);
      }
    });

    it("is true when no connection is free in time", async () => {
      const p = await pool({ connectionsMax: 1, connectTimeoutMs: 200 });
      const held = await p.connect();
      try {
        const error = await failure(p.query("SELECT 1"));
        expect(error).toMatchObject({ message: "timeout exceeded when trying to connect" });
        expect(isPostgresUnavailable(error)).toBe(true);
      } finally {
        held.release();
      }
    });

    it("is true when the server cannot be reached", async () => {
      // Port 1 on the loopback: nothing listens there, so the connection is refused at once.
      const p = openPool({ url: "postgres://postgres@127.0.0.1:1/test", connectTimeoutMs: 2000 });
      cleanups.push(() => p.end());
      const error = await failure(p.query("SELECT 1"));
      expect(error).toMatchObject({ code: "ECONNREFUSED", syscall: "connect" });
      expect(isPostgresUnavailable(error)).toBe(true);
    });

    it("is false for what the data or the SQL got wrong", async () => {
      const p = await pool();
      await p.query("CREATE TABLE t (id int PRIMARY KEY)");
      await p.query("INSERT INTO t VALUES (1)");
      const duplicate = await failure(p.query("INSERT INTO t VALUES (1)"));
      expect(duplicate).toMatchObject({ code: "23505" });
      expect(isPostgresUnavailable(duplicate)).toBe(false);
      const syntax = await failure(p.query("SELEKT 1"));
      expect(syntax).toMatchObject({ code: "42601" });
      expect(isPostgresUnavailable(syntax)).toBe(false);
      const division = await failure(p.query("SELECT 1 / 0"));
      expect(division).toMatchObject({ code: "22012" });
      expect(isPostgresUnavailable(division)).toBe(false);
    });
  });
});
