import { afterEach, describe, expect, it } from "vitest";
import type { LoadConfigOptions } from "../src/config/index.js";
import { openTestApp, type TestApp } from "./support/app.js";
import { SseClient, type SseEvent } from "./support/sse.js";
import { bearer, mintToken } from "./support/tokens.js";

let t: TestApp | null = null;
let url = "";
const clients: SseClient[] = [];

afterEach(async () => {
  for (const client of clients.splice(0)) client.close();
  await t?.dispose();
  t = null;
});

let n = 0;
const key = () => `live-${n++}`;
const start = Date.parse("2030-01-07T10:00:00.000Z");

type Live = NonNullable<LoadConfigOptions["overrides"]>["live"];

async function setup(live: Live = {}) {
  t = await openTestApp({ testMode: true, live: { keepAliveMs: 60_000, ...live } });
  url = await t.app.listen({ host: "127.0.0.1", port: 0 });
  await setClock(start);
  for (const id of ["ann", "ben", "cat", "creator"]) {
    await t.app.inject({
      method: "PUT",
      url: `/v1/users/${id}`,
      headers: t.admin,
      payload: { country: "US", birthDate: "1990-01-01", displayName: id.toUpperCase() },
    });
    const bonus = await t.app.inject({
      method: "POST",
      url: `/v1/admin/users/${id}/bonus`,
      headers: { ...t.admin, "idempotency-key": key() },
      payload: { coins: "100000" },
    });
    expect(bonus.statusCode).toBe(201);
  }
  return t;
}

async function setClock(ms: number) {
  const res = await t!.app.inject({
    method: "POST",
    url: "/v1/test/clock",
    headers: t!.admin,
    payload: { now: new Date(ms).toISOString() },
  });
  expect(res.statusCode).toBe(200);
}

async function send(senderId: string, giftId = "rose", quantity = 1, stream = "stream-1", type = "live") {
  const res = await t!.app.inject({
    method: "POST",
    url: "/v1/gifts/send",
    headers: { ...t!.admin, "idempotency-key": key() },
    payload: { senderId, recipientId: "creator", giftId, quantity, context: { type, id: stream } },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; coinsSpent: string; diamondsEarned: string };
}

async function subscribe(stream = "stream-1", headers: Record<string, string> = {}, query = "") {
  const client = await SseClient.open(`${url}/v1/live/${stream}/events${query}`, {
    ...t!.admin,
    ...headers,
  });
  clients.push(client);
  expect(client.status).toBe(200);
  expect(client.response.headers["content-type"]).toBe("text/event-stream; charset=utf-8");
  // The subscription starts from the moment the server wrote its first comment: every gift sent
  // after it arrives is sent to this client.
  await client.until(() => client.comments.includes("subscribed"), "the subscribed comment");
  return client;
}

/** Gives the server a moment: to see a client go away, or to send what it should not. */
async function pause() {
  await new Promise((resolve) => setTimeout(resolve, 50));
}

const data = (e: SseEvent) => e.data as Record<string, unknown> & { streak: Record<string, unknown> };

describe("GET /v1/live/{streamId}/events", () => {
  it("shows two subscribers the same gifts, with the same ids and streaks, in the same order", async () => {
    await setup();
    const a = await subscribe();
    const b = await subscribe();
    const sent = [];
    for (const [sender, gift] of [
      ["ann", "rose"],
      ["ben", "rose"],
      ["ann", "rose"],
      ["cat", "hand-hearts"],
      ["ben", "rose"],
    ] as const) {
      sent.push(await send(sender, gift));
    }
    await a.untilGifts(5);
    await b.untilGifts(5);
    expect(a.gifts).toEqual(b.gifts);
    expect(a.gifts.map((e) => data(e).id)).toEqual(sent.map((s) => s.id));
    const ids = a.gifts.map((e) => BigInt(e.id!));
    expect(ids).toEqual([...ids].sort((x, y) => (x < y ? -1 : x > y ? 1 : 0)));
    expect(new Set(ids).size).toBe(5);
    expect(data(a.gifts[3]!)).toEqual({
      id: sent[3]!.id,
      streamId: "stream-1",
      senderId: "cat",
      recipientId: "creator",
      giftId: "hand-hearts",
      quantity: 1,
      coins: "100",
      diamonds: "200",
      streak: { id: sent[3]!.id, count: 1, sends: 1, expiresAt: new Date(start + 10_000).toISOString() },
      at: new Date(start).toISOString(),
    });
  });

  it("shows a streak of 10 roses as one streak counting up to 10", async () => {
    await setup();
    const a = await subscribe();
    const first = await send("ann");
    for (let i = 1; i < 10; i++) {
      await setClock(start + i * 1000);
      // Another viewer's gifts in between do not break ann's streak.
      if (i === 5) await send("ben");
      await send("ann");
    }
    await a.untilGifts(11);
    const anns = a.gifts.filter((e) => data(e).senderId === "ann");
    expect(anns.map((e) => data(e).streak.count)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(new Set(anns.map((e) => data(e).streak.id))).toEqual(new Set([first.id]));
    expect(data(anns[9]!).streak.expiresAt).toBe(new Date(start + 9000 + 10_000).toISOString());
    // A quantity counts in full; a gap longer than the window starts a new streak.
    await send("ann", "rose", 5);
    await setClock(start + 9000 + 10_001);
    const next = await send("ann");
    await a.untilGifts(13);
    expect(data(a.gifts[11]!).streak).toMatchObject({ id: first.id, count: 15, sends: 11 });
    expect(data(a.gifts[12]!).streak).toMatchObject({ id: next.id, count: 1, sends: 1 });
  });

  it("resumes after Last-Event-ID with every gift sent while away, once each, and streaks unchanged", async () => {
    await setup();
    const stayed = await subscribe();
    const away = await subscribe();
    for (let i = 0; i < 3; i++) await send("ann");
    await away.untilGifts(3);
    const lastSeen = away.gifts.at(-1)!.id!;
    away.close();
    for (let i = 0; i < 4; i++) await send(i % 2 === 0 ? "ann" : "ben");
    const back = await subscribe("stream-1", { "last-event-id": lastSeen });
    await back.untilGifts(4);
    for (let i = 0; i < 2; i++) await send("ann");
    await stayed.untilGifts(9);
    await back.untilGifts(6);
    expect(back.gifts).toEqual(stayed.gifts.slice(3));
    // The query parameter does the same, for clients that cannot set the header.
    const byQuery = await subscribe("stream-1", {}, `?lastEventId=${lastSeen}`);
    await byQuery.untilGifts(6);
    expect(byQuery.gifts).toEqual(stayed.gifts.slice(3));
    expect(data(stayed.gifts[8]!).streak).toMatchObject({ count: 7 });
  });

  it("rebuilds the same events and streaks from the database once nobody in this process follows the stream", async () => {
    await setup();
    const first = await subscribe();
    for (let i = 0; i < 6; i++) {
      await setClock(start + i * 2000);
      await send(i === 3 ? "ben" : "ann", "rose", i + 1);
    }
    await first.untilGifts(6);
    first.close();
    await pause();
    // No subscriber left: the stream's tracker is gone, and a resume from the start reads it all back.
    const again = await subscribe("stream-1", { "last-event-id": "0" });
    await again.untilGifts(6);
    expect(again.gifts).toEqual(first.gifts);
    // Resuming in the middle of a streak computes it from the stored gifts before it.
    again.close();
    await pause();
    const middle = await subscribe("stream-1", { "last-event-id": first.gifts[2]!.id! });
    await middle.untilGifts(3);
    expect(middle.gifts).toEqual(first.gifts.slice(3));
    await send("ann");
    await middle.untilGifts(4);
    expect(data(middle.gifts[3]!).streak).toMatchObject({
      id: data(first.gifts[0]!).id,
      sends: 6,
      count: 1 + 2 + 3 + 5 + 6 + 1,
    });
  });

  it("sends only live gifts of its own stream", async () => {
    await setup();
    const a = await subscribe();
    await send("ann", "rose", 1, "stream-2");
    await send("ann", "rose", 1, "stream-1", "video");
    const mine = await send("ben");
    await a.untilGifts(1);
    await pause();
    expect(a.gifts.map((e) => data(e).id)).toEqual([mine.id]);
  });

  it("ends a stream once the credential that opened it no longer holds", async () => {
    await setup({ keepAliveMs: 50 });
    // A user token past its expiry, on the service clock.
    const token = await mintToken(t!, "ann", 60_000);
    const user = await subscribe("stream-1", bearer(token));
    // An API key revoked while its stream is open.
    const created = await t!.app.inject({
      method: "POST",
      url: "/v1/admin/api-keys",
      headers: t!.admin,
      payload: { name: "overlay", scopes: ["server"] },
    });
    expect(created.statusCode, created.body).toBe(201);
    const keyed = await subscribe("stream-1", bearer(created.json().key));
    const admin = await subscribe();
    await user.until(() => user.comments.filter((c) => c === "keep-alive").length >= 2, "keep-alives");
    expect(user.ended || keyed.ended).toBe(false);

    await t!.clock.set(t!.clock.now() + 61_000);
    await user.until(() => user.ended, "the expired token's stream to end");
    const revoked = await t!.app.inject({
      method: "DELETE",
      url: `/v1/admin/api-keys/${created.json().id}`,
      headers: t!.admin,
    });
    expect(revoked.statusCode, revoked.body).toBeLessThan(300);
    await keyed.until(() => keyed.ended, "the revoked key's stream to end");
    // The admin key's stream, still valid, goes on.
    const before = admin.comments.length;
    await admin.until(() => admin.comments.length >= before + 2, "more keep-alives");
    expect(admin.ended).toBe(false);
  });

  it("sends keep-alive comments while idle", async () => {
    await setup({ keepAliveMs: 50 });
    const a = await subscribe();
    await a.until(() => a.comments.filter((c) => c === "keep-alive").length >= 3, "three keep-alives");
  });

  it("reports a resume from before the kept events as truncated, then replays the newest", async () => {
    await setup({ replayEventsMax: 3 });
    const a = await subscribe();
    for (let i = 0; i < 6; i++) await send("ann");
    await a.untilGifts(6);
    const resumed = await subscribe("stream-1", { "last-event-id": a.gifts[0]!.id! });
    await resumed.until(() => resumed.gifts.length >= 3, "three gifts");
    expect(resumed.events[0]).toEqual({
      id: undefined,
      event: "truncated",
      data: { after: a.gifts[0]!.id, resumedAfter: a.gifts[2]!.id },
    });
    expect(resumed.gifts).toEqual(a.gifts.slice(3));
    // From within the kept events, nothing is truncated.
    const within = await subscribe("stream-1", { "last-event-id": a.gifts[2]!.id! });
    await within.untilGifts(3);
    expect(within.events.map((e) => e.event)).toEqual(["gift", "gift", "gift"]);
  });

  it("refuses subscribers past the limits with 503 too_many_subscribers, and frees places on disconnect", async () => {
    await setup({ subscribersPerStreamMax: 2, subscribersMax: 3 });
    const a = await subscribe();
    await subscribe();
    const refused = await SseClient.open(`${url}/v1/live/stream-1/events`, t!.admin);
    expect(refused.status).toBe(503);
    expect(refused.response.headers["content-type"]).toContain("application/problem+json");
    expect(JSON.parse(await refused.text())).toMatchObject({ code: "too_many_subscribers" });
    await subscribe("stream-2");
    const full = await SseClient.open(`${url}/v1/live/stream-3/events`, t!.admin);
    expect(full.status).toBe(503);
    a.close();
    // Its place is free once the server has seen it go.
    for (let tries = 0; ; tries++) {
      const again = await SseClient.open(`${url}/v1/live/stream-1/events`, t!.admin);
      clients.push(again);
      if (again.status === 200) break;
      expect(tries).toBeLessThan(100);
      await pause();
    }
  });

  it("ends open event streams when the server closes, and closing does not wait for them", async () => {
    await setup();
    const a = await subscribe();
    const b = await subscribe("stream-2");
    const began = Date.now();
    const composed = t!;
    t = null;
    await composed.dispose();
    // Node would otherwise wait for each open response, or its keep-alive timeout, to end.
    expect(Date.now() - began).toBeLessThan(5000);
    await a.until(() => a.ended, "the end of the stream");
    await b.until(() => b.ended, "the end of the stream");
  });

  it("answers a bad Last-Event-ID, stream id or query with 400 invalid_request", async () => {
    await setup();
    await send("ann");
    const head = BigInt(
      ((await t!.runtime.store.get("SELECT MAX(rowid) AS m FROM gifts")) as { m: bigint }).m,
    );
    for (const [path, headers] of [
      ["/v1/live/stream-1/events", { "last-event-id": "abc" }],
      ["/v1/live/stream-1/events", { "last-event-id": "-1" }],
      ["/v1/live/stream-1/events", { "last-event-id": "01" }],
      ["/v1/live/stream-1/events", { "last-event-id": "1.5" }],
      ["/v1/live/stream-1/events", { "last-event-id": "99999999999999999999" }],
      ["/v1/live/stream-1/events", { "last-event-id": String(head + 1000n) }],
      ["/v1/live/stream-1/events?lastEventId=x", {}],
      ["/v1/live/stream-1/events?since=1", {}],
      [`/v1/live/${"s".repeat(129)}/events`, {}],
    ] as const) {
      const res = await t!.app.inject({ method: "GET", url: path, headers: { ...t!.admin, ...headers } });
      expect(res.statusCode, `${path} ${JSON.stringify(headers)}`).toBe(400);
      expect(res.headers["content-type"]).toContain("application/problem+json");
      expect(res.json()).toMatchObject({ code: "invalid_request" });
    }
  });

  it("needs credentials", async () => {
    await setup();
    const res = await t!.app.inject({ method: "GET", url: "/v1/live/stream-1/events" });
    expect(res.statusCode).toBe(401);
  });
});
