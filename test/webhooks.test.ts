import { rmSync } from "node:fs";
import { createServer, type Server, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import type { LightMyRequestResponse } from "fastify";
import { afterEach, describe, expect, it } from "vitest";
import { openStore } from "../src/cli/runtime.js";
import { outboxEffect, outboxEvent } from "../src/economy/events/events.js";
import { openTestApp, type TestApp } from "./support/app.js";
import { allowAuditWrites, refuseAuditWrites } from "./support/sql.js";
import { eventually, WebhookReceiver } from "./support/webhook-receiver.js";

let t: TestApp | null = null;
let receivers: WebhookReceiver[] = [];
afterEach(async () => {
  await t?.dispose();
  for (const r of receivers) await r.stop();
  t = null;
  receivers = [];
});

let n = 0;
const key = () => `wh-${process.pid}-${n++}`;
const start = Date.parse("2031-03-01T12:00:00Z");

/** A test-mode app whose retries come quickly; `buyer` (GB, so refunds apply), `creator`, `other`. */
async function setup(webhooks: object = {}) {
  t = await openTestApp({
    testMode: true,
    webhooks: { pollIntervalMs: 10, backoffBaseMs: 10, backoffMaxMs: 40, ...webhooks },
  });
  for (const [id, country] of [
    ["buyer", "GB"],
    ["creator", "GB"],
    ["other", "US"],
  ] as const) {
    await t.app.inject({
      method: "PUT",
      url: `/v1/users/${id}`,
      headers: t.admin,
      payload: { country, birthDate: "1990-01-01", displayName: id },
    });
  }
  return t;
}

async function receiver(): Promise<WebhookReceiver> {
  const r = await new WebhookReceiver().start();
  receivers.push(r);
  return r;
}

function createEndpoint(app: TestApp, payload: Record<string, unknown>) {
  return app.app.inject({ method: "POST", url: "/v1/webhook-endpoints", headers: app.admin, payload });
}

/** Points a receiver at the app with an endpoint for `events`; returns the endpoint's id. */
async function connect(app: TestApp, r: WebhookReceiver, events: string[] = ["*"]): Promise<string> {
  const res = await createEndpoint(app, { url: r.url, events });
  expect(res.statusCode).toBe(201);
  const body = res.json() as { id: string; secret: string };
  r.secret = body.secret;
  return body.id;
}

async function buy(app: TestApp, k = key()) {
  const res = await app.app.inject({
    method: "POST",
    url: "/v1/purchases",
    headers: { ...app.admin, "idempotency-key": k },
    payload: { userId: "buyer", packId: "gb-1000", provider: "test" },
  });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string };
}

async function gift(app: TestApp, k = key()) {
  const res = await app.app.inject({
    method: "POST",
    url: "/v1/gifts/send",
    headers: { ...app.admin, "idempotency-key": k },
    payload: {
      senderId: "buyer",
      recipientId: "creator",
      giftId: "hand-hearts",
      quantity: 1,
      context: { type: "live", id: "stream-1" },
    },
  });
  expect(res.statusCode).toBe(201);
  return res.json() as Record<string, unknown> & { id: string };
}

async function refund(app: TestApp, purchaseId: string) {
  const res = await app.app.inject({
    method: "POST",
    url: `/v1/purchases/${purchaseId}/refund`,
    headers: { ...app.admin, "idempotency-key": key() },
  });
  expect(res.statusCode).toBe(200);
}

async function dispute(app: TestApp, purchaseId: string) {
  const res = await app.app.inject({
    method: "POST",
    url: `/v1/test/purchases/${purchaseId}/dispute`,
    headers: app.admin,
  });
  expect(res.json()).toMatchObject({ status: "disputed" });
}

function restrict(app: TestApp, userId: string) {
  return app.app.inject({
    method: "POST",
    url: `/v1/admin/users/${userId}/restrict`,
    headers: app.admin,
    payload: { reason: "spam" },
  });
}

const count = async (app: TestApp, sql: string) =>
  Number(((await app.runtime.store.get(sql)) as { n: bigint }).n);
const outboxIds = async (app: TestApp) =>
  ((await app.runtime.store.all("SELECT id FROM webhook_events ORDER BY seq")) as { id: string }[]).map(
    (r) => r.id,
  );

/** Every webhook table and the audit log: what a refused request must leave as it was. */
async function snapshot(app: TestApp) {
  const db = app.runtime.store;
  return {
    endpoints: await db.all("SELECT * FROM webhook_endpoints ORDER BY id"),
    subscriptions: await db.all("SELECT * FROM webhook_subscriptions ORDER BY type, endpoint_id"),
    events: await db.all("SELECT * FROM webhook_events ORDER BY seq"),
    deliveries: await db.all("SELECT * FROM webhook_deliveries ORDER BY id"),
    attempts: await db.all("SELECT * FROM webhook_attempts ORDER BY id"),
    audit: await count(app, "SELECT COUNT(*) AS n FROM audit_log"),
  };
}

describe("webhook endpoints", () => {
  it("creates and deletes an endpoint with its audit entry, or not at all", async () => {
    const app = await setup();
    const r = await receiver();
    const kept = await connect(app, r);
    await refuseAuditWrites(app.runtime.store);
    expect((await createEndpoint(app, { url: r.url, events: ["*"] })).statusCode).toBe(500);
    const deleted = await app.app.inject({
      method: "DELETE",
      url: `/v1/webhook-endpoints/${kept}`,
      headers: app.admin,
    });
    expect(deleted.statusCode).toBe(500);
    const list = await app.app.inject({ method: "GET", url: "/v1/webhook-endpoints", headers: app.admin });
    expect((list.json() as { data: { id: string }[] }).data.map((e) => e.id)).toEqual([kept]);
  });

  it("creates an endpoint with its secret shown once, lists and reads it masked, deletes it; all audited", async () => {
    const app = await setup();
    const res = await createEndpoint(app, {
      url: "https://hooks.example.com/giftstream?tenant=1",
      events: ["purchase.completed", "gift.sent", "purchase.completed"].slice(0, 2),
      description: "backend",
    });
    expect(res.statusCode).toBe(201);
    const created = res.json() as { id: string; secret: string; secretPrefix: string; events: string[] };
    expect(created).toMatchObject({
      url: "https://hooks.example.com/giftstream?tenant=1",
      events: ["gift.sent", "purchase.completed"],
      description: "backend",
      deletedAt: null,
    });
    expect(created.id).toMatch(/^we_/);
    expect(created.secret).toMatch(/^whsec_[A-Za-z0-9_-]{43}$/);
    expect(created.secretPrefix).toBe(created.secret.slice(0, 10));

    const list = await app.app.inject({ method: "GET", url: "/v1/webhook-endpoints", headers: app.admin });
    expect(list.statusCode).toBe(200);
    expect(list.body).not.toContain(created.secret);
    expect((list.json() as { data: { id: string }[] }).data.map((e) => e.id)).toEqual([created.id]);
    const one = await app.app.inject({
      method: "GET",
      url: `/v1/webhook-endpoints/${created.id}`,
      headers: app.admin,
    });
    expect(one.statusCode).toBe(200);
    expect(one.body).not.toContain(created.secret);
    expect(one.json()).toMatchObject({ id: created.id, secretPrefix: created.secretPrefix });

    const deleted = await app.app.inject({
      method: "DELETE",
      url: `/v1/webhook-endpoints/${created.id}`,
      headers: app.admin,
    });
    expect(deleted.statusCode).toBe(200);
    expect(deleted.json().deletedAt).not.toBeNull();
    for (const url of [
      `/v1/webhook-endpoints/${created.id}`,
      `/v1/webhook-endpoints/${created.id}/deliveries`,
    ]) {
      expect((await app.app.inject({ method: "GET", url, headers: app.admin })).statusCode).toBe(404);
    }
    const audit = await app.app.inject({ method: "GET", url: "/v1/admin/audit", headers: app.admin });
    const actions = (audit.json() as { data: { action: string; target: string; after: unknown }[] }).data;
    expect(actions.filter((a) => a.target === created.id).map((a) => a.action)).toEqual([
      "webhook_endpoint.delete",
      "webhook_endpoint.create",
    ]);
    expect(audit.body).not.toContain(created.secret);
  });

  it("refuses bad input with a 4xx problem and a stable code, and changes nothing", async () => {
    const app = await setup();
    const good = await receiver();
    const id = await connect(app, good, ["gift.sent"]);
    const before = await snapshot(app);
    const cases: [string, () => Promise<LightMyRequestResponse>, number, string][] = [
      [
        "an ftp url",
        () => createEndpoint(app, { url: "ftp://example.com/x", events: ["*"] }),
        400,
        "invalid_request",
      ],
      [
        "not a url",
        () => createEndpoint(app, { url: "hooks.example.com", events: ["*"] }),
        400,
        "invalid_request",
      ],
      [
        "a url with credentials",
        () => createEndpoint(app, { url: "https://u:p@example.com/x", events: ["*"] }),
        400,
        "invalid_request",
      ],
      [
        "a url with a fragment",
        () => createEndpoint(app, { url: "https://example.com/x#y", events: ["*"] }),
        400,
        "invalid_request",
      ],
      [
        "a url too long",
        () => createEndpoint(app, { url: `https://example.com/${"x".repeat(2100)}`, events: ["*"] }),
        400,
        "invalid_request",
      ],
      [
        "an unknown event type",
        () => createEndpoint(app, { url: "https://example.com/x", events: ["purchase.exploded"] }),
        400,
        "invalid_request",
      ],
      [
        "no event types",
        () => createEndpoint(app, { url: "https://example.com/x", events: [] }),
        400,
        "invalid_request",
      ],
      [
        "an unknown field",
        () => createEndpoint(app, { url: "https://example.com/x", events: ["*"], secret: "mine" }),
        400,
        "invalid_request",
      ],
      [
        "a server key",
        async () => {
          const key = await app.access.createKey({ name: "server", scopes: ["server"] }, "test");
          const res = await app.app.inject({
            method: "POST",
            url: "/v1/webhook-endpoints",
            headers: { authorization: `Bearer ${key.secret}` },
            payload: { url: "https://example.com/x", events: ["*"] },
          });
          // Creating the key is audited; put the count back for the comparison below.
          before.audit = await count(app, "SELECT COUNT(*) AS n FROM audit_log");
          return res;
        },
        403,
        "forbidden",
      ],
      [
        "no key",
        () =>
          app.app.inject({
            method: "POST",
            url: "/v1/webhook-endpoints",
            payload: { url: "https://example.com/x", events: ["*"] },
          }),
        401,
        "unauthenticated",
      ],
      [
        "an unknown endpoint (GET)",
        () => app.app.inject({ method: "GET", url: "/v1/webhook-endpoints/we_nope", headers: app.admin }),
        404,
        "not_found",
      ],
      [
        "an unknown endpoint (DELETE)",
        () => app.app.inject({ method: "DELETE", url: "/v1/webhook-endpoints/we_nope", headers: app.admin }),
        404,
        "not_found",
      ],
      [
        "an unknown endpoint (deliveries)",
        () =>
          app.app.inject({
            method: "GET",
            url: "/v1/webhook-endpoints/we_nope/deliveries",
            headers: app.admin,
          }),
        404,
        "not_found",
      ],
      [
        "an unknown delivery",
        () =>
          app.app.inject({
            method: "POST",
            url: `/v1/webhook-endpoints/${id}/deliveries/whd_999/redeliver`,
            headers: app.admin,
          }),
        404,
        "not_found",
      ],
      [
        "a malformed delivery id",
        () =>
          app.app.inject({
            method: "GET",
            url: `/v1/webhook-endpoints/${id}/deliveries/1`,
            headers: app.admin,
          }),
        404,
        "not_found",
      ],
      [
        "a malformed cursor",
        () =>
          app.app.inject({
            method: "GET",
            url: `/v1/webhook-endpoints/${id}/deliveries?cursor=abc`,
            headers: app.admin,
          }),
        400,
        "invalid_request",
      ],
      [
        "a limit too large",
        () =>
          app.app.inject({
            method: "GET",
            url: `/v1/webhook-endpoints/${id}/deliveries?limit=101`,
            headers: app.admin,
          }),
        400,
        "invalid_request",
      ],
    ];
    for (const [name, request, status, code] of cases) {
      const res = await request();
      expect({ name, status: res.statusCode }).toEqual({ name, status });
      expect(res.headers["content-type"]).toContain("application/problem+json");
      expect(res.json()).toMatchObject({ code });
      expect(await snapshot(app), name).toEqual(before);
    }
  });

  it("allows at most webhooks.endpointsMax endpoints", async () => {
    const app = await setup({ endpointsMax: 2 });
    const make = () => createEndpoint(app, { url: "https://example.com/x", events: ["gift.sent"] });
    const first = await make();
    expect((await make()).statusCode).toBe(201);
    const before = await snapshot(app);
    const third = await make();
    expect(third.statusCode).toBe(422);
    expect(third.json()).toMatchObject({ code: "too_many_webhook_endpoints" });
    expect(await snapshot(app)).toEqual(before);
    await app.app.inject({
      method: "DELETE",
      url: `/v1/webhook-endpoints/${first.json().id}`,
      headers: app.admin,
    });
    expect((await make()).statusCode).toBe(201);
  });
});

describe("webhook events", () => {
  it("sends every kind of event, signed, with the resource as the API shows it", async () => {
    const app = await setup();
    const r = await receiver();
    await connect(app, r);
    const purchase = await buy(app);
    const sent = await gift(app);
    await refund(app, purchase.id);
    await dispute(app, purchase.id);
    expect((await restrict(app, "other")).statusCode).toBe(200);
    await eventually(() => r.processed.length === 6);

    expect(r.received.every((x) => x.verified)).toBe(true);
    expect(r.processed.map((e) => e.type).sort()).toEqual(
      [
        "gift.sent",
        "purchase.completed",
        "purchase.disputed",
        "purchase.refunded",
        "user.restricted",
        "user.restricted",
      ].sort(),
    );
    expect(r.ofResource("purchase", purchase.id)).toEqual([
      "purchase.completed",
      "purchase.refunded",
      "purchase.disputed",
    ]);
    for (const e of r.processed) {
      expect(e.id).toMatch(/^evt_[A-Za-z0-9_-]{24}$/);
      expect(new Date(e.createdAt).toISOString()).toBe(e.createdAt);
      expect(Object.keys(e).sort()).toEqual(["createdAt", "data", "id", "type"]);
    }
    const byType = (type: string) => r.processed.filter((e) => e.type === type);
    const [completed] = byType("purchase.completed");
    expect(completed!.data).toMatchObject({
      id: purchase.id,
      status: "completed",
      coins: "1000",
      priceMinor: "789",
    });
    expect(byType("purchase.refunded")[0]!.data).toMatchObject({
      status: "refunded",
      refundedCoins: "900",
      refundedMinor: "710",
    });
    // The data is the resource as the API shows it in the same state.
    const now = await app.app.inject({
      method: "GET",
      url: `/v1/purchases/${purchase.id}`,
      headers: app.admin,
    });
    expect(byType("purchase.disputed")[0]!.data).toEqual(now.json());
    expect(byType("gift.sent")[0]!.data).toEqual(sent);
    for (const restricted of byType("user.restricted")) {
      const user = await app.app.inject({
        method: "GET",
        url: `/v1/users/${restricted.data.id}`,
        headers: app.admin,
      });
      const { birthDate: _b, age: _a, ...view } = user.json() as Record<string, unknown>;
      expect(restricted.data).toEqual(view);
      expect(restricted.data).toMatchObject({ status: "restricted" });
    }
    // Every request carried the headers the docs list.
    const first = r.received[0]!;
    expect(first.headers["content-type"]).toBe("application/json");
    expect(first.headers["user-agent"]).toBe("Giftstream-Webhooks/1");
    expect(first.headers["giftstream-event-id"]).toBe(first.event.id);
    expect(first.headers["giftstream-event-type"]).toBe(first.event.type);
    expect(first.headers["giftstream-delivery-id"]).toMatch(/^whd_\d+$/);
    expect(first.headers["giftstream-attempt"]).toBe("1");
  });

  it("respects each endpoint's filter, and writes no gift.sent row while nobody subscribes", async () => {
    const app = await setup();
    const purchasesOnly = await receiver();
    const giftsOnly = await receiver();
    await buy(app);
    await gift(app);
    expect(await count(app, "SELECT COUNT(*) AS n FROM webhook_events")).toBe(0);

    await connect(app, purchasesOnly, ["purchase.completed"]);
    await gift(app);
    expect(await count(app, "SELECT COUNT(*) AS n FROM webhook_events")).toBe(0);
    const p = await buy(app);
    await eventually(() => purchasesOnly.processed.length === 1);
    expect(purchasesOnly.processed[0]).toMatchObject({ type: "purchase.completed", data: { id: p.id } });

    const giftsId = await connect(app, giftsOnly, ["gift.sent"]);
    const g = await gift(app);
    await eventually(() => giftsOnly.processed.length === 1);
    expect(giftsOnly.processed[0]).toMatchObject({ type: "gift.sent", data: { id: g.id } });
    expect(await count(app, "SELECT COUNT(*) AS n FROM webhook_events WHERE type = 'gift.sent'")).toBe(1);

    await app.app.inject({ method: "DELETE", url: `/v1/webhook-endpoints/${giftsId}`, headers: app.admin });
    await gift(app);
    expect(await count(app, "SELECT COUNT(*) AS n FROM webhook_events WHERE type = 'gift.sent'")).toBe(1);
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(purchasesOnly.processed).toHaveLength(1);
    expect(giftsOnly.processed).toHaveLength(1);
  });

  it("makes no second event for a replayed request or a repeated restriction", async () => {
    const app = await setup();
    const r = await receiver();
    await connect(app, r);
    const k = key();
    await buy(app, k);
    await buy(app, k);
    const g = key();
    await gift(app, g);
    await gift(app, g);
    await restrict(app, "other");
    await restrict(app, "other");
    expect(await count(app, "SELECT COUNT(*) AS n FROM webhook_events")).toBe(3);
    expect(await count(app, "SELECT COUNT(*) AS n FROM webhook_deliveries")).toBe(3);
    await eventually(() => r.processed.length === 3);
    expect(r.received).toHaveLength(3);
  });

  it("keeps the first of an event id written twice, and fans a repeat out to nobody new", async () => {
    const app = await setup();
    const r = await receiver();
    await connect(app, r, ["user.restricted"]);
    const event = outboxEvent("user.restricted", "test", app.clock.now(), { id: "other" });
    await app.runtime.ledger.submit({ transfers: [], effects: [outboxEffect([event])] });
    const later = await receiver();
    await connect(app, later, ["*"]);
    const again = { ...event, createdAt: event.createdAt + 1000, data: { id: "other", note: "changed" } };
    await app.runtime.ledger.submit({ transfers: [], effects: [outboxEffect([again])] });
    expect(await count(app, "SELECT COUNT(*) AS n FROM webhook_events")).toBe(1);
    expect(await count(app, "SELECT COUNT(*) AS n FROM webhook_deliveries")).toBe(1);
    await eventually(() => r.processed.length === 1);
    expect(r.processed[0]).toEqual({
      id: event.id,
      type: "user.restricted",
      createdAt: new Date(event.createdAt).toISOString(),
      data: { id: "other" },
    });
    expect(later.received).toHaveLength(0);
  });
});

describe("webhook delivery", () => {
  it("gets every event to a receiver that fails its first 3 attempts, once each after dedup, in order per resource", async () => {
    const app = await setup();
    const r = await receiver();
    let requests = 0;
    // The first attempt is processed but its answer is lost (a 500 after the work): the retry
    // delivers it again and the receiver's dedup on id keeps it once. The next two fail outright.
    r.answer = () => {
      requests++;
      if (requests === 1) return { status: 500, process: true };
      if (requests <= 3) return { status: 503, process: false };
      return { status: 200, process: true };
    };
    await connect(app, r);
    const purchase = await buy(app);
    const gifts = [await gift(app), await gift(app), await gift(app)];
    await refund(app, purchase.id);
    await dispute(app, purchase.id);
    await restrict(app, "other");
    const expected = await outboxIds(app);
    expect(expected).toHaveLength(8);
    await eventually(() => r.processed.length === expected.length);
    await eventually(
      async () =>
        (await count(app, "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status = 'delivered'")) === 8,
    );

    expect(r.processed.map((e) => e.id).sort()).toEqual([...expected].sort());
    expect(r.received.length).toBeGreaterThan(r.processed.length);
    expect(r.received.every((x) => x.verified)).toBe(true);
    expect(r.ofResource("purchase", purchase.id)).toEqual([
      "purchase.completed",
      "purchase.refunded",
      "purchase.disputed",
    ]);
    for (const g of gifts) expect(r.ofResource("gift", g.id)).toEqual(["gift.sent"]);
    const failed = (await app.runtime.store.all(
      "SELECT status_code, error FROM webhook_attempts WHERE status_code <> 200 ORDER BY id",
    )) as { status_code: bigint; error: string }[];
    expect(failed.map((a) => [Number(a.status_code), a.error])).toEqual([
      [500, "HTTP 500"],
      [503, "HTTP 503"],
      [503, "HTTP 503"],
    ]);
  });

  it("holds back a resource's later events while an earlier one is still being retried", async () => {
    const app = await setup({ backoffBaseMs: 10_000, backoffMaxMs: 3_600_000 });
    app.clock.set(start);
    const r = await receiver();
    r.answer = (event, attempt) =>
      event.type === "purchase.completed" && attempt <= 3
        ? { status: 500, process: false }
        : { status: 200, process: true };
    await connect(app, r);
    const purchase = await buy(app);
    await app.webhooks.delivery.deliverDue();
    expect(r.received).toHaveLength(1);
    // Meanwhile the purchase is refunded and disputed; those events are due at once.
    await gift(app);
    await refund(app, purchase.id);
    await dispute(app, purchase.id);
    await app.webhooks.delivery.deliverDue();
    expect(r.processed.map((e) => e.type).sort()).toEqual(["gift.sent", "user.restricted"]);
    expect(r.ofResource("purchase", purchase.id)).toEqual([]);

    for (let minute = 1; minute <= 10 && r.processed.length < 5; minute++) {
      app.clock.set(start + minute * 60_000);
      await app.webhooks.delivery.deliverDue();
    }
    expect(r.ofResource("purchase", purchase.id)).toEqual([
      "purchase.completed",
      "purchase.refunded",
      "purchase.disputed",
    ]);
    expect(r.received.filter((x) => x.event.type === "purchase.completed")).toHaveLength(4);
  });

  it("loses nothing while a receiver is down for an hour", async () => {
    // The default schedule: 10 s doubling to 1 h, on the service clock moved a minute at a time.
    const app = await setup({ backoffBaseMs: 10_000, backoffMaxMs: 3_600_000 });
    app.clock.set(start);
    const r = await receiver();
    await connect(app, r);
    await r.stop();
    const purchase = await buy(app);
    const gifts = [await gift(app), await gift(app)];
    await refund(app, purchase.id);
    await dispute(app, purchase.id);
    const expected = await outboxIds(app);
    expect(expected).toHaveLength(6);

    let minute = 0;
    const tick = async () => {
      minute++;
      app.clock.set(start + minute * 60_000);
      await app.webhooks.delivery.deliverDue();
    };
    while (minute < 60) await tick();
    expect(r.received).toHaveLength(0);
    const attempts = await count(app, "SELECT COUNT(*) AS n FROM webhook_attempts");
    expect(attempts).toBeGreaterThan(6);
    // Backed off: about 9 attempts each in the hour, not one a minute.
    expect(attempts).toBeLessThan(6 * 12);
    const errors = (await app.runtime.store.all(
      "SELECT DISTINCT status_code, error FROM webhook_attempts",
    )) as {
      status_code: null;
      error: string;
    }[];
    expect(errors.every((e) => e.status_code === null && e.error.startsWith("ECONNREFUSED"))).toBe(true);
    expect(await count(app, "SELECT COUNT(*) AS n FROM webhook_deliveries WHERE status <> 'pending'")).toBe(
      0,
    );

    await r.start(r.port);
    while (r.processed.length < expected.length && minute < 180) await tick();
    expect(r.processed.map((e) => e.id).sort()).toEqual([...expected].sort());
    expect(r.ofResource("purchase", purchase.id)).toEqual([
      "purchase.completed",
      "purchase.refunded",
      "purchase.disputed",
    ]);
    for (const g of gifts) expect(r.ofResource("gift", g.id)).toEqual(["gift.sent"]);
    expect(r.received.every((x) => x.verified)).toBe(true);
  });

  it("gives up once a failure comes webhooks.retryMaxAgeMs after the first attempt, however few the attempts", async () => {
    const ageMaxMs = 10 * 60_000;
    const app = await setup({
      backoffBaseMs: 10_000,
      backoffMaxMs: 3_600_000,
      retryMaxAgeMs: ageMaxMs,
      attemptsMax: 1000,
    });
    app.clock.set(start);
    const r = await receiver();
    r.answer = () => ({ status: 503, process: false });
    await connect(app, r, ["purchase.completed"]);
    await buy(app);
    const delivery = async () =>
      (await app.runtime.store.get("SELECT status, attempts FROM webhook_deliveries")) as {
        status: string;
        attempts: bigint;
      };
    // Minute by minute on the service clock: 10 s, 20 s, 40 s… apart, the attempt that fails
    // 10 minutes or more after the first is the last.
    for (let minute = 0; minute <= 60 && (await delivery()).status === "pending"; minute++) {
      app.clock.set(start + minute * 60_000);
      await app.webhooks.delivery.deliverDue();
    }
    const given = await delivery();
    expect(given.status).toBe("failed");
    expect(Number(given.attempts)).toBeGreaterThan(1);
    expect(Number(given.attempts)).toBeLessThan(1000);
    const at = (
      (await app.runtime.store.all("SELECT at FROM webhook_attempts ORDER BY id")) as { at: bigint }[]
    ).map((a) => Number(a.at) - start);
    expect(at.at(-1)!).toBeGreaterThanOrEqual(ageMaxMs);
    expect(at.at(-2)!).toBeLessThan(ageMaxMs);
    expect(r.received).toHaveLength(at.length);
  });

  it("logs each attempt, pages the log, gives up after its retries, and redelivers by hand", async () => {
    const app = await setup({ attemptsMax: 2, timeoutMs: 300 });
    const r = await receiver();
    // The first event hangs past the timeout, then is redirected (a failure too), then gets a 200
    // (after its redelivery); later events get a 200 at once.
    let first: string | undefined;
    r.answer = (event, attempt) => {
      first ??= event.id;
      if (event.id === first && attempt === 1) return "hang";
      if (event.id === first && attempt === 2) return { status: 302, process: false };
      return { status: 200, process: true };
    };
    const id = await connect(app, r, ["gift.sent"]);
    await buy(app);
    const sent = await gift(app);
    const deliveryOf = async () => {
      const res = await app.app.inject({
        method: "GET",
        url: `/v1/webhook-endpoints/${id}/deliveries`,
        headers: app.admin,
      });
      expect(res.statusCode).toBe(200);
      return (res.json() as { data: Record<string, unknown>[] }).data[0]!;
    };
    await eventually(async () => (await deliveryOf()).status === "failed");
    const failed = await deliveryOf();
    expect(failed).toMatchObject({
      attemptCount: 2,
      nextAttemptAt: null,
      deliveredAt: null,
      eventType: "gift.sent",
    });
    expect((failed.attempts as Record<string, unknown>[]).map((a) => [a.statusCode, a.error])).toEqual([
      [null, "timed out after 300 ms"],
      [302, "HTTP 302"],
    ]);

    const deliveryId = failed.id as string;
    const detail = await app.app.inject({
      method: "GET",
      url: `/v1/webhook-endpoints/${id}/deliveries/${deliveryId}`,
      headers: app.admin,
    });
    expect(detail.statusCode).toBe(200);
    expect(detail.json().event).toMatchObject({ type: "gift.sent", data: { id: sent.id } });
    expect(detail.json().attempts).toHaveLength(2);

    // The requeue and its audit entry are one write: without the entry, nothing is queued.
    const redeliver = () =>
      app.app.inject({
        method: "POST",
        url: `/v1/webhook-endpoints/${id}/deliveries/${deliveryId}/redeliver`,
        headers: app.admin,
      });
    await refuseAuditWrites(app.runtime.store);
    expect((await redeliver()).statusCode).toBe(500);
    expect(await deliveryOf()).toMatchObject({ status: "failed", attemptCount: 2 });
    await allowAuditWrites(app.runtime.store);

    const again = await redeliver();
    expect(again.statusCode).toBe(202);
    expect(again.json()).toMatchObject({ id: deliveryId, status: "pending" });
    await eventually(async () => (await deliveryOf()).status === "delivered");
    expect(await deliveryOf()).toMatchObject({
      attemptCount: 3,
      lastAttempt: { statusCode: 200, error: null },
    });
    expect(r.processed.map((e) => e.id)).toEqual([detail.json().eventId]);
    const audit = await app.app.inject({ method: "GET", url: "/v1/admin/audit", headers: app.admin });
    expect(audit.json().data[0]).toMatchObject({
      action: "webhook_delivery.redeliver",
      target: deliveryId,
      before: { status: "failed" },
      after: { status: "pending", attemptCount: 2 },
    });

    // Pages, newest first.
    await gift(app);
    await gift(app);
    await eventually(() => r.processed.length === 3);
    const page = async (query: string) =>
      (
        await app.app.inject({
          method: "GET",
          url: `/v1/webhook-endpoints/${id}/deliveries${query}`,
          headers: app.admin,
        })
      ).json() as { data: { id: string }[]; nextCursor: string | null };
    const one = await page("?limit=2");
    expect(one.data).toHaveLength(2);
    const two = await page(`?limit=2&cursor=${one.nextCursor}`);
    expect(two).toMatchObject({ data: [{ id: deliveryId }], nextCursor: null });
  });

  it("never follows a redirect: the signed body goes nowhere but the endpoint's own URL", async () => {
    const app = await setup({ attemptsMax: 1 });
    // Where the endpoint points onward; it would take the event, were it ever posted there.
    const elsewhere = await receiver();
    const redirecting = createServer((req, res) => {
      req.resume();
      req.on("end", () => res.writeHead(307, { location: elsewhere.url }).end());
    });
    await new Promise<void>((r) => redirecting.listen(0, "127.0.0.1", r));
    try {
      const url = `http://127.0.0.1:${(redirecting.address() as AddressInfo).port}/hook`;
      const created = await createEndpoint(app, { url, events: ["purchase.completed"] });
      expect(created.statusCode).toBe(201);
      elsewhere.secret = (created.json() as { secret: string }).secret;
      await buy(app);
      const delivery = async () =>
        (await app.runtime.store.get("SELECT id, status FROM webhook_deliveries")) as
          | { id: bigint | string; status: string }
          | undefined;
      await eventually(async () => (await delivery())?.status === "failed");
      const attempts = (await app.runtime.store.all(
        "SELECT status_code, error FROM webhook_attempts WHERE delivery_id = ?",
        [(await delivery())!.id],
      )) as { status_code: bigint; error: string }[];
      expect(attempts.map((a) => [Number(a.status_code), a.error])).toEqual([[307, "HTTP 307"]]);
      expect(elsewhere.received).toHaveLength(0);
    } finally {
      redirecting.closeAllConnections();
      await new Promise((r) => redirecting.close(r));
    }
  });

  it("stops cleanly on close: a delivery in flight is aborted, unlogged, and still due", async () => {
    const app = await setup({ timeoutMs: 30_000 });
    const r = await receiver();
    r.answer = () => "hang";
    await connect(app, r, ["gift.sent"]);
    await buy(app);
    await gift(app);
    await eventually(() => r.received.length === 1);
    const started = Date.now();
    await app.close();
    expect(Date.now() - started).toBeLessThan(5000);
    // What the closed service left in its database, read by a store opened afresh on it.
    const db = await openStore(app.runtime.config);
    try {
      expect(await db.all("SELECT status, attempts FROM webhook_deliveries")).toEqual([
        { status: "pending", attempts: 0n },
      ]);
      expect(await db.get("SELECT COUNT(*) AS n FROM webhook_attempts")).toEqual({ n: 0n });
    } finally {
      await db.close();
    }
    rmSync(app.dir, { recursive: true, force: true });
  });
});

describe("endpoint and delivery ids in the path", () => {
  it("answers an unknown id with 404 and one longer than 64 characters with 400, as documented", async () => {
    t = await openTestApp({ testMode: true });
    const app = t;
    const get = (url: string) => app.app.inject({ method: "GET", url, headers: app.admin });
    const long = `we_${"x".repeat(62)}`;
    for (const [url, status, code] of [
      ["/v1/webhook-endpoints/we_unknown", 404, "not_found"],
      ["/v1/webhook-endpoints/we_unknown/deliveries/whd_1", 404, "not_found"],
      [`/v1/webhook-endpoints/${long}`, 400, "invalid_request"],
      [`/v1/webhook-endpoints/${long}/deliveries`, 400, "invalid_request"],
      [`/v1/webhook-endpoints/we_unknown/deliveries/whd_${"1".repeat(61)}`, 400, "invalid_request"],
    ] as const) {
      const res = await get(url);
      expect({ url, status: res.statusCode, code: res.json().code }).toEqual({ url, status, code });
    }
  });
});

describe("redelivery while an attempt is in flight", () => {
  const servers: Server[] = [];
  afterEach(() => {
    for (const server of servers.splice(0)) server.close();
  });

  it("a redelivery asked while an attempt is in flight still gets its fresh retry budget", async () => {
    t = await openTestApp({
      testMode: true,
      webhooks: { pollIntervalMs: 10, backoffBaseMs: 10, backoffMaxMs: 40, attemptsMax: 2, timeoutMs: 5000 },
    });
    const app = t;
    let calls = 0;
    let held: ServerResponse | null = null;
    const server = createServer((req, res) => {
      req.resume();
      req.on("end", () => {
        calls++;
        if (calls === 2)
          held = res; // the 2nd attempt hangs until released
        else res.writeHead(500).end();
      });
    });
    await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
    servers.push(server);
    const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}/hook`;
    for (const id of ["buyer", "creator"]) {
      await app.app.inject({
        method: "PUT",
        url: `/v1/users/${id}`,
        headers: app.admin,
        payload: { country: "GB", birthDate: "1990-01-01", displayName: id },
      });
    }
    const ep = await app.app.inject({
      method: "POST",
      url: "/v1/webhook-endpoints",
      headers: app.admin,
      payload: { url, events: ["purchase.completed"] },
    });
    expect(ep.statusCode).toBe(201);
    const endpointId = ep.json().id as string;
    const buy = await app.app.inject({
      method: "POST",
      url: "/v1/purchases",
      headers: { ...app.admin, "idempotency-key": "k1" },
      payload: { userId: "buyer", packId: "gb-1000", provider: "test" },
    });
    expect(buy.statusCode).toBe(201);
    const list = async () =>
      (
        await app.app.inject({
          method: "GET",
          url: `/v1/webhook-endpoints/${endpointId}/deliveries`,
          headers: app.admin,
        })
      ).json().data[0] as { id: string; status: string; attemptCount: number };
    await eventually(() => held !== null);
    const deliveryId = (await list()).id;
    const re = await app.app.inject({
      method: "POST",
      url: `/v1/webhook-endpoints/${endpointId}/deliveries/${deliveryId}/redeliver`,
      headers: app.admin,
    });
    expect(re.statusCode).toBe(202);
    expect(re.json().status).toBe("pending");
    // The attempt in flight now fails: it was the second of a window of two, but the redelivery gave
    // the delivery a fresh window, so it is tried twice more, not given up.
    (held as unknown as ServerResponse).writeHead(500).end();
    await eventually(() => calls >= 4);
    await eventually(async () => (await list()).status === "failed");
    expect(await list()).toMatchObject({ status: "failed", attemptCount: 4 });
    expect(calls).toBe(4);
  });
});
