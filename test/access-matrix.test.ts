import { createHash } from "node:crypto";
import { existsSync, readFileSync } from "node:fs";
import { join } from "node:path";
import { configure } from "safe-stable-stringify";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { tokenKeysFileName } from "../src/access/token-key-source.js";
import { openTestApp, type TestApp } from "./support/app.js";
import { tableNames, tableRows } from "./support/sql.js";
import { bearer, mintToken } from "./support/tokens.js";

/**
 * Every route of the OpenAPI document × every kind of caller, each with the status this table
 * expects. A route missing from the table fails the test: a new route must say who may call it.
 * Where access is denied, nothing may change: the whole database, the token keys and the clock
 * are compared before and after.
 */
const callers = ["none", "wrong", "server", "admin", "own", "other", "expired"] as const;
type Caller = (typeof callers)[number];

interface Fixture {
  /** A completed purchase of alice's. */
  purchaseId: string;
  /** An admin key that may be revoked. */
  spareKeyId: string;
  now: number;
}

interface Row {
  request: (f: Fixture) => {
    url: string;
    payload?: object;
    valueMoving?: boolean;
    /** An event stream: an allowed caller's response never ends, so only its head is read. */
    stream?: boolean;
    /** A body that is not JSON. */
    contentType?: string;
  };
  /** Statuses for none, wrong, server, admin, own (alice's token), other (bob's), expired (alice's). */
  expect: readonly [number, number, number, number, number, number, number];
}

// The usual columns: operator routes refuse user tokens, admin routes refuse server keys too.
const adminOnly = (ok: number) => [401, 401, 403, ok, 403, 403, 401] as const;
const operatorOnly = (ok: number) => [401, 401, ok, ok, 403, 403, 401] as const;
const selfToo = (ok: number) => [401, 401, ok, ok, ok, 403, 401] as const;
const anyUser = (ok: number) => [401, 401, ok, ok, ok, ok, 401] as const;

const profile = { country: "US", birthDate: "1990-01-01", displayName: "Alice" };
const gift = {
  senderId: "alice",
  recipientId: "carol",
  giftId: "rose",
  quantity: 1,
  context: { type: "live", id: "stream-1" },
};
const kycData = {
  legalName: "Alice Example",
  birthDate: "1990-01-01",
  address: { line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US" },
  document: { type: "passport", number: "X1234567", issuingCountry: "US" },
};
const iso = (ms: number) => new Date(ms).toISOString();

const table: Record<string, Row> = {
  // Health is for load balancers: public, credentials or not.
  "GET /healthz": { request: () => ({ url: "/healthz" }), expect: [200, 200, 200, 200, 200, 200, 200] },
  "POST /v1/admin/api-keys": {
    request: () => ({ url: "/v1/admin/api-keys", payload: { name: "m", scopes: ["server"] } }),
    expect: adminOnly(201),
  },
  "GET /v1/admin/api-keys": { request: () => ({ url: "/v1/admin/api-keys" }), expect: adminOnly(200) },
  "DELETE /v1/admin/api-keys/{id}": {
    request: (f) => ({ url: `/v1/admin/api-keys/${f.spareKeyId}` }),
    expect: adminOnly(200),
  },
  "GET /v1/admin/audit": { request: () => ({ url: "/v1/admin/audit" }), expect: adminOnly(200) },
  "POST /v1/users/{userId}/tokens": {
    request: () => ({ url: "/v1/users/alice/tokens", payload: {} }),
    expect: operatorOnly(201),
  },
  "GET /v1/admin/token-keys": { request: () => ({ url: "/v1/admin/token-keys" }), expect: adminOnly(200) },
  "POST /v1/admin/token-keys/rotate": {
    request: () => ({ url: "/v1/admin/token-keys/rotate", payload: {} }),
    expect: adminOnly(200),
  },
  "PUT /v1/users/{userId}": {
    request: () => ({ url: "/v1/users/alice", payload: profile }),
    expect: operatorOnly(200),
  },
  "GET /v1/users/{userId}": { request: () => ({ url: "/v1/users/alice" }), expect: selfToo(200) },
  "POST /v1/admin/users/{userId}/restrict": {
    request: () => ({ url: "/v1/admin/users/alice/restrict", payload: {} }),
    expect: adminOnly(200),
  },
  "POST /v1/admin/users/{userId}/block": {
    request: () => ({ url: "/v1/admin/users/alice/block", payload: {} }),
    expect: adminOnly(200),
  },
  "POST /v1/admin/users/{userId}/unblock": {
    request: () => ({ url: "/v1/admin/users/alice/unblock", payload: {} }),
    expect: adminOnly(200),
  },
  "GET /v1/admin/economy": { request: () => ({ url: "/v1/admin/economy" }), expect: adminOnly(200) },
  "POST /v1/admin/economy/versions": {
    request: (f) => ({
      url: "/v1/admin/economy/versions",
      payload: { effectiveAt: iso(f.now + 86_400_000), override: {} },
    }),
    expect: adminOnly(201),
  },
  "GET /v1/coin-packs": { request: () => ({ url: "/v1/coin-packs?country=US" }), expect: anyUser(200) },
  "GET /v1/gifts": { request: () => ({ url: "/v1/gifts" }), expect: anyUser(200) },
  "POST /v1/purchases": {
    request: () => ({
      url: "/v1/purchases",
      payload: { userId: "alice", packId: "us-100", provider: "test" },
      valueMoving: true,
    }),
    // bob's token may not buy for alice.
    expect: selfToo(201),
  },
  "POST /v1/purchases/{purchaseId}/refund": {
    request: (f) => ({ url: `/v1/purchases/${f.purchaseId}/refund`, valueMoving: true }),
    // Allowed for operators; a US purchase is not refundable, so the business rule answers.
    expect: operatorOnly(422),
  },
  "GET /v1/purchases/{purchaseId}": {
    request: (f) => ({ url: `/v1/purchases/${f.purchaseId}` }),
    expect: selfToo(200),
  },
  "GET /v1/users/{userId}/purchases": {
    request: () => ({ url: "/v1/users/alice/purchases" }),
    expect: selfToo(200),
  },
  "POST /v1/admin/users/{userId}/bonus": {
    request: () => ({ url: "/v1/admin/users/alice/bonus", payload: { coins: "10" }, valueMoving: true }),
    expect: adminOnly(201),
  },
  "POST /v1/gifts/send-batch": {
    request: () => ({
      url: "/v1/gifts/send-batch",
      payload: { gifts: [{ id: "1", ...gift }] },
      valueMoving: true,
    }),
    expect: selfToo(200),
  },
  "POST /v1/gifts/send": {
    request: () => ({ url: "/v1/gifts/send", payload: gift, valueMoving: true }),
    expect: selfToo(201),
  },
  "GET /v1/users/{userId}/transactions": {
    request: () => ({ url: "/v1/users/alice/transactions" }),
    expect: selfToo(200),
  },
  "GET /v1/admin/reports/economy": {
    request: (f) => ({ url: `/v1/admin/reports/economy?from=${iso(f.now - 86_400_000)}&to=${iso(f.now)}` }),
    expect: adminOnly(200),
  },
  "GET /v1/users/{userId}/wallet": {
    request: () => ({ url: "/v1/users/alice/wallet" }),
    expect: selfToo(200),
  },
  "GET /v1/test/clock": { request: () => ({ url: "/v1/test/clock" }), expect: adminOnly(200) },
  "POST /v1/test/clock": {
    request: (f) => ({ url: "/v1/test/clock", payload: { now: iso(f.now + 1000) } }),
    expect: adminOnly(200),
  },
  "POST /v1/test/purchases/{purchaseId}/refund": {
    request: (f) => ({ url: `/v1/test/purchases/${f.purchaseId}/refund` }),
    expect: adminOnly(200),
  },
  "POST /v1/test/purchases/{purchaseId}/dispute": {
    request: (f) => ({ url: `/v1/test/purchases/${f.purchaseId}/dispute` }),
    expect: adminOnly(200),
  },
  "POST /v1/test/purchases/{purchaseId}/dispute-won": {
    request: (f) => ({ url: `/v1/test/purchases/${f.purchaseId}/dispute-won` }),
    expect: adminOnly(200),
  },
  "POST /v1/webhook-endpoints": {
    request: () => ({
      url: "/v1/webhook-endpoints",
      payload: { url: "https://backend.example.com/hooks", events: ["gift.sent"] },
    }),
    expect: adminOnly(201),
  },
  "GET /v1/webhook-endpoints": { request: () => ({ url: "/v1/webhook-endpoints" }), expect: adminOnly(200) },
  // No endpoint exists (one would deliver in the background while state is compared): the admin
  // gets past access to a 404.
  "GET /v1/webhook-endpoints/{id}": {
    request: () => ({ url: "/v1/webhook-endpoints/we_missing" }),
    expect: adminOnly(404),
  },
  "DELETE /v1/webhook-endpoints/{id}": {
    request: () => ({ url: "/v1/webhook-endpoints/we_missing" }),
    expect: adminOnly(404),
  },
  "GET /v1/webhook-endpoints/{id}/deliveries": {
    request: () => ({ url: "/v1/webhook-endpoints/we_missing/deliveries" }),
    expect: adminOnly(404),
  },
  "GET /v1/webhook-endpoints/{id}/deliveries/{deliveryId}": {
    request: () => ({ url: "/v1/webhook-endpoints/we_missing/deliveries/whd_missing" }),
    expect: adminOnly(404),
  },
  "POST /v1/webhook-endpoints/{id}/deliveries/{deliveryId}/redeliver": {
    request: () => ({ url: "/v1/webhook-endpoints/we_missing/deliveries/whd_missing/redeliver" }),
    expect: adminOnly(404),
  },
  "GET /v1/live/{streamId}/events": {
    request: () => ({ url: "/v1/live/stream-1/events", stream: true }),
    expect: anyUser(200),
  },
  "GET /v1/live/{streamId}/leaderboard": {
    request: () => ({ url: "/v1/live/stream-1/leaderboard" }),
    expect: anyUser(200),
  },
  "GET /v1/creators/{userId}/leaderboard": {
    request: () => ({ url: "/v1/creators/carol/leaderboard?period=day" }),
    expect: anyUser(200),
  },
  // Identity verification, payout methods and cash-outs: who may call them. Where the request
  // names nothing that exists, an allowed caller gets past access to a 404 or a business rule.
  "POST /v1/users/{userId}/kyc": {
    request: () => ({ url: "/v1/users/alice/kyc", payload: kycData }),
    expect: selfToo(200),
  },
  "GET /v1/users/{userId}/kyc": { request: () => ({ url: "/v1/users/alice/kyc" }), expect: selfToo(200) },
  "PUT /v1/users/{userId}/kyc/document": {
    request: () => ({
      url: "/v1/users/alice/kyc/document",
      payload: Buffer.from("%PDF-1.4\n%matrix\n"),
      contentType: "application/pdf",
    }),
    expect: selfToo(200),
  },
  "GET /v1/admin/kyc": { request: () => ({ url: "/v1/admin/kyc" }), expect: adminOnly(200) },
  "GET /v1/admin/kyc/{userId}": { request: () => ({ url: "/v1/admin/kyc/alice" }), expect: adminOnly(404) },
  "GET /v1/admin/kyc/{userId}/document": {
    request: () => ({ url: "/v1/admin/kyc/alice/document" }),
    expect: adminOnly(404),
  },
  "POST /v1/admin/kyc/{userId}/approve": {
    request: () => ({ url: "/v1/admin/kyc/alice/approve", payload: {} }),
    expect: adminOnly(409),
  },
  "POST /v1/admin/kyc/{userId}/reject": {
    request: () => ({ url: "/v1/admin/kyc/alice/reject", payload: { reason: "matrix" } }),
    expect: adminOnly(409),
  },
  "POST /v1/users/{userId}/payout-methods": {
    request: () => ({
      url: "/v1/users/alice/payout-methods",
      payload: { type: "paypal", email: "alice@example.com" },
    }),
    expect: selfToo(201),
  },
  "GET /v1/users/{userId}/payout-methods": {
    request: () => ({ url: "/v1/users/alice/payout-methods" }),
    expect: selfToo(200),
  },
  "DELETE /v1/users/{userId}/payout-methods/{methodId}": {
    request: () => ({ url: "/v1/users/alice/payout-methods/pm_missing" }),
    expect: selfToo(404),
  },
  "POST /v1/cashouts/quote": {
    request: () => ({ url: "/v1/cashouts/quote", payload: { userId: "alice" } }),
    expect: selfToo(422),
  },
  "POST /v1/cashouts": {
    request: () => ({
      url: "/v1/cashouts",
      payload: { userId: "alice", payoutMethodId: "pm_missing", diamonds: "100" },
      valueMoving: true,
    }),
    expect: selfToo(404),
  },
  // No cash-out exists: every caller that gets past authentication finds none.
  "GET /v1/cashouts/{id}": {
    request: () => ({ url: "/v1/cashouts/co_missing" }),
    expect: anyUser(404),
  },
  "POST /v1/cashouts/{id}/cancel": {
    request: () => ({ url: "/v1/cashouts/co_missing/cancel" }),
    expect: anyUser(404),
  },
  "GET /v1/users/{userId}/cashouts": {
    request: () => ({ url: "/v1/users/alice/cashouts" }),
    expect: selfToo(200),
  },
  "GET /v1/admin/cashouts": { request: () => ({ url: "/v1/admin/cashouts" }), expect: adminOnly(200) },
  "POST /v1/admin/cashouts/{id}/approve": {
    request: () => ({ url: "/v1/admin/cashouts/co_missing/approve", payload: {} }),
    expect: adminOnly(404),
  },
  "POST /v1/admin/cashouts/{id}/reject": {
    request: () => ({ url: "/v1/admin/cashouts/co_missing/reject", payload: { reason: "matrix" } }),
    expect: adminOnly(404),
  },
  "POST /v1/admin/cashouts/{id}/resolve": {
    request: () => ({
      url: "/v1/admin/cashouts/co_missing/resolve",
      payload: { outcome: "failed", reason: "matrix" },
      valueMoving: true,
    }),
    expect: adminOnly(404),
  },
  // No file rail is configured here, so no file exists: an admin reaches the 404 of a file.
  "GET /v1/admin/payout-files": {
    request: () => ({ url: "/v1/admin/payout-files" }),
    expect: adminOnly(200),
  },
  "GET /v1/admin/payout-files/{id}": {
    request: () => ({ url: "/v1/admin/payout-files/pf_missing" }),
    expect: adminOnly(404),
  },
  "GET /v1/admin/payout-files/{id}/lines": {
    request: () => ({ url: "/v1/admin/payout-files/pf_missing/lines" }),
    expect: adminOnly(404),
  },
  "POST /v1/admin/payout-files/{id}/lines/{cashoutId}/paid": {
    request: () => ({ url: "/v1/admin/payout-files/pf_missing/lines/co_missing/paid", payload: {} }),
    expect: adminOnly(404),
  },
  "POST /v1/admin/payout-files/{id}/lines/{cashoutId}/returned": {
    request: () => ({
      url: "/v1/admin/payout-files/pf_missing/lines/co_missing/returned",
      payload: { reason: "matrix" },
    }),
    expect: adminOnly(404),
  },
  "POST /v1/admin/payout-files/{id}/returns": {
    request: () => ({
      url: "/v1/admin/payout-files/pf_missing/returns",
      payload: Buffer.from("reference,status,reason\nco_missing,paid,\n"),
      contentType: "text/csv",
    }),
    expect: adminOnly(404),
  },
  "POST /v1/webhooks/stripe": {
    // Its signature is its authentication: every caller, credentials or not, lacks one.
    request: () => ({ url: "/v1/webhooks/stripe", payload: {} }),
    expect: [400, 400, 400, 400, 400, 400, 400],
  },
  "POST /v1/webhooks/paypal": {
    // PayPal's signature headers are its authentication: every caller here lacks them.
    request: () => ({ url: "/v1/webhooks/paypal", payload: {} }),
    expect: [400, 400, 400, 400, 400, 400, 400],
  },
  "GET /v1/admin/reconciliation/payouts": {
    request: () => ({ url: "/v1/admin/reconciliation/payouts" }),
    expect: adminOnly(200),
  },
};

const overrides = {
  testMode: true,
  payments: {
    stripe: { secretKey: "sk_test_matrix", webhookSecret: "whsec_matrix", apiUrl: "http://127.0.0.1:9" },
  },
  // The PayPal rail on (never reached here), so that its webhook route is in the document too.
  payouts: {
    paypal: {
      clientId: "matrix",
      clientSecret: "matrix",
      webhookId: "WHMATRIX",
      apiUrl: "http://127.0.0.1:9",
    },
  },
};

/** Every route of the OpenAPI document, as `METHOD /path`. */
async function documentedRoutes(): Promise<string[]> {
  const app = await openTestApp(overrides);
  try {
    const spec = app.app.swagger() as { paths: Record<string, Record<string, unknown>> };
    return Object.entries(spec.paths).flatMap(([path, methods]) =>
      Object.keys(methods)
        .filter((m) => m !== "head")
        .map((m) => `${m.toUpperCase()} ${path}`),
    );
  } finally {
    await app.dispose();
  }
}

const canonical = configure({ deterministic: true, bigint: true });

/** Everything a request could change: every table's rows, the token keys and the service clock. */
async function snapshot(app: TestApp): Promise<string> {
  const db = app.runtime.store;
  const hash = createHash("sha256");
  for (const name of await tableNames(db)) {
    hash.update(name);
    hash.update(canonical(await tableRows(db, name)) ?? "");
  }
  // The token keys' file (on PostgreSQL the secret comes from the environment: no file, no rotation).
  const keys = join(app.dir, tokenKeysFileName);
  if (existsSync(keys)) hash.update(readFileSync(keys));
  hash.update(String(app.clock.now()));
  return hash.digest("hex");
}

interface Credentials {
  headers: Record<Caller, Record<string, string>>;
  fixture: Fixture;
}

/** alice (with coins and a purchase), bob and carol; a server key, a spare admin key; the tokens. */
async function prepare(app: TestApp): Promise<Credentials> {
  const start = Date.parse("2031-03-01T12:00:00Z");
  app.clock.set(start);
  for (const id of ["alice", "bob", "carol"]) {
    const res = await app.app.inject({
      method: "PUT",
      url: `/v1/users/${id}`,
      headers: app.admin,
      payload: { ...profile, displayName: id },
    });
    expect(res.statusCode).toBe(201);
  }
  const purchase = await app.app.inject({
    method: "POST",
    url: "/v1/purchases",
    headers: { ...app.admin, "idempotency-key": "matrix-purchase" },
    payload: { userId: "alice", packId: "us-1000", provider: "test" },
  });
  expect(purchase.statusCode).toBe(201);
  const key = async (scopes: string[]) => {
    const res = await app.app.inject({
      method: "POST",
      url: "/v1/admin/api-keys",
      headers: app.admin,
      payload: { name: "matrix", scopes },
    });
    return res.json() as { id: string; key: string };
  };
  const server = await key(["server"]);
  const spare = await key(["admin"]);
  const expired = await mintToken(app, "alice", 1000);
  app.clock.set(start + 2000);
  return {
    headers: {
      none: {},
      wrong: bearer("gs_wrongwrongwrongwrongwrongwrongwron"),
      server: bearer(server.key),
      admin: app.admin,
      own: bearer(await mintToken(app, "alice")),
      other: bearer(await mintToken(app, "bob")),
      expired: bearer(expired),
    },
    fixture: {
      purchaseId: (purchase.json() as { id: string }).id,
      spareKeyId: spare.id,
      now: app.clock.now(),
    },
  };
}

let routes: string[] = [];
beforeAll(async () => {
  routes = await documentedRoutes();
});

describe("the access matrix", () => {
  it("classifies every route of the OpenAPI document, and lists no route that does not exist", () => {
    const unclassified = routes.filter((r) => !Object.hasOwn(table, r));
    expect(unclassified, "routes missing from the access table: say who may call them").toEqual([]);
    expect(Object.keys(table).filter((r) => !routes.includes(r))).toEqual([]);
  });

  it("compares state finely enough to see one gift, one rotation and one moved clock", async () => {
    const probe = await openTestApp(overrides);
    try {
      const { fixture } = await prepare(probe);
      const first = await snapshot(probe);
      const sent = await probe.app.inject({
        method: "POST",
        url: "/v1/gifts/send",
        headers: { ...probe.admin, "idempotency-key": "probe" },
        payload: gift,
      });
      expect(sent.statusCode).toBe(201);
      const second = await snapshot(probe);
      expect(second).not.toBe(first);
      probe.tokens.rotate(false);
      const third = await snapshot(probe);
      expect(third).not.toBe(second);
      probe.clock.set(fixture.now + 1);
      expect(await snapshot(probe)).not.toBe(third);
    } finally {
      await probe.dispose();
    }
  });

  let app: TestApp | null = null;
  afterAll(async () => {
    await app?.dispose();
  });

  for (const route of Object.keys(table)) {
    it(`${route}: each caller gets its status; a denied one changes nothing`, async () => {
      await app?.dispose();
      // A fresh service per route: one route's effects (a block, a rotation) never leak into another's.
      app = await openTestApp(overrides);
      const { headers, fixture } = await prepare(app);
      const method = route.split(" ")[0]!;
      const row = table[route]!;
      const denied = callers.filter((_, i) => [400, 401, 403].includes(row.expect[i]!));
      const allowed = callers.filter((c) => !denied.includes(c));
      // The denied first, so that each starts from the same state and must leave it so.
      for (const caller of [...denied, ...allowed]) {
        const expected = row.expect[callers.indexOf(caller)]!;
        const { url, payload, valueMoving, stream, contentType } = row.request(fixture);
        const before = await snapshot(app);
        const request = {
          method: method as "GET",
          url,
          headers: {
            ...headers[caller],
            ...(valueMoving ? { "idempotency-key": `matrix-${caller}` } : {}),
            ...(contentType === undefined ? {} : { "content-type": contentType }),
          },
          ...(payload === undefined ? {} : { payload }),
        };
        if (stream && !denied.includes(caller)) {
          const res = await app.app.inject({ ...request, payloadAsStream: true });
          expect(res.statusCode, `${route} as ${caller}`).toBe(expected);
          expect(res.headers["content-type"]).toContain("text/event-stream");
          res.stream().destroy();
          continue;
        }
        const res = await app.app.inject(request);
        expect(res.statusCode, `${route} as ${caller}: ${res.body}`).toBe(expected);
        if (expected >= 400) {
          expect(res.headers["content-type"], `${route} as ${caller}`).toContain("application/problem+json");
        }
        if (expected === 401) expect(res.json()).toMatchObject({ code: "unauthenticated" });
        if (expected === 403) expect(res.json()).toMatchObject({ code: "forbidden" });
        if (denied.includes(caller))
          expect(await snapshot(app), `${route} as ${caller} changed state`).toBe(before);
      }
    });
  }
});
