import { afterAll, describe, expect, it } from "vitest";
import { checkout } from "./checkout.js";
import { openPool } from "./pool.js";
import { requirePostgres, testDatabaseUrl } from "./postgres.testkit.js";

const available = await requirePostgres();

describe.skipIf(!available)("a checked-out connection whose server goes away", () => {
  const pool = openPool({ url: testDatabaseUrl, connectionsMax: 2 });
  afterAll(() => pool.end());

  it("fails its queries without crashing the process, and the pool serves on with another", async () => {
    const client = await checkout(pool);
    const { rows } = await client.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
    const pid = rows[0]!.pid;
    // Another connection ends this one's backend, as a server restart would.
    await pool.query("SELECT pg_terminate_backend($1)", [pid]);
    const ended = new Promise<void>((resolve) => client.once("end", () => resolve()));
    await expect(client.query("SELECT 1")).rejects.toThrow();
    // The connection's own error event comes with its end: without checkout's listener, Node
    // would end this process here (an unhandled 'error' event), failing the whole test file.
    await ended;
    client.release();
    const again = await checkout(pool);
    try {
      const next = await again.query<{ pid: number }>("SELECT pg_backend_pid() AS pid");
      expect(next.rows[0]!.pid).not.toBe(pid);
    } finally {
      again.release();
    }
  });
});
