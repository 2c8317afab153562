import { afterEach, describe, expect, it } from "vitest";
import { openTestApp, type TestApp } from "./support/app.js";

let t: TestApp | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

const alice = { country: "US", birthDate: "2000-05-17", displayName: "Alice" };

describe("users", () => {
  it("creates with 201, updates with 200, and reads back with the age on the service clock", async () => {
    t = await openTestApp();
    const put = (body: object) =>
      t!.app.inject({ method: "PUT", url: "/v1/users/u_alice", headers: t!.admin, payload: body });
    const created = await put(alice);
    expect(created.statusCode).toBe(201);
    expect(created.json()).toMatchObject({
      id: "u_alice",
      country: "US",
      status: "active",
      statusReason: null,
    });
    const updated = await put({ ...alice, displayName: "Alice B." });
    expect(updated.statusCode).toBe(200);
    const read = await t.app.inject({ method: "GET", url: "/v1/users/u_alice", headers: t.admin });
    expect(read.json()).toMatchObject({ displayName: "Alice B.", createdAt: created.json().createdAt });
    expect(read.json().age).toBeGreaterThanOrEqual(26);
  });

  it.each([
    ["an unknown country", { ...alice, country: "XX" }],
    ["a lower-case country", { ...alice, country: "us" }],
    ["an impossible date", { ...alice, birthDate: "2001-02-29" }],
    ["a future birth date", { ...alice, birthDate: "2999-01-01" }],
    ["an unknown field", { ...alice, coins: "100" }],
    ["a missing field", { country: "US", birthDate: "2000-05-17" }],
    ["an empty display name", { ...alice, displayName: "" }],
    ["a number for a date", { ...alice, birthDate: 20000517 }],
  ])("refuses %s with 400 and stores nothing", async (_name, body) => {
    t = await openTestApp();
    const res = await t.app.inject({ method: "PUT", url: "/v1/users/u_x", headers: t.admin, payload: body });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: "invalid_request" });
    expect((await t.app.inject({ method: "GET", url: "/v1/users/u_x", headers: t.admin })).statusCode).toBe(
      404,
    );
  });

  it("refuses a user id outside the allowed characters", async () => {
    t = await openTestApp();
    const res = await t.app.inject({
      method: "PUT",
      url: "/v1/users/a%20b",
      headers: t.admin,
      payload: alice,
    });
    expect(res.statusCode).toBe(400);
  });

  it("restricts, blocks and unblocks through the admin routes, each audited", async () => {
    t = await openTestApp();
    await t.app.inject({ method: "PUT", url: "/v1/users/u_bob", headers: t.admin, payload: alice });
    const restrict = await t.app.inject({
      method: "POST",
      url: "/v1/admin/users/u_bob/restrict",
      headers: t.admin,
      payload: { reason: "chargeback review" },
    });
    expect(restrict.json()).toMatchObject({ status: "restricted", statusReason: "chargeback review" });
    const block = await t.app.inject({
      method: "POST",
      url: "/v1/admin/users/u_bob/block",
      headers: t.admin,
    });
    expect(block.json()).toMatchObject({ status: "blocked", statusReason: null });
    const unblock = await t.app.inject({
      method: "POST",
      url: "/v1/admin/users/u_bob/unblock",
      headers: t.admin,
    });
    expect(unblock.json()).toMatchObject({ status: "active", statusReason: null });
    const missing = await t.app.inject({
      method: "POST",
      url: "/v1/admin/users/u_nobody/block",
      headers: t.admin,
    });
    expect(missing.statusCode).toBe(404);

    const audit = await t.app.inject({ method: "GET", url: "/v1/admin/audit?limit=3", headers: t.admin });
    const entries = (
      audit.json() as { data: { action: string; target: string; before: { status: string } }[] }
    ).data;
    expect(entries.map((e) => e.action)).toEqual(["user.unblock", "user.block", "user.restrict"]);
    expect(entries[0]).toMatchObject({ target: "u_bob", before: { status: "blocked" } });
  });

  it("keeps an admin's block and restriction through the app's later PUTs, and clears the reason on unblock", async () => {
    t = await openTestApp();
    const put = () =>
      t!.app.inject({ method: "PUT", url: "/v1/users/u_bob", headers: t!.admin, payload: alice });
    const admin = (action: string, payload?: object) =>
      t!.app.inject({
        method: "POST",
        url: `/v1/admin/users/u_bob/${action}`,
        headers: t!.admin,
        ...(payload === undefined ? {} : { payload }),
      });
    expect((await put()).statusCode).toBe(201);
    for (const [action, status] of [
      ["block", "blocked"],
      ["restrict", "restricted"],
    ] as const) {
      expect((await admin(action, { reason: "fraud review" })).statusCode).toBe(200);
      // The app re-registering a user (a profile edit) must not lift what an admin set.
      const updated = await put();
      expect(updated.statusCode).toBe(200);
      expect(updated.json()).toMatchObject({ status, statusReason: "fraud review" });
    }
    // Back to active, clearing the reason, even when the request names one (docs/users.md).
    const unblock = await admin("unblock", { reason: "appeal granted" });
    expect(unblock.json()).toMatchObject({ status: "active", statusReason: null });
  });

  it("keeps admin status changes away from server keys", async () => {
    t = await openTestApp();
    const { key } = (
      await t.app.inject({
        method: "POST",
        url: "/v1/admin/api-keys",
        headers: t.admin,
        payload: { name: "srv", scopes: ["server"] },
      })
    ).json() as { key: string };
    await t.app.inject({ method: "PUT", url: "/v1/users/u_c", headers: t.admin, payload: alice });
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/admin/users/u_c/block",
      headers: { authorization: `Bearer ${key}` },
    });
    expect(res.statusCode).toBe(403);
    const user = await t.app.inject({
      method: "GET",
      url: "/v1/users/u_c",
      headers: { authorization: `Bearer ${key}` },
    });
    expect(user.json()).toMatchObject({ status: "active" });
  });
});

describe("test mode clock", () => {
  it("exists only in test mode, freezes time and only moves forward", async () => {
    t = await openTestApp();
    expect((await t.app.inject({ method: "GET", url: "/v1/test/clock", headers: t.admin })).statusCode).toBe(
      404,
    );
    await t.dispose();
    t = await openTestApp({ testMode: true });
    const set = await t.app.inject({
      method: "POST",
      url: "/v1/test/clock",
      headers: t.admin,
      payload: { now: "2030-01-01T00:00:00.000Z" },
    });
    expect(set.json()).toEqual({ now: "2030-01-01T00:00:00.000Z", frozen: true });
    const back = await t.app.inject({
      method: "POST",
      url: "/v1/test/clock",
      headers: t.admin,
      payload: { now: "2029-01-01T00:00:00.000Z" },
    });
    expect(back.statusCode).toBe(400);
    // The ledger records times from the same clock.
    await t.runtime.ledger.createAccounts([
      { id: "a", unit: "COIN" },
      { id: "b", unit: "COIN" },
    ]);
    const result = await t.runtime.ledger.submit({
      transfers: [{ debitAccountId: "a", creditAccountId: "b", amount: 1n, kind: "x" }],
    });
    expect(result.transfers[0]!.createdAt).toBe(Date.parse("2030-01-01T00:00:00.000Z"));
  });
});
