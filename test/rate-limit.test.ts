import { setTimeout as sleep } from "node:timers/promises";
import { afterEach, describe, expect, it } from "vitest";
import { openTestApp, type TestApp } from "./support/app.js";
import { bearer, mintToken } from "./support/tokens.js";

let t: TestApp | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

let n = 0;
const idem = () => ({ "idempotency-key": `rl-${n++}` });

/**
 * Windows of a whole second: short enough to wait out, long enough that a loaded machine still
 * sends a test's few requests inside one window.
 */
const windowMs = 1000;

async function setup(limits: object, overrides: object = {}): Promise<TestApp> {
  t = await openTestApp({
    testMode: true,
    rateLimit: { windowMs, ...limits },
    ...overrides,
  });
  return t;
}

async function putUser(app: TestApp, id: string) {
  const res = await app.app.inject({
    method: "PUT",
    url: `/v1/users/${id}`,
    headers: app.admin,
    payload: { country: "US", birthDate: "1990-01-01", displayName: id },
  });
  expect(res.statusCode).toBe(201);
}

/** The 429 the API answers: problem+json `rate_limited`, with `Retry-After` in whole seconds. */
function expectLimited(res: { statusCode: number; headers: Record<string, unknown>; json(): unknown }) {
  expect(res.statusCode).toBe(429);
  expect(res.headers["content-type"]).toContain("application/problem+json");
  expect(res.headers["retry-after"]).toBe("1");
  expect(res.json()).toMatchObject({
    code: "rate_limited",
    status: 429,
    type: expect.stringContaining("rate_limited"),
  });
}

/** Waits out the window the last answer named. */
const waitOut = (res: { headers: Record<string, unknown> }) =>
  sleep(Number(res.headers["retry-after"]) * 1000 + 50);

describe("request limits", () => {
  it("limits an API key per window, not its neighbours, and lets it in again after the window", async () => {
    const app = await setup({ apiKeyRequestsMax: 5 });
    const get = (headers: Record<string, string>) =>
      app.app.inject({ method: "GET", url: "/v1/gifts", headers });
    const created = await app.app.inject({
      method: "POST",
      url: "/v1/admin/api-keys",
      headers: app.admin,
      payload: { name: "other", scopes: ["server"] },
    });
    const other = bearer((created.json() as { key: string }).key);
    for (let i = 0; i < 4; i++) expect((await get(app.admin)).statusCode).toBe(200);
    const limited = await get(app.admin);
    expectLimited(limited);
    expect(limited.headers["x-ratelimit-limit"]).toBe("5");
    expect(limited.headers["x-ratelimit-remaining"]).toBe("0");
    expect((await get(other)).statusCode).toBe(200);
    await waitOut(limited);
    expect((await get(app.admin)).statusCode).toBe(200);
  });

  it("adds no rate-limit headers while under the limit", async () => {
    const app = await setup({});
    const res = await app.app.inject({ method: "GET", url: "/v1/gifts", headers: app.admin });
    expect(res.statusCode).toBe(200);
    expect(res.headers["x-ratelimit-limit"]).toBeUndefined();
    expect(res.headers["retry-after"]).toBeUndefined();
  });

  it("limits a user across all of its tokens, apart from other users and the operator", async () => {
    const app = await setup({ userRequestsMax: 3 });
    await putUser(app, "alice");
    await putUser(app, "bob");
    const first = bearer(await mintToken(app, "alice"));
    const second = bearer(await mintToken(app, "alice"));
    const bob = bearer(await mintToken(app, "bob"));
    const wallet = (userId: string, headers: Record<string, string>) =>
      app.app.inject({ method: "GET", url: `/v1/users/${userId}/wallet`, headers });
    for (let i = 0; i < 3; i++) expect((await wallet("alice", first)).statusCode).toBe(200);
    const limited = await wallet("alice", second);
    expectLimited(limited);
    expect((await wallet("bob", bob)).statusCode).toBe(200);
    expect((await wallet("alice", app.admin)).statusCode).toBe(200);
    await waitOut(limited);
    expect((await wallet("alice", second)).statusCode).toBe(200);
  });

  it("limits requests without credentials per address", async () => {
    const app = await setup(
      { anonymousRequestsMax: 2 },
      {
        payments: {
          stripe: { secretKey: "sk_test_rl", webhookSecret: "whsec_rl", apiUrl: "http://127.0.0.1:9" },
        },
      },
    );
    const hook = (remoteAddress: string) =>
      app.app.inject({
        method: "POST",
        url: "/v1/webhooks/stripe",
        headers: { "content-type": "application/json" },
        payload: "{}",
        remoteAddress,
      });
    expect((await hook("203.0.113.1")).statusCode).toBe(400);
    expect((await hook("203.0.113.1")).statusCode).toBe(400);
    expectLimited(await hook("203.0.113.1"));
    expect((await hook("203.0.113.2")).statusCode).toBe(400);
    // Health is for load balancers: never limited.
    for (let i = 0; i < 3; i++) {
      const health = await app.app.inject({ method: "GET", url: "/healthz", remoteAddress: "203.0.113.1" });
      expect(health.statusCode).toBe(200);
    }
  });

  it("keeps the defaults far above what one operator key sends in a benchmark", async () => {
    const app = await setup({});
    expect(app.runtime.config.rateLimit).toMatchObject({ apiKeyRequestsMax: 100_000, windowMs });
  });
});

describe("the gift limit per sender", () => {
  async function giftApp(limits: object) {
    const app = await setup({ senderGiftsMax: 3, ...limits });
    for (const id of ["alice", "bob", "carol"]) await putUser(app, id);
    for (const id of ["alice", "bob"]) {
      const bonus = await app.app.inject({
        method: "POST",
        url: `/v1/admin/users/${id}/bonus`,
        headers: { ...app.admin, ...idem() },
        payload: { coins: "10000" },
      });
      expect(bonus.statusCode).toBe(201);
    }
    return app;
  }
  const gift = (senderId: string, id?: string) => ({
    ...(id === undefined ? {} : { id }),
    senderId,
    recipientId: "carol",
    giftId: "rose",
    quantity: 5,
    context: { type: "live", id: "stream-1" },
  });
  const send = (app: TestApp, senderId: string, headers: Record<string, string> = app.admin) =>
    app.app.inject({
      method: "POST",
      url: "/v1/gifts/send",
      headers: { ...headers, ...idem() },
      payload: gift(senderId),
    });
  const batch = (app: TestApp, senderIds: string[]) =>
    app.app.inject({
      method: "POST",
      url: "/v1/gifts/send-batch",
      headers: { ...app.admin, ...idem() },
      payload: { gifts: senderIds.map((s, i) => gift(s, String(i))) },
    });
  const coins = async (app: TestApp, userId: string) => {
    const id = `user:${userId}:coins:bonus`;
    return (await app.runtime.ledger.balances([id])).get(id)?.posted;
  };

  it("counts gifts per sender, whatever their quantity, and sends nothing past the limit", async () => {
    const app = await giftApp({});
    for (let i = 0; i < 3; i++) expect((await send(app, "alice")).statusCode).toBe(201);
    const before = await coins(app, "alice");
    const limited = await send(app, "alice");
    expectLimited(limited);
    expect(await coins(app, "alice")).toBe(before);
    // The same operator key, another sender: not limited.
    expect((await send(app, "bob")).statusCode).toBe(201);
    await waitOut(limited);
    expect((await send(app, "alice")).statusCode).toBe(201);
  });

  it("answers the retry of a gift already sent with its receipt, even past the limit", async () => {
    const app = await giftApp({});
    const first = await app.app.inject({
      method: "POST",
      url: "/v1/gifts/send",
      headers: { ...app.admin, "idempotency-key": "rl-retry" },
      payload: gift("alice"),
    });
    expect(first.statusCode).toBe(201);
    for (let i = 0; i < 2; i++) expect((await send(app, "alice")).statusCode).toBe(201);
    expectLimited(await send(app, "alice"));
    const before = await coins(app, "alice");
    const retry = await app.app.inject({
      method: "POST",
      url: "/v1/gifts/send",
      headers: { ...app.admin, "idempotency-key": "rl-retry" },
      payload: gift("alice"),
    });
    expect(retry.statusCode, retry.body).toBe(201);
    expect(retry.json()).toEqual(first.json());
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.headers["retry-after"]).toBeUndefined();
    expect(await coins(app, "alice")).toBe(before);
    // The same key with another body is still refused, and a new key is still limited.
    const other = await app.app.inject({
      method: "POST",
      url: "/v1/gifts/send",
      headers: { ...app.admin, "idempotency-key": "rl-retry" },
      payload: { ...gift("alice"), quantity: 6 },
    });
    expect(other.statusCode).toBe(422);
    expect(other.json()).toMatchObject({ code: "idempotency_key_reused" });
    expect(other.headers["retry-after"]).toBeUndefined();
    expectLimited(await send(app, "alice"));
    expect(await coins(app, "alice")).toBe(before);
  });

  it("counts each gift of a batch, and refuses a batch whole when one sender would pass the limit", async () => {
    const app = await giftApp({});
    expect((await send(app, "bob")).statusCode).toBe(201);
    const before = { alice: await coins(app, "alice"), bob: await coins(app, "bob") };
    // alice's 2 fit; bob's 3 would make 4.
    const refused = await batch(app, ["alice", "bob", "alice", "bob", "bob"]);
    expectLimited(refused);
    expect({ alice: await coins(app, "alice"), bob: await coins(app, "bob") }).toEqual(before);
    // Nothing of the refused batch was counted: alice still has all 3.
    const ok = await batch(app, ["alice", "alice", "alice", "bob", "bob"]);
    expect(ok.statusCode).toBe(200);
    expect((ok.json() as { results: { ok: boolean }[] }).results.every((r) => r.ok)).toBe(true);
    expectLimited(await send(app, "bob"));
  });

  it("answers the retry of a batch whose every gift was sent with its first answers, even past the limit", async () => {
    const app = await giftApp({});
    const sendBatch = (key: string, senderIds: string[], quantity = 5) =>
      app.app.inject({
        method: "POST",
        url: "/v1/gifts/send-batch",
        headers: { ...app.admin, "idempotency-key": key },
        payload: { gifts: senderIds.map((s, i) => ({ ...gift(s, String(i)), quantity })) },
      });
    const first = await sendBatch("rl-batch", ["alice", "alice"]);
    expect(first.statusCode, first.body).toBe(200);
    expect(await sendBatch("rl-other", ["alice"]).then((r) => r.statusCode)).toBe(200);
    expectLimited(await send(app, "alice"));
    const before = await coins(app, "alice");
    const retry = await sendBatch("rl-batch", ["alice", "alice"]);
    expect(retry.statusCode, retry.body).toBe(200);
    expect(retry.json()).toEqual(first.json());
    expect(retry.headers["retry-after"]).toBeUndefined();
    expect(await coins(app, "alice")).toBe(before);
    // The same key with another body: refused as reused, without Retry-After.
    const reused = await sendBatch("rl-batch", ["alice", "alice"], 6);
    expect(reused.statusCode).toBe(422);
    expect(reused.json()).toMatchObject({ code: "idempotency_key_reused" });
    expect(reused.headers["retry-after"]).toBeUndefined();
    expect(await coins(app, "alice")).toBe(before);
  });

  it("keeps refusing the retry of a batch with a gift that was refused, as the retry would send it", async () => {
    const app = await giftApp({});
    await putUser(app, "dave"); // no coins: dave's gift is refused, and has no record
    const sendBatch = () =>
      app.app.inject({
        method: "POST",
        url: "/v1/gifts/send-batch",
        headers: { ...app.admin, "idempotency-key": "rl-partial" },
        payload: { gifts: [gift("alice", "0"), gift("dave", "1")] },
      });
    const first = await sendBatch();
    expect(first.statusCode, first.body).toBe(200);
    expect((first.json() as { results: { ok: boolean; code?: string }[] }).results).toMatchObject([
      { ok: true },
      { ok: false, code: "insufficient_coins" },
    ]);
    // dave's refused gift counted: two more reach the limit.
    for (let i = 0; i < 2; i++) expect((await send(app, "dave")).statusCode).toBe(422);
    expectLimited(await send(app, "dave"));
    const before = await coins(app, "alice");
    expectLimited(await sendBatch());
    expect(await coins(app, "alice")).toBe(before);
  });

  it("applies to user tokens too, after the check that the token sends as itself", async () => {
    const app = await giftApp({});
    const bob = bearer(await mintToken(app, "bob"));
    // Bob's token may not spend alice's budget: refused before it is counted.
    for (let i = 0; i < 5; i++) expect((await send(app, "alice", bob)).statusCode).toBe(403);
    for (let i = 0; i < 3; i++) expect((await send(app, "alice")).statusCode).toBe(201);
    for (let i = 0; i < 3; i++) expect((await send(app, "bob", bob)).statusCode).toBe(201);
    expectLimited(await send(app, "bob", bob));
  });
});
