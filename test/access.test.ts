import { readFileSync } from "node:fs";
import { join } from "node:path";
import { configure } from "safe-stable-stringify";
import { afterEach, describe, expect, it } from "vitest";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { adminKey, openTestApp, type TestApp } from "./support/app.js";
import { allowAuditWrites, count, refuseAuditWrites, tableNames, tableRows } from "./support/sql.js";

const canonical = configure({ bigint: true });

let t: TestApp | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

async function createKey(app: TestApp, body: unknown) {
  return app.app.inject({
    method: "POST",
    url: "/v1/admin/api-keys",
    headers: app.admin,
    payload: body as object,
  });
}

describe("operator API keys", () => {
  it("creates a key, shows its secret once, stores only a hash, and lets it in", async () => {
    t = await openTestApp();
    const created = await createKey(t, { name: "backend", scopes: ["server"] });
    expect(created.statusCode).toBe(201);
    const body = created.json() as {
      id: string;
      key: string;
      scopes: string[];
      prefix: string;
      revokedAt: null;
    };
    expect(body.key).toMatch(/^gs_[A-Za-z0-9_-]{32}$/);
    expect(body).toMatchObject({ scopes: ["server"], prefix: body.key.slice(0, 7), revokedAt: null });

    const list = await t.app.inject({ method: "GET", url: "/v1/admin/api-keys", headers: t.admin });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(body.key);
    expect((list.json() as { data: { id: string }[] }).data.map((k) => k.id)).toContain(body.id);

    // The secret is in no row of any table, in any column.
    const store = t.runtime.store;
    for (const table of await tableNames(store)) {
      const rows = canonical(await tableRows(store, table)) ?? "";
      expect(rows.includes(body.key), table).toBe(false);
      expect(rows.includes(adminKey), table).toBe(false);
    }
    expect(await count(store, "api_keys")).toBeGreaterThanOrEqual(2n);
    // Nor in the database file, in any form SQLite wrote (PostgreSQL's files are not the test's to read).
    if (store instanceof SqliteStore) {
      store.database.pragma("wal_checkpoint(TRUNCATE)");
      const file = readFileSync(join(t.dir, "giftstream.db"));
      expect(file.includes(Buffer.from(body.key))).toBe(false);
      expect(file.includes(Buffer.from(adminKey))).toBe(false);
    }

    // A server key may not do admin work.
    const server = { authorization: `Bearer ${body.key}` };
    const denied = await t.app.inject({ method: "GET", url: "/v1/admin/api-keys", headers: server });
    expect(denied.statusCode).toBe(403);
    expect(denied.headers["content-type"]).toContain("application/problem+json");
    expect(denied.json()).toMatchObject({ code: "forbidden", status: 403 });
  });

  it.each([
    ["no header", {}],
    ["a wrong key", { authorization: "Bearer gs_wrongwrongwrongwrongwrongwrongwron" }],
    ["a non-bearer scheme", { authorization: `Basic ${adminKey}` }],
    ["an empty bearer", { authorization: "Bearer " }],
  ])("refuses %s with 401 unauthenticated", async (_name, headers) => {
    t = await openTestApp();
    const res = await t.app.inject({ method: "GET", url: "/v1/admin/api-keys", headers });
    expect(res.statusCode).toBe(401);
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="giftstream"');
    expect(res.json()).toMatchObject({ code: "unauthenticated" });
  });

  it.each([["bearer"], ["BEARER"], ["Bearer"]])(
    "takes the scheme spelt %s, case-insensitively",
    async (scheme) => {
      t = await openTestApp();
      const res = await t.app.inject({
        method: "GET",
        url: "/v1/admin/api-keys",
        headers: { authorization: `${scheme} ${adminKey}` },
      });
      expect(res.statusCode, res.body).toBe(200);
    },
  );

  it.each([
    ["an unknown field", { name: "x", scopes: ["server"], admin: true }],
    ["no scopes", { name: "x", scopes: [] }],
    ["an unknown scope", { name: "x", scopes: ["root"] }],
    ["a repeated scope", { name: "x", scopes: ["server", "server"] }],
    ["an empty name", { name: "", scopes: ["server"] }],
    ["a long name", { name: "x".repeat(101), scopes: ["server"] }],
    ["a number for a name", { name: 5, scopes: ["server"] }],
  ])("refuses %s with 400 and creates nothing", async (_name, body) => {
    t = await openTestApp();
    const before = await t.access.listKeys();
    const res = await createKey(t, body);
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: "invalid_request" });
    expect(await t.access.listKeys()).toEqual(before);
  });

  it("revokes a key so it no longer gets in, but never the last admin key", async () => {
    t = await openTestApp();
    const { id, key } = (await createKey(t, { name: "temp", scopes: ["admin"] })).json() as {
      id: string;
      key: string;
    };
    // Used once first, so that the key is in this process's cache when it is revoked: the
    // revocation must take it out, not leave it working until the cache would refresh.
    const used = await t.app.inject({
      method: "GET",
      url: "/v1/admin/api-keys",
      headers: { authorization: `Bearer ${key}` },
    });
    expect(used.statusCode).toBe(200);
    // One character off is another key: the whole secret is what is checked.
    const last = key.at(-1) === "A" ? "B" : "A";
    const near = await t.app.inject({
      method: "GET",
      url: "/v1/admin/api-keys",
      headers: { authorization: `Bearer ${key.slice(0, -1)}${last}` },
    });
    expect(near.statusCode).toBe(401);
    const revoke = await t.app.inject({
      method: "DELETE",
      url: `/v1/admin/api-keys/${id}`,
      headers: t.admin,
    });
    expect(revoke.statusCode).toBe(200);
    expect(revoke.json()).toMatchObject({ id, revokedAt: expect.any(String) });
    const after = await t.app.inject({
      method: "GET",
      url: "/v1/admin/api-keys",
      headers: { authorization: `Bearer ${key}` },
    });
    expect(after.statusCode).toBe(401);
    const again = await t.app.inject({ method: "DELETE", url: `/v1/admin/api-keys/${id}`, headers: t.admin });
    expect(again.statusCode).toBe(404);

    const seeded = (await t.access.listKeys()).find((k) => k.name === "GIFTSTREAM_API_KEY")!;
    const lastAdmin = await t.app.inject({
      method: "DELETE",
      url: `/v1/admin/api-keys/${seeded.id}`,
      headers: t.admin,
    });
    expect(lastAdmin.statusCode).toBe(409);
    expect(lastAdmin.json()).toMatchObject({ code: "last_admin_key" });
    expect((await t.access.authenticate(adminKey))?.id).toBe(seeded.id);
  });

  it("writes a key's creation and revocation with their audit entries, or neither", async () => {
    t = await openTestApp();
    const store = t.runtime.store;
    const first = (await createKey(t, { name: "one", scopes: ["server"] })).json() as { id: string };
    const second = (await createKey(t, { name: "two", scopes: ["server"] })).json() as { id: string };
    // Two revocations of one key at once: one revokes it, and only that one is audited.
    const revoke = (id: string) =>
      t!.app.inject({ method: "DELETE", url: `/v1/admin/api-keys/${id}`, headers: t!.admin });
    const both = await Promise.all([revoke(first.id), revoke(first.id)]);
    expect(both.map((r) => r.statusCode).sort()).toEqual([200, 404]);
    expect(await count(store, "audit_log", `action = 'api_key.revoke' AND target = '${first.id}'`)).toBe(1n);

    await refuseAuditWrites(store);
    const keys = await count(store, "api_keys");
    const audit = await count(store, "audit_log");
    expect((await createKey(t, { name: "unaudited", scopes: ["server"] })).statusCode).toBe(500);
    expect((await revoke(second.id)).statusCode).toBe(500);
    expect(await count(store, "api_keys")).toBe(keys);
    expect(await count(store, "api_keys", "revoked_at IS NULL AND name = 'two'")).toBe(1n);
    expect(await count(store, "audit_log")).toBe(audit);
  });

  it("grants bonus coins and sets a user's status with their audit entries, or not at all", async () => {
    t = await openTestApp();
    const app = t;
    const store = app.runtime.store;
    const put = await app.app.inject({
      method: "PUT",
      url: "/v1/users/amy",
      headers: app.admin,
      payload: { country: "US", birthDate: "1990-01-01", displayName: "Amy" },
    });
    expect(put.statusCode).toBe(201);
    const grant = (key: string) =>
      app.app.inject({
        method: "POST",
        url: "/v1/admin/users/amy/bonus",
        headers: { ...app.admin, "idempotency-key": key },
        payload: { coins: "50", reason: "welcome" },
      });
    const status = (action: string) =>
      app.app.inject({
        method: "POST",
        url: `/v1/admin/users/amy/${action}`,
        headers: app.admin,
        payload: {},
      });
    const granted = await grant("g1");
    expect(granted.statusCode, granted.body).toBe(201);
    expect((await status("block")).statusCode).toBe(200);
    expect((await status("unblock")).statusCode).toBe(200);
    // The entry names the grant's transfer, which the ledger numbered in the same transaction.
    const audit = (
      await app.app.inject({ method: "GET", url: "/v1/admin/audit?limit=3", headers: app.admin })
    ).json() as {
      data: { action: string; target: string; after: unknown }[];
    };
    expect(audit.data.map((e) => e.action)).toEqual(["user.unblock", "user.block", "user.bonus"]);
    const { transferId } = granted.json() as { transferId: string };
    expect(audit.data[2]).toMatchObject({
      target: "amy",
      after: { userId: "amy", coins: "50", reason: "welcome", transferId },
    });

    await refuseAuditWrites(store);
    const transfers = await count(store, "transfers");
    expect((await grant("g2")).statusCode).toBe(500);
    expect((await status("block")).statusCode).toBe(500);
    expect(await count(store, "transfers")).toBe(transfers);
    const amy = await app.app.inject({ method: "GET", url: "/v1/users/amy", headers: app.admin });
    expect(amy.json()).toMatchObject({ status: "active" });
    // A retry once the audit log is back grants the coins once, with its entry.
    await allowAuditWrites(store);
    expect((await grant("g2")).statusCode).toBe(201);
    expect(await count(store, "transfers")).toBe(transfers + 1n);
    expect(await count(store, "audit_log", "action = 'user.bonus'")).toBe(2n);
  });

  it("audits every admin action, newest first, with who, what, before and after", async () => {
    t = await openTestApp();
    const { id } = (await createKey(t, { name: "audited", scopes: ["server"] })).json() as { id: string };
    await t.app.inject({ method: "DELETE", url: `/v1/admin/api-keys/${id}`, headers: t.admin });
    const res = await t.app.inject({ method: "GET", url: "/v1/admin/audit?limit=2", headers: t.admin });
    expect(res.statusCode).toBe(200);
    const page = res.json() as {
      data: {
        action: string;
        target: string;
        actor: string;
        before: unknown;
        after: { revokedAt: unknown };
      }[];
      nextCursor: string | null;
    };
    expect(page.data.map((e) => e.action)).toEqual(["api_key.revoke", "api_key.create"]);
    expect(page.data[0]).toMatchObject({ target: id, before: { revokedAt: null } });
    expect(page.data[0]!.after.revokedAt).not.toBeNull();
    const seededId = (await t.access.listKeys()).find((k) => k.name === "GIFTSTREAM_API_KEY")!.id;
    expect(page.data[0]!.actor).toBe(seededId);
    expect(page.nextCursor).not.toBeNull();
    const rest = await t.app.inject({
      method: "GET",
      url: `/v1/admin/audit?cursor=${page.nextCursor}`,
      headers: t.admin,
    });
    expect((rest.json() as { data: { action: string }[] }).data.map((e) => e.action)).toEqual([
      "api_key.seed",
      "economy.seed",
    ]);
    const bad = await t.app.inject({ method: "GET", url: "/v1/admin/audit?limit=201", headers: t.admin });
    expect(bad.statusCode).toBe(400);
    // Matches the cursor's digits but is past a 64-bit row id: a 400, not the driver's RangeError.
    for (const cursor of ["9223372036854775808", "9999999999999999999"]) {
      const past = await t.app.inject({
        method: "GET",
        url: `/v1/admin/audit?cursor=${cursor}`,
        headers: t.admin,
      });
      expect(past.statusCode).toBe(400);
      expect(past.json()).toMatchObject({ code: "invalid_request" });
    }
    const last = await t.app.inject({
      method: "GET",
      url: "/v1/admin/audit?cursor=9223372036854775807",
      headers: t.admin,
    });
    expect(last.statusCode).toBe(200);
  });

  it("generates one admin key at first start when none is configured, and prints it once", async () => {
    const { mkdtempSync, rmSync } = await import("node:fs");
    const { tmpdir } = await import("node:os");
    const { pino } = await import("pino");
    const { composeApp } = await import("../src/cli/serve.js");
    const { loadConfig } = await import("../src/config/index.js");
    const dir = mkdtempSync(join(tmpdir(), "giftstream-seed-"));
    try {
      const config = loadConfig({ env: { GIFTSTREAM_DATA_DIR: dir } });
      const printed: string[] = [];
      const first = await composeApp(config, pino({ level: "silent" }), { print: (l) => printed.push(l) });
      await first.close();
      const second = await composeApp(config, pino({ level: "silent" }), { print: (l) => printed.push(l) });
      await second.app.ready();
      expect(printed).toHaveLength(1);
      const secret = /gs_[A-Za-z0-9_-]{32}/.exec(printed[0]!)![0];
      const res = await second.app.inject({
        method: "GET",
        url: "/v1/admin/api-keys",
        headers: { authorization: `Bearer ${secret}` },
      });
      expect(res.statusCode).toBe(200);
      expect((res.json() as { data: unknown[] }).data).toHaveLength(1);
      await second.close();
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
