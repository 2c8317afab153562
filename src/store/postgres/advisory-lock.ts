import type pg from "pg";
import { KeyedLock, type KeyedLocks } from "../../economy/cashouts/keyed-lock.js";
import { checkout } from "./checkout.js";

/**
 * A keyed lock held across every process on one database: a PostgreSQL session advisory lock on
 * a connection of the lock pool, held while the work runs. Within the process, waiters queue on
 * an in-process lock first, so a process holds at most one connection per key, and a busy key
 * costs no connections while it waits. The work itself reads and writes through the main pool,
 * never this one, so a full lock pool makes lockers wait, not deadlock.
 *
 * If the lock's connection dies mid-work, PostgreSQL releases the lock; the ledger's holds and
 * idempotency keys still refuse a second application of the same change.
 */
export class AdvisoryKeyedLock implements KeyedLocks {
  private readonly local = new KeyedLock();

  constructor(
    private readonly pool: pg.Pool,
    /** Names what is locked ("creator", "cashout"), so equal keys of two kinds never share a lock. */
    private readonly scope: string,
  ) {}

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    return this.local.run(key, async () => {
      const client = await checkout(this.pool);
      const name = `${this.scope}:${key}`;
      let broken = false;
      try {
        await client.query("SELECT pg_advisory_lock(hashtextextended($1, 0))", [name]);
        try {
          return await work();
        } finally {
          await client.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [name]).catch(() => {
            // Still held by a connection in an unknown state: closing it releases the lock.
            broken = true;
          });
        }
      } finally {
        client.release(broken);
      }
    });
  }
}

/**
 * Runs `work` only if no other process is running the job of this name; answers undefined, at
 * once, if one is. Periodic jobs (maturing, webhook delivery, payouts) run through it, so each
 * pass runs in one process at a time whatever the number of processes.
 */
export async function runExclusive<T>(
  pool: pg.Pool,
  name: string,
  work: () => Promise<T>,
): Promise<T | undefined> {
  const client = await checkout(pool);
  let broken = false;
  try {
    const { rows } = await client.query<{ ok: boolean }>(
      "SELECT pg_try_advisory_lock(hashtextextended($1, 0)) AS ok",
      [`job:${name}`],
    );
    if (!rows[0]?.ok) return undefined;
    try {
      return await work();
    } finally {
      await client.query("SELECT pg_advisory_unlock(hashtextextended($1, 0))", [`job:${name}`]).catch(() => {
        broken = true;
      });
    }
  } finally {
    client.release(broken);
  }
}
