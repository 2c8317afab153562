import { afterEach, describe, expect, it } from "vitest";
import { reconcile } from "../src/ledger/reconcile.js";
import { openTestApp, type TestApp } from "./support/app.js";

let t: TestApp | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

async function setup() {
  t = await openTestApp();
  await t.app.inject({
    method: "PUT",
    url: "/v1/users/fan",
    headers: t.admin,
    payload: { country: "US", birthDate: "1990-01-01", displayName: "Fan" },
  });
  return t;
}

const grant = (app: TestApp, body: unknown, key: string | null, headers = app.admin) =>
  app.app.inject({
    method: "POST",
    url: "/v1/admin/users/fan/bonus",
    headers: { ...headers, ...(key === null ? {} : { "idempotency-key": key }) },
    payload: body as object,
  });

const bonus = async (app: TestApp) =>
  (await app.runtime.ledger.balances(["user:fan:coins:bonus"])).get("user:fan:coins:bonus")?.posted ?? 0n;

describe("bonus coins", () => {
  it("grants bonus coins once per key, booked as promotion expense, and audited", async () => {
    const app = await setup();
    const first = await grant(app, { coins: "50", reason: "welcome" }, "b1");
    expect(first.statusCode).toBe(201);
    expect(first.json()).toMatchObject({ userId: "fan", coins: "50", reason: "welcome" });
    const replay = await grant(app, { coins: "50", reason: "welcome" }, "b1");
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(await bonus(app)).toBe(50n);
    expect((await grant(app, { coins: "60" }, "b1")).json()).toMatchObject({
      code: "idempotency_key_reused",
    });
    expect((await app.runtime.ledger.balance("platform:coins:promotion")).posted).toBe(-50n);
    const audit = (
      await app.app.inject({ method: "GET", url: "/v1/admin/audit?limit=1", headers: app.admin })
    ).json();
    expect(audit.data[0]).toMatchObject({ action: "user.bonus", target: "fan" });
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });

  it.each([
    ["zero", { coins: "0" }, "invalid_amount"],
    ["negative", { coins: "-1" }, "invalid_amount"],
    ["fractional", { coins: "1.5" }, "invalid_amount"],
    ["an exponent", { coins: "1e3" }, "invalid_amount"],
    ["beyond 2^63", { coins: "18446744073709551616" }, "invalid_amount"],
    ["above money.amountMax", { coins: "1000000000000001" }, "invalid_amount"],
    ["a JSON number", { coins: 50 }, "invalid_request"],
    ["null", { coins: null }, "invalid_request"],
    ["an unknown field", { coins: "5", diamonds: "5" }, "invalid_request"],
  ])("refuses %s and grants nothing", async (_name, body, code) => {
    const app = await setup();
    const res = await grant(app, body, `k-${code}`);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code });
    expect(await bonus(app)).toBe(0n);
  });

  it("needs an idempotency key, an admin key, and a known user", async () => {
    const app = await setup();
    expect((await grant(app, { coins: "5" }, null)).statusCode).toBe(400);
    const { key } = (
      await app.app.inject({
        method: "POST",
        url: "/v1/admin/api-keys",
        headers: app.admin,
        payload: { name: "s", scopes: ["server"] },
      })
    ).json() as { key: string };
    expect((await grant(app, { coins: "5" }, "x", { authorization: `Bearer ${key}` })).statusCode).toBe(403);
    const ghost = await app.app.inject({
      method: "POST",
      url: "/v1/admin/users/ghost/bonus",
      headers: { ...app.admin, "idempotency-key": "g" },
      payload: { coins: "5" },
    });
    expect(ghost.statusCode).toBe(404);
    expect(await bonus(app)).toBe(0n);
  });
});
