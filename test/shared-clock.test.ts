import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { type Composed, composeApp } from "../src/cli/serve.js";
import { loadConfig } from "../src/config/index.js";
import { createTestSchema, requirePostgres, schemaUrl } from "../src/store/postgres/postgres.testkit.js";
import { adminKey } from "./support/app.js";

const available = await requirePostgres();
const auth = { authorization: `Bearer ${adminKey}` };
const hourMs = 3_600_000;

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** `n` services composed as `serve` composes them, each with its own pools and caches, on one schema. */
async function processes(n: number): Promise<Composed[]> {
  const { schema, drop } = await createTestSchema();
  cleanups.push(drop);
  const composed: Composed[] = [];
  for (let i = 0; i < n; i++) {
    const dir = mkdtempSync(join(tmpdir(), "giftstream-clock-"));
    cleanups.push(async () => rmSync(dir, { recursive: true, force: true }));
    const config = loadConfig({
      env: {
        GIFTSTREAM_DATA_DIR: dir,
        GIFTSTREAM_API_KEY: adminKey,
        DATABASE_URL: schemaUrl(schema),
        GIFTSTREAM_SECRET_KEY: "0123456789abcdef".repeat(4),
        GIFTSTREAM_TOKEN_SECRET: "giftstream-test-token-secret-0123456789",
      },
      // No broker: processes hear of each other's clock only by re-reading it.
      overrides: { testMode: true, fanout: { cacheRefreshMs: 100 } },
    });
    const service = await composeApp(config, pino({ level: "silent" }), { print: () => {} });
    await service.app.ready();
    cleanups.push(() => service.close());
    composed.push(service);
  }
  return composed;
}

describe.skipIf(!available)("the test clock shared by processes on PostgreSQL", () => {
  it("never goes back in the database: a process that set an earlier time is refused and follows", async () => {
    const [a, b] = (await processes(2)) as [Composed, Composed];
    const setClock = (p: Composed, ms: number) =>
      p.app.inject({
        method: "POST",
        url: "/v1/test/clock",
        headers: auth,
        payload: { now: new Date(ms).toISOString() },
      });
    const readClock = async (p: Composed) =>
      (await p.app.inject({ method: "GET", url: "/v1/test/clock", headers: auth })).json().now as string;
    const base = Date.now();
    expect((await setClock(b, base + 2 * hourMs)).statusCode).toBe(200);
    // A has not heard of B's time yet: by its own clock, an hour on is forward.
    const earlier = await setClock(a, base + hourMs);
    expect(earlier.statusCode).toBe(400);
    expect(earlier.json().code).toBe("invalid_request");
    const later = new Date(base + 2 * hourMs).toISOString();
    expect(await readClock(a)).toBe(later);
    // Well past the refresh: both on one clock, and a new reading does not move either back.
    await new Promise((resolve) => setTimeout(resolve, 500));
    expect([await readClock(a), await readClock(b)]).toEqual([later, later]);
  });
});
