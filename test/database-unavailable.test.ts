import pg from "pg";
import { afterEach, describe, expect, it } from "vitest";
import { reconcile } from "../src/ledger/reconcile.js";
import { requirePostgres } from "../src/store/postgres/postgres.testkit.js";
import { openTestApp, type TestApp } from "./support/app.js";
import { logLines } from "./support/log-lines.js";

/**
 * A request the database cannot serve in time answers `503 database_unavailable`, moves nothing,
 * is not kept for replay, and succeeds when retried with the same key once the database can.
 * PostgreSQL only: its statement timeout is what bounds the wait (docs/postgres.md#operations).
 */
const available = await requirePostgres();

let t: TestApp | null = null;
let locker: pg.Client | null = null;
afterEach(async () => {
  await locker?.end();
  locker = null;
  await t?.dispose();
  t = null;
});

describe.skipIf(!available)("database_unavailable", () => {
  it("answers a gift whose write waits past postgres.statementTimeoutMs with 503, and the retry applies it once", async () => {
    const { lines, logger } = logLines("error");
    t = await openTestApp(
      {
        testMode: true,
        postgres: { statementTimeoutMs: 1000 },
        ledger: { pendingExpiryIntervalMs: 3_600_000 },
      },
      logger,
      {},
      "postgres",
    );
    const app = t;
    for (const [id, birthDate] of [
      ["fan", "1990-01-01"],
      ["creator", "1995-06-01"],
    ] as const) {
      const res = await app.app.inject({
        method: "PUT",
        url: `/v1/users/${id}`,
        headers: app.admin,
        payload: { country: "US", birthDate, displayName: id },
      });
      expect(res.statusCode, res.body).toBeLessThan(300);
    }
    const granted = await app.app.inject({
      method: "POST",
      url: "/v1/admin/users/fan/bonus",
      headers: { ...app.admin, "idempotency-key": "grant-1" },
      payload: { coins: "100", reason: "welcome" },
    });
    expect(granted.statusCode, granted.body).toBe(201);
    const wallet = async () =>
      (await app.app.inject({ method: "GET", url: "/v1/users/fan/wallet", headers: app.admin })).json();
    const before = await wallet();
    const send = () =>
      app.app.inject({
        method: "POST",
        url: "/v1/gifts/send",
        headers: { ...app.admin, "idempotency-key": "gift-1" },
        payload: {
          senderId: "fan",
          recipientId: "creator",
          giftId: "rose",
          quantity: 1,
          context: { type: "live", id: "room-1" },
        },
      });

    // Another session holds the gifts table against writes (reads still pass), as a long
    // migration or a stalled process would; the gift's batch waits on it past the limit.
    const databaseUrl = app.runtime.config.databaseUrl;
    if (databaseUrl === undefined) throw new Error("the app should run on PostgreSQL");
    locker = new pg.Client({ connectionString: databaseUrl });
    await locker.connect();
    await locker.query("BEGIN");
    await locker.query("LOCK TABLE gifts IN EXCLUSIVE MODE");

    const refused = await send();
    expect(refused.statusCode, refused.body).toBe(503);
    expect(refused.headers["content-type"]).toContain("application/problem+json");
    expect(refused.json()).toMatchObject({ code: "database_unavailable", status: 503 });
    expect(lines.some((line) => line.includes('"code":"57014"'))).toBe(true);

    await locker.query("ROLLBACK");
    // Nothing moved: the whole batch rolled back.
    expect(await wallet()).toEqual(before);

    // The 503 was not kept: the same key now applies the gift, once.
    const sent = await send();
    expect(sent.statusCode, sent.body).toBe(201);
    expect(sent.headers["idempotent-replayed"]).toBeUndefined();
    const replayed = await send();
    expect(replayed.statusCode).toBe(201);
    expect(replayed.headers["idempotent-replayed"]).toBe("true");
    expect((await wallet()).coins.balance).toBe((BigInt(before.coins.balance) - 1n).toString());
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });
});
