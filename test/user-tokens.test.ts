import { randomBytes } from "node:crypto";
import { statSync } from "node:fs";
import { join } from "node:path";
import { decodeJwt, decodeProtectedHeader } from "jose";
import { afterEach, describe, expect, it } from "vitest";
import { tokenKeysFileName } from "../src/access/token-key-source.js";
import { openTestApp, type TestApp } from "./support/app.js";
import { bearer, craftToken, mintToken, signingKeyOf, unsignedToken } from "./support/tokens.js";

let t: TestApp | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

let n = 0;
const idem = () => ({ "idempotency-key": `ut-${n++}` });

/** A test-mode app with alice (who has coins), bob and the creator carol, its clock frozen. */
async function setup(overrides: object = {}): Promise<TestApp> {
  t = await openTestApp({ testMode: true, ...overrides });
  t.clock.set(Date.parse("2031-03-01T12:00:00Z"));
  for (const id of ["alice", "bob", "carol"]) {
    const res = await t.app.inject({
      method: "PUT",
      url: `/v1/users/${id}`,
      headers: t.admin,
      payload: { country: "US", birthDate: "1990-01-01", displayName: id },
    });
    expect(res.statusCode).toBe(201);
  }
  const bonus = await t.app.inject({
    method: "POST",
    url: "/v1/admin/users/alice/bonus",
    headers: { ...t.admin, ...idem() },
    payload: { coins: "1000" },
  });
  expect(bonus.statusCode).toBe(201);
  return t;
}

const wallet = (app: TestApp, userId: string, credential: string) =>
  app.app.inject({ method: "GET", url: `/v1/users/${userId}/wallet`, headers: bearer(credential) });

const gift = (senderId: string, extra: object = {}) => ({
  senderId,
  recipientId: "carol",
  giftId: "rose",
  quantity: 1,
  context: { type: "live", id: "stream-1" },
  ...extra,
});

describe("minting user tokens", () => {
  it("mints a short-lived HS256 JWT with sub, jti, iat, exp and kid, never cached", async () => {
    const app = await setup();
    const res = await app.app.inject({ method: "POST", url: "/v1/users/alice/tokens", headers: app.admin });
    expect(res.statusCode).toBe(201);
    expect(res.headers["cache-control"]).toBe("no-store");
    const body = res.json() as { token: string; tokenId: string; userId: string; expiresAt: string };
    expect(body).toMatchObject({
      tokenType: "Bearer",
      userId: "alice",
      issuedAt: "2031-03-01T12:00:00.000Z",
    });
    expect(body.expiresAt).toBe("2031-03-01T12:15:00.000Z");
    const header = decodeProtectedHeader(body.token);
    expect(header).toEqual({ alg: "HS256", typ: "JWT", kid: signingKeyOf(app).kid });
    const claims = decodeJwt(body.token);
    expect(claims).toEqual({
      iss: "giftstream",
      sub: "alice",
      jti: body.tokenId,
      iat: Date.parse("2031-03-01T12:00:00Z") / 1000,
      exp: Date.parse("2031-03-01T12:15:00Z") / 1000,
    });
    expect(body.tokenId).toMatch(/^utk_/);
    expect((await wallet(app, "alice", body.token)).statusCode).toBe(200);
  });

  it("generates its signing key into the data directory, readable by the owner only", async () => {
    const app = await setup();
    const mode = statSync(join(app.dir, tokenKeysFileName)).mode & 0o777;
    expect(mode).toBe(0o600);
  });

  it("mints for a server key, with a shorter lifetime on request, never longer than configured", async () => {
    const app = await setup({ auth: { userTokenTtlMs: 60_000 } });
    const created = await app.app.inject({
      method: "POST",
      url: "/v1/admin/api-keys",
      headers: app.admin,
      payload: { name: "backend", scopes: ["server"] },
    });
    const server = bearer((created.json() as { key: string }).key);
    const short = await app.app.inject({
      method: "POST",
      url: "/v1/users/bob/tokens",
      headers: server,
      payload: { ttlMs: 30_000 },
    });
    expect(short.statusCode).toBe(201);
    expect(short.json()).toMatchObject({ expiresAt: "2031-03-01T12:00:30.000Z" });
    const long = await app.app.inject({
      method: "POST",
      url: "/v1/users/bob/tokens",
      headers: server,
      payload: { ttlMs: 60_001 },
    });
    expect(long.statusCode).toBe(400);
    expect(long.json()).toMatchObject({ code: "invalid_request" });
  });

  it.each([
    ["a lifetime under a second", { ttlMs: 999 }],
    ["a fractional lifetime", { ttlMs: 1500.5 }],
    ["a string lifetime", { ttlMs: "60000" }],
    ["an unknown field", { sub: "bob" }],
  ])("refuses %s with 400", async (_name, payload) => {
    const app = await setup();
    const res = await app.app.inject({
      method: "POST",
      url: "/v1/users/alice/tokens",
      headers: app.admin,
      payload,
    });
    expect(res.statusCode).toBe(400);
    expect(res.json()).toMatchObject({ code: "invalid_request" });
  });

  it("refuses a user that does not exist, and a user token asking for a token", async () => {
    const app = await setup();
    const ghost = await app.app.inject({ method: "POST", url: "/v1/users/ghost/tokens", headers: app.admin });
    expect(ghost.statusCode).toBe(404);
    const own = await mintToken(app, "alice");
    const again = await app.app.inject({
      method: "POST",
      url: "/v1/users/alice/tokens",
      headers: bearer(own),
    });
    expect(again.statusCode).toBe(403);
    expect(again.json()).toMatchObject({ code: "forbidden" });
  });
});

describe("verifying user tokens", () => {
  async function refused(app: TestApp, token: string, detail: RegExp) {
    const res = await wallet(app, "alice", token);
    expect(res.statusCode, res.body).toBe(401);
    expect(res.headers["content-type"]).toContain("application/problem+json");
    expect(res.headers["www-authenticate"]).toBe('Bearer realm="giftstream", error="invalid_token"');
    expect(res.json()).toMatchObject({ code: "unauthenticated", detail: expect.stringMatching(detail) });
  }

  it("refuses alg none", async () => {
    const app = await setup();
    await refused(app, unsignedToken(app), /HS256/);
  });

  it("refuses other algorithms, even signed with the right secret", async () => {
    const app = await setup();
    await refused(app, await craftToken(app, { alg: "HS512" }), /HS256/);
    await refused(app, await craftToken(app, { alg: "HS384" }), /HS256/);
  });

  it("accepts a token signed with the server's own key, which shows the crafted ones fail for their flaw alone", async () => {
    const app = await setup();
    expect((await wallet(app, "alice", await craftToken(app))).statusCode).toBe(200);
  });

  it("refuses a wrong signature", async () => {
    const app = await setup();
    await refused(app, await craftToken(app, { secret: randomBytes(32) }), /signature/);
    const good = await mintToken(app, "alice");
    const [header, payload] = good.split(".");
    const forgedPayload = Buffer.from(JSON.stringify({ ...decodeJwt(good), sub: "bob" })).toString(
      "base64url",
    );
    await refused(app, `${header}.${forgedPayload}.${good.split(".")[2]}`, /signature/);
    await refused(app, `${header}.${payload}.${"A".repeat(43)}`, /signature/);
  });

  it.each([
    ["a truncated token", (tok: string) => tok.split(".").slice(0, 2).join(".")],
    ["a header that is not JSON", (tok: string) => `eyJub3Rqc29u.${tok.split(".")[1]}.${tok.split(".")[2]}`],
    ["a payload that is not JSON", (tok: string) => `${tok.split(".")[0]}.bm90anNvbg.${tok.split(".")[2]}`],
    ["an empty signature", (tok: string) => `${tok.split(".")[0]}.${tok.split(".")[1]}.`],
  ])("refuses %s", async (_name, mangle) => {
    const app = await setup();
    const res = await wallet(app, "alice", mangle(await mintToken(app, "alice")));
    expect(res.statusCode).toBe(401);
    expect(res.json()).toMatchObject({ code: "unauthenticated" });
  });

  it("refuses a token without a kid, with an unknown kid, or missing a claim", async () => {
    const app = await setup();
    await refused(app, await craftToken(app, { kid: null }), /kid/);
    await refused(app, await craftToken(app, { kid: "tkey_unknown" }), /unknown or retired/);
    await refused(app, await craftToken(app, { claims: { jti: undefined } }), /malformed/);
    await refused(app, await craftToken(app, { claims: { iss: "someone-else" } }), /malformed/);
    await refused(app, await craftToken(app, { claims: { sub: 42 } }), /malformed/);
    // A subject that is no user id: never one to look up, or to act as.
    await refused(app, await craftToken(app, { claims: { sub: "../alice" } }), /malformed/);
    await refused(app, await craftToken(app, { claims: { sub: "a".repeat(500) } }), /malformed/);
  });

  it("refuses a token that lives longer than auth.userTokenTtlMs, even correctly signed", async () => {
    const app = await setup();
    const nowS = Math.floor(app.clock.now() / 1000);
    await refused(app, await craftToken(app, { claims: { iat: nowS, exp: nowS + 901 } }), /longer/);
  });

  it("refuses an expired token, on the service clock", async () => {
    const app = await setup();
    const token = await mintToken(app, "alice", 60_000);
    app.clock.set(app.clock.now() + 59_000);
    expect((await wallet(app, "alice", token)).statusCode).toBe(200);
    app.clock.set(app.clock.now() + 1000);
    await refused(app, token, /expired/);
  });

  it("lets a valid token for a user that does not exist reach the route, which finds no user", async () => {
    const app = await setup();
    const token = await craftToken(app, { claims: { sub: "ghost" } });
    const res = await wallet(app, "ghost", token);
    expect(res.statusCode).toBe(404);
    expect((await wallet(app, "alice", token)).statusCode).toBe(403);
  });
});

describe("rotating the signing key", () => {
  const rotate = (app: TestApp, payload: object = {}) =>
    app.app.inject({ method: "POST", url: "/v1/admin/token-keys/rotate", headers: app.admin, payload });

  it("signs with a fresh key; a token of the old key stays valid until it expires; audited", async () => {
    const app = await setup();
    const old = await mintToken(app, "alice");
    const oldKid = decodeProtectedHeader(old).kid;
    const res = await rotate(app);
    expect(res.statusCode).toBe(200);
    const keys = res.json() as {
      source: string;
      data: { kid: string; signing: boolean; retiresAt: string | null }[];
    };
    expect(keys.source).toBe("file");
    expect(keys.data).toHaveLength(2);
    expect(keys.data[0]).toMatchObject({ signing: true, retiresAt: null });
    // Retired once every token it signed has expired (15 min), plus the reload interval.
    expect(keys.data[1]).toMatchObject({
      kid: oldKid,
      signing: false,
      retiresAt: "2031-03-01T12:15:05.000Z",
    });
    expect(JSON.stringify(keys)).not.toContain(Buffer.from(signingKeyOf(app).secret).toString("base64url"));

    const fresh = await mintToken(app, "alice");
    expect(decodeProtectedHeader(fresh).kid).toBe(keys.data[0]!.kid);
    expect((await wallet(app, "alice", old)).statusCode).toBe(200);
    expect((await wallet(app, "alice", fresh)).statusCode).toBe(200);

    const audit = await app.app.inject({ method: "GET", url: "/v1/admin/audit?limit=1", headers: app.admin });
    const seeded = (await app.access.listKeys()).find((k) => k.name === "GIFTSTREAM_API_KEY")!;
    expect(audit.json().data[0]).toMatchObject({
      actor: seeded.id,
      action: "token_key.rotate",
      target: keys.data[0]!.kid,
    });
    expect(JSON.stringify(audit.json())).not.toContain(
      Buffer.from(signingKeyOf(app).secret).toString("base64url"),
    );

    app.clock.set(Date.parse("2031-03-01T12:15:00Z"));
    expect((await wallet(app, "alice", old)).statusCode).toBe(401);
    app.clock.set(Date.parse("2031-03-01T12:15:05Z"));
    const listed = await app.app.inject({ method: "GET", url: "/v1/admin/token-keys", headers: app.admin });
    expect((listed.json() as { data: unknown[] }).data).toHaveLength(1);
  });

  it("with retirePrevious, old tokens stop working at once", async () => {
    const app = await setup();
    const old = await mintToken(app, "alice");
    // Verified once, so that a remembered verification must not outlive the key either.
    expect((await wallet(app, "alice", old)).statusCode).toBe(200);
    const res = await rotate(app, { retirePrevious: true });
    expect((res.json() as { data: unknown[] }).data).toHaveLength(1);
    expect((await wallet(app, "alice", old)).statusCode).toBe(401);
    expect((await wallet(app, "alice", await mintToken(app, "alice"))).statusCode).toBe(200);
  });

  it("keeps the keys across a restart", async () => {
    const app = await setup();
    const token = await mintToken(app, "alice");
    await rotate(app);
    const { UserTokens } = await import("../src/access/user-tokens.js");
    const { FileTokenKeySource } = await import("../src/access/token-key-file.js");
    const reopened = new UserTokens({
      source: new FileTokenKeySource(join(app.dir, tokenKeysFileName), app.clock.now),
      clock: app.clock.now,
      ttlMs: 900_000,
    });
    expect((await reopened.verify(token)).userId).toBe("alice");
    expect(reopened.view().map((k) => k.kid)).toEqual(app.tokens.view().map((k) => k.kid));
  });

  it("with secrets from the environment: verifies the previous secret's tokens, and refuses API rotation", async () => {
    const first = await setup({ auth: { tokenSecret: "a".repeat(40) } });
    const token = await mintToken(first, "alice");
    expect(decodeProtectedHeader(token).kid).toMatch(/^env_/);
    await first.dispose();
    t = null;
    const second = await setup({
      auth: { tokenSecret: "b".repeat(40), tokenSecretPrevious: "a".repeat(40) },
    });
    expect((await wallet(second, "alice", token)).statusCode).toBe(200);
    const res = await rotate(second);
    expect(res.statusCode).toBe(409);
    expect(res.json()).toMatchObject({ code: "token_keys_from_env" });
    await second.dispose();
    t = null;
    const third = await setup({ auth: { tokenSecret: "b".repeat(40) } });
    expect((await wallet(third, "alice", token)).statusCode).toBe(401);
  });
});

describe("what a user token may do", () => {
  it("reads only its own wallet, history, user record and purchases", async () => {
    const app = await setup();
    const alice = await mintToken(app, "alice");
    for (const path of ["", "/wallet", "/transactions", "/purchases"]) {
      const own = await app.app.inject({
        method: "GET",
        url: `/v1/users/alice${path}`,
        headers: bearer(alice),
      });
      expect(own.statusCode, path).toBe(200);
      const other = await app.app.inject({
        method: "GET",
        url: `/v1/users/bob${path}`,
        headers: bearer(alice),
      });
      expect(other.statusCode, path).toBe(403);
      expect(other.json()).toMatchObject({ code: "forbidden" });
    }
  });

  it("buys coins only for itself, and reads only its own purchases", async () => {
    const app = await setup();
    const alice = await mintToken(app, "alice");
    const bob = await mintToken(app, "bob");
    const buy = (credential: string, userId: string) =>
      app.app.inject({
        method: "POST",
        url: "/v1/purchases",
        headers: { ...bearer(credential), ...idem() },
        payload: { userId, packId: "us-100", provider: "test" },
      });
    const own = await buy(alice, "alice");
    expect(own.statusCode).toBe(201);
    const forBob = await buy(alice, "bob");
    expect(forBob.statusCode).toBe(403);
    expect(await app.purchases.listByUser("bob", null, 10)).toEqual([]);
    const id = (own.json() as { id: string }).id;
    const read = (credential: string) =>
      app.app.inject({ method: "GET", url: `/v1/purchases/${id}`, headers: bearer(credential) });
    expect((await read(alice)).statusCode).toBe(200);
    expect((await read(bob)).statusCode).toBe(403);
    const refund = await app.app.inject({
      method: "POST",
      url: `/v1/purchases/${id}/refund`,
      headers: { ...bearer(alice), ...idem() },
    });
    expect(refund.statusCode).toBe(403);
  });

  it("sends gifts only as its own sender; a batch with one other sender is refused whole", async () => {
    const app = await setup();
    const alice = await mintToken(app, "alice");
    const bob = await mintToken(app, "bob");
    const send = (credential: string, body: object) =>
      app.app.inject({
        method: "POST",
        url: "/v1/gifts/send",
        headers: { ...bearer(credential), ...idem() },
        payload: body,
      });
    expect((await send(alice, gift("alice"))).statusCode).toBe(201);
    const asAlice = await send(bob, gift("alice"));
    expect(asAlice.statusCode).toBe(403);
    const coins = async () =>
      (await app.runtime.ledger.balances(["user:alice:coins:bonus"])).get("user:alice:coins:bonus")?.posted;
    const before = await coins();
    const batch = await app.app.inject({
      method: "POST",
      url: "/v1/gifts/send-batch",
      headers: { ...bearer(alice), ...idem() },
      payload: {
        gifts: [
          { id: "1", ...gift("alice") },
          { id: "2", ...gift("bob") },
        ],
      },
    });
    expect(batch.statusCode).toBe(403);
    expect(await coins()).toBe(before);
    const ownBatch = await app.app.inject({
      method: "POST",
      url: "/v1/gifts/send-batch",
      headers: { ...bearer(alice), ...idem() },
      payload: {
        gifts: [
          { id: "1", ...gift("alice") },
          { id: "2", ...gift("alice") },
        ],
      },
    });
    expect(ownBatch.statusCode).toBe(200);
    expect((ownBatch.json() as { results: { ok: boolean }[] }).results.map((r) => r.ok)).toEqual([
      true,
      true,
    ]);
  });

  it("keeps its idempotency keys apart from an operator key's", async () => {
    const app = await setup();
    const alice = await mintToken(app, "alice");
    const key = { "idempotency-key": "shared-key" };
    const asUser = await app.app.inject({
      method: "POST",
      url: "/v1/gifts/send",
      headers: { ...bearer(alice), ...key },
      payload: gift("alice"),
    });
    const asOperator = await app.app.inject({
      method: "POST",
      url: "/v1/gifts/send",
      headers: { ...app.admin, ...key },
      payload: gift("alice"),
    });
    expect(asUser.statusCode).toBe(201);
    expect(asOperator.statusCode).toBe(201);
    expect(asOperator.headers["idempotent-replayed"]).toBeUndefined();
    expect(asOperator.json().id).not.toBe(asUser.json().id);
    const replay = await app.app.inject({
      method: "POST",
      url: "/v1/gifts/send",
      headers: { ...bearer(alice), ...key },
      payload: gift("alice"),
    });
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.json().id).toBe(asUser.json().id);
  });

  it("reads the gift catalog and price list, and nothing of the operator's", async () => {
    const app = await setup();
    const alice = bearer(await mintToken(app, "alice"));
    expect((await app.app.inject({ method: "GET", url: "/v1/gifts", headers: alice })).statusCode).toBe(200);
    const packs = await app.app.inject({ method: "GET", url: "/v1/coin-packs?country=US", headers: alice });
    expect(packs.statusCode).toBe(200);
    for (const url of ["/v1/admin/api-keys", "/v1/admin/audit", "/v1/admin/token-keys", "/v1/test/clock"]) {
      const res = await app.app.inject({ method: "GET", url, headers: alice });
      expect(res.statusCode, url).toBe(403);
    }
  });
});

describe("actorOf", () => {
  it("names a user token's user apart from any key", async () => {
    const { actorOf } = await import("../src/api/auth.js");
    expect(actorOf({ kind: "user", userId: "alice", tokenId: "utk_x", expiresAt: 0 })).toBe("user:alice");
    expect(actorOf(null)).toBe("anonymous");
  });
});
