import { hash } from "node:crypto";
import { validate } from "@readme/openapi-parser";
import { configure } from "safe-stable-stringify";
import { afterEach, describe, expect, it } from "vitest";
import {
  type CreatorApp,
  earn,
  linkPaypal,
  openCreatorApp,
  requestCashout,
  verify,
  wallet,
} from "./support/creator.js";
import { allowAuditWrites, count, refuseAuditWrites, tableRows } from "./support/sql.js";
import { bearer, mintToken } from "./support/tokens.js";

let t: CreatorApp | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

const canonical = configure({ deterministic: true, bigint: true });

let n = 0;
const newKey = () => `replay-${process.pid}-${n++}`;

const endpoint = { url: "https://hooks.example.com/giftstream", events: ["gift.sent"] };

function createEndpoint(app: CreatorApp, key: string | undefined, payload: object = endpoint, headers = {}) {
  return app.inject("POST", "/v1/webhook-endpoints", payload, {
    ...(key === undefined ? {} : { "idempotency-key": key }),
    ...headers,
  });
}

const endpoints = (app: CreatorApp) => count(app.runtime.store, "webhook_endpoints");

describe("an Idempotency-Key on a POST that moves no value (DESIGN §5: a replay returns the first response)", () => {
  it("replays the first answer, byte for byte, and the request runs once", async () => {
    t = await openCreatorApp();
    const key = newKey();
    const first = await createEndpoint(t, key);
    expect(first.statusCode, first.body).toBe(201);
    expect(first.headers["idempotent-replayed"]).toBeUndefined();
    const again = await createEndpoint(t, key);
    expect(again.statusCode).toBe(201);
    expect(again.body).toBe(first.body);
    expect(again.headers["content-type"]).toBe(first.headers["content-type"]);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(await endpoints(t)).toBe(1n);

    // Without a key each request runs, as before.
    expect((await createEndpoint(t, undefined)).statusCode).toBe(201);
    expect((await createEndpoint(t, undefined)).statusCode).toBe(201);
    expect(await endpoints(t)).toBe(3n);
  });

  it("refuses the key with another body (422) or while its request runs (409), and changes nothing", async () => {
    t = await openCreatorApp();
    const key = newKey();
    expect((await createEndpoint(t, key)).statusCode).toBe(201);
    const other = await createEndpoint(t, key, { ...endpoint, events: ["*"] });
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe("idempotency_key_reused");
    expect(other.headers["content-type"]).toMatch(/^application\/problem\+json/);
    expect(await endpoints(t)).toBe(1n);

    // Twenty at once with one new key: one runs, the rest are replays of it or 409s.
    const shared = newKey();
    const answers = await Promise.all(Array.from({ length: 20 }, () => createEndpoint(t!, shared)));
    const created = answers.filter((a) => a.statusCode === 201);
    expect(created.length).toBeGreaterThanOrEqual(1);
    expect(new Set(created.map((a) => a.json().id)).size).toBe(1);
    for (const a of answers.filter((x) => x.statusCode !== 201)) {
      expect(a.statusCode).toBe(409);
      expect(a.json().code).toBe("idempotency_key_in_use");
    }
    expect(await endpoints(t)).toBe(2n);
  });

  it.each([
    ["blank", ""],
    ["a space", "a key"],
    ["256 characters", "k".repeat(256)],
    ["non-ASCII", "clé"],
  ])("refuses a malformed key (%s) with 400, and runs nothing", async (_name, key) => {
    t ??= await openCreatorApp();
    const before = await endpoints(t);
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/webhook-endpoints",
      headers: { ...t.admin, "idempotency-key": key },
      payload: endpoint,
    });
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json().code).toBe("invalid_request");
    expect(await endpoints(t)).toBe(before);
  });

  it("scopes a key to its caller and route: another caller, or another route, runs its own request", async () => {
    t = await openCreatorApp();
    const key = newKey();
    expect((await createEndpoint(t, key)).statusCode).toBe(201);
    const created = await t.inject("POST", "/v1/admin/api-keys", { name: "second", scopes: ["admin"] });
    expect(created.statusCode, created.body).toBe(201);
    const second = { authorization: `Bearer ${created.json().key}` };
    const theirs = await createEndpoint(t, key, endpoint, second);
    expect(theirs.statusCode).toBe(201);
    expect(theirs.headers["idempotent-replayed"]).toBeUndefined();
    expect(await endpoints(t)).toBe(2n);

    // The same key on another route is another key.
    const restricted = await t.inject(
      "POST",
      "/v1/admin/users/viewer/restrict",
      { reason: "check" },
      {
        "idempotency-key": key,
      },
    );
    expect(restricted.statusCode, restricted.body).toBe(200);
    expect(restricted.headers["idempotent-replayed"]).toBeUndefined();
  });

  it("keeps no answer to a failure: a retry after a 5xx runs the request", async () => {
    t = await openCreatorApp();
    const key = newKey();
    await refuseAuditWrites(t.runtime.store);
    const failed = await createEndpoint(t, key);
    expect(failed.statusCode, failed.body).toBeGreaterThanOrEqual(500);
    await allowAuditWrites(t.runtime.store);
    const retried = await createEndpoint(t, key);
    expect(retried.statusCode, retried.body).toBe(201);
    expect(retried.headers["idempotent-replayed"]).toBeUndefined();
    expect(await endpoints(t)).toBe(1n);
  });

  it("keeps answers sealed: a secret in an answer is not in the database in clear", async () => {
    t = await openCreatorApp();
    const created = await t.inject(
      "POST",
      "/v1/admin/api-keys",
      { name: "kept", scopes: ["server"] },
      {
        "idempotency-key": newKey(),
      },
    );
    expect(created.statusCode, created.body).toBe(201);
    const secret = created.json().key as string;
    const rows = await tableRows(t.runtime.store, "http_replies");
    expect(rows).toHaveLength(1);
    const stored = Buffer.from(rows[0]!.reply as Uint8Array);
    expect(stored.includes(Buffer.from(secret))).toBe(false);
    expect(stored.includes(Buffer.from(secret.slice(3, 20)))).toBe(false);
  });

  it("replays a cash-out's cancel, approve and reject, each answered once", async () => {
    t = await openCreatorApp();
    await earn(t, "live", "hand-hearts", 100);
    await earn(t, "video", "hand-hearts", 100);
    await earn(t, "video", "hand-hearts", 100);
    await verify(t);
    const method = await linkPaypal(t);
    // 60,000 diamonds; the first 30,000 (20,000 live, 10,000 video) net the $100 minimum.
    const a = (await requestCashout(t, { payoutMethodId: method, diamonds: "30000" })).json();
    const cancelKey = newKey();
    const cancelled = await t.inject("POST", `/v1/cashouts/${a.id}/cancel`, undefined, {
      "idempotency-key": cancelKey,
    });
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    const again = await t.inject("POST", `/v1/cashouts/${a.id}/cancel`, undefined, {
      "idempotency-key": cancelKey,
    });
    expect(again.statusCode, again.body).toBe(200);
    expect(again.body).toBe(cancelled.body);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    // A new key asks again: the cash-out is cancelled already, which this answer says afresh.
    const fresh = await t.inject("POST", `/v1/cashouts/${a.id}/cancel`, undefined, {
      "idempotency-key": newKey(),
    });
    expect(fresh.headers["idempotent-replayed"]).toBeUndefined();

    const b = (await requestCashout(t, { payoutMethodId: method, diamonds: "30000" })).json();
    const approveKey = newKey();
    for (let i = 0; i < 2; i++) {
      const approved = await t.inject("POST", `/v1/admin/cashouts/${b.id}/approve`, undefined, {
        "idempotency-key": approveKey,
      });
      expect(approved.statusCode, approved.body).toBe(200);
      expect(approved.json().status).toBe("approved");
      expect(approved.headers["idempotent-replayed"]).toBe(i === 0 ? undefined : "true");
    }
    expect(await wallet(t)).toMatchObject({ diamonds: { withdrawable: "30000", onHold: "30000" } });

    // Reject a third under one key twice: rejected once, its diamonds back once.
    const c = (await requestCashout(t, { payoutMethodId: method, diamonds: "30000" })).json();
    const rejectKey = newKey();
    const rejections = [];
    for (let i = 0; i < 2; i++) {
      rejections.push(
        await t.inject(
          "POST",
          `/v1/admin/cashouts/${c.id}/reject`,
          { reason: "checks" },
          { "idempotency-key": rejectKey },
        ),
      );
    }
    expect(rejections.map((r) => r.statusCode)).toEqual([200, 200]);
    expect(rejections[1]!.body).toBe(rejections[0]!.body);
    expect(rejections[1]!.headers["idempotent-replayed"]).toBe("true");
    expect(await wallet(t)).toMatchObject({ diamonds: { withdrawable: "30000", onHold: "30000" } });
  });

  it("keeps a user token's keys apart from an operator's, and lets a user replay their own", async () => {
    t = await openCreatorApp();
    const token = await mintToken(t, "creator");
    const key = newKey();
    const link = () =>
      t!.app.inject({
        method: "POST",
        url: "/v1/users/creator/payout-methods",
        headers: { ...bearer(token), "idempotency-key": key },
        payload: { type: "paypal", email: "ada@example.com" },
      });
    const first = await link();
    expect(first.statusCode, first.body).toBe(201);
    const again = await link();
    expect(again.body).toBe(first.body);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(await count(t.runtime.store, "payout_methods")).toBe(1n);

    // The request's fingerprint is sealed: a plain digest of the body would let a reader of the
    // database confirm a guessed email, which payout_methods keeps sealed.
    const [row] = await tableRows(t.runtime.store, "http_replies");
    const plainDigest = hash(
      "sha256",
      canonical({
        params: { userId: "creator" },
        query: {},
        body: { type: "paypal", email: "ada@example.com" },
      }) ?? "",
      "base64url",
    );
    const stored = Buffer.from(row!.fingerprint as Uint8Array);
    expect(stored.includes(Buffer.from(plainDigest))).toBe(false);
    expect(stored.includes(Buffer.from("ada@example.com"))).toBe(false);
  });

  it("scopes a user's key to the user, not the token: a retry with a fresh token gets the first answer", async () => {
    t = await openCreatorApp();
    const key = newKey();
    const link = (headers: Record<string, string>) =>
      t!.app.inject({
        method: "POST",
        url: "/v1/users/creator/payout-methods",
        headers: { ...headers, "idempotency-key": key },
        payload: { type: "paypal", email: "ada@example.com" },
      });
    const first = await link(bearer(await mintToken(t, "creator")));
    expect(first.statusCode, first.body).toBe(201);
    // The first token expired, or the app signed in again: the same user retries with another.
    const retried = await link(bearer(await mintToken(t, "creator")));
    expect(retried.statusCode, retried.body).toBe(201);
    expect(retried.headers["idempotent-replayed"]).toBe("true");
    expect(retried.body).toBe(first.body);
    expect(await count(t.runtime.store, "payout_methods")).toBe(1n);
    // The operator's key is another caller: the same key runs its own request.
    const operator = await link(t.admin);
    expect(operator.statusCode, operator.body).toBe(201);
    expect(operator.headers["idempotent-replayed"]).toBeUndefined();
    expect(await count(t.runtime.store, "payout_methods")).toBe(2n);
  });

  it("is in the OpenAPI document: the header on every POST, required where value moves, and its problems", async () => {
    t = await openCreatorApp();
    const document = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json();
    const keyOf = (path: string) =>
      (document.paths[path].post.parameters as { in: string; name: string; required?: boolean }[]).find(
        (p) => p.in === "header" && p.name === "idempotency-key",
      );
    const posts = Object.keys(document.paths).filter(
      (path) =>
        document.paths[path].post !== undefined &&
        path.startsWith("/v1/") &&
        !path.startsWith("/v1/webhooks/"),
    );
    expect(posts.length).toBeGreaterThan(20);
    for (const path of posts) expect(keyOf(path), path).toBeDefined();
    expect(keyOf("/v1/gifts/send")?.required).toBe(true);
    expect(keyOf("/v1/webhook-endpoints")?.required ?? false).toBe(false);
    const codes = (status: number) =>
      document.paths["/v1/webhook-endpoints"].post.responses[status].content["application/problem+json"]
        .schema.properties.code.enum;
    expect(codes(409)).toEqual(["idempotency_key_in_use"]);
    // The route's own 422 stays beside the key's.
    expect(codes(422)).toEqual(
      expect.arrayContaining(["too_many_webhook_endpoints", "idempotency_key_reused"]),
    );
    expect(codes(400)).toContain("invalid_request");
    // The whole service's document, with these additions, is still valid OpenAPI 3.1.
    const result = await validate(document);
    expect(result.valid ? [] : result.errors).toEqual([]);
  });
});
