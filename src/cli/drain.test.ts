import { afterEach, describe, expect, it } from "vitest";
import { openTestApp, type TestApp } from "../../test/support/app.js";
import { drain } from "./drain.js";

let t: TestApp | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

describe("drain", () => {
  it("runs pages until one comes back short, and stops at pagesMax", async () => {
    const pages = (rows: number[]) => {
      const asked: number[] = [];
      const page = async (n: number) => {
        asked.push(n);
        return rows.shift() ?? 0;
      };
      return { asked, page };
    };
    const full = pages([10, 10, 3, 10]);
    expect(await drain(full.page, 10, 100)).toBe(23);
    expect(full.asked).toEqual([10, 10, 10]);
    const capped = pages([10, 10, 10, 10]);
    expect(await drain(capped.page, 10, 2)).toBe(20);
    expect(capped.asked).toHaveLength(2);
  });

  it("purges every idempotency record past its retention in one pass, however many pages that takes", async () => {
    t = await openTestApp();
    const retentionMs = t.runtime.config.ledger.idempotencyRetentionMs;
    const old = Date.now() - retentionMs - 3_600_000;
    const count = async (sql: string, params: unknown[] = []) =>
      Number((await t!.runtime.store.get(sql, params))?.n);
    const before = await count("SELECT count(*) AS n FROM idempotency");
    await t.runtime.store.execute([
      {
        sql: `WITH RECURSIVE g(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM g WHERE n < 250)
              INSERT INTO idempotency (key, request_hash, result, created_at)
              SELECT 'old:' || n, 'h', '{}', ? + n FROM g`,
        params: [BigInt(old)],
      },
    ]);
    // Pages of 100, as the job's pages of 10,000: one page a pass left 150 of them behind.
    const purged = await drain((rows) => t!.runtime.ledger.purgeIdempotency(retentionMs, rows), 100, 1000);
    expect(purged).toBe(250);
    expect(await count("SELECT count(*) AS n FROM idempotency WHERE key LIKE 'old:%'")).toBe(0);
    expect(await count("SELECT count(*) AS n FROM idempotency")).toBe(before);
  });
});
