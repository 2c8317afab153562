import { afterEach, describe, expect, it } from "vitest";
import { openTestApp, type TestApp } from "./support/app.js";

let t: TestApp | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

let n = 0;
const key = () => `lb-${n++}`;
const monday = Date.parse("2030-01-07T10:00:00.000Z");
const dayMs = 86_400_000;
/** eve gets no bonus coins: she pays for hers. */
const viewers = ["ann", "ben", "cat", "dan", "eve"];

async function setup(overrides: object = {}) {
  t = await openTestApp({ testMode: true, ...overrides });
  await setClock(monday);
  for (const id of [...viewers, "creator", "other"]) {
    await t.app.inject({
      method: "PUT",
      url: `/v1/users/${id}`,
      headers: t.admin,
      payload: { country: "US", birthDate: "1990-01-01", displayName: `The ${id}` },
    });
    if (id === "eve") continue;
    await t.app.inject({
      method: "POST",
      url: `/v1/admin/users/${id}/bonus`,
      headers: { ...t.admin, "idempotency-key": key() },
      payload: { coins: "200000" },
    });
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

async function send(
  senderId: string,
  giftId: string,
  quantity: number,
  context: { type: "live" | "video"; id: string },
  recipientId = "creator",
) {
  const res = await t!.app.inject({
    method: "POST",
    url: "/v1/gifts/send",
    headers: { ...t!.admin, "idempotency-key": key() },
    payload: { senderId, recipientId, giftId, quantity, context },
  });
  expect(res.statusCode, res.body).toBe(201);
}

async function get(url: string) {
  return t!.app.inject({ method: "GET", url, headers: t!.admin });
}

interface HistoryEntry {
  kind: string;
  at: string;
  amounts: Record<string, string>;
  counterparty: string | null;
  context: { type: string; id: string } | null;
}

/** Every entry of a user's history, through the public API, page by page. */
async function history(userId: string): Promise<HistoryEntry[]> {
  const entries: HistoryEntry[] = [];
  let cursor: string | null = null;
  do {
    const res = await get(`/v1/users/${userId}/transactions?limit=200${cursor ? `&cursor=${cursor}` : ""}`);
    expect(res.statusCode).toBe(200);
    const page = res.json() as { data: HistoryEntry[]; nextCursor: string | null };
    entries.push(...page.data);
    cursor = page.nextCursor;
  } while (cursor !== null);
  return entries;
}

/** A leaderboard rebuilt from the viewers' histories: their `gift_sent` entries that `match`. */
async function rebuild(match: (e: HistoryEntry) => boolean) {
  const lines = [];
  for (const userId of viewers) {
    const sent = (await history(userId)).filter((e) => e.kind === "gift_sent" && match(e));
    if (sent.length === 0) continue;
    lines.push({
      userId,
      displayName: `The ${userId}`,
      coins: sent.reduce((sum, e) => sum + BigInt(e.amounts.coins!), 0n),
    });
  }
  lines.sort((a, b) => (a.coins === b.coins ? (a.userId < b.userId ? -1 : 1) : a.coins > b.coins ? -1 : 1));
  return lines.map((line, i) => ({ rank: i + 1, ...line, coins: line.coins.toString() }));
}

const withoutGifts = (data: Record<string, unknown>[]) => data.map(({ gifts: _gifts, ...rest }) => rest);

/** Gifts over a week: three days, two streams, video gifts and another creator. */
async function sendWeek(afterDay: (day: number) => Promise<void> = async () => {}) {
  for (const [i, day] of [0, 1, 7].entries()) {
    await setClock(monday + day * dayMs);
    await send("ann", "rose", 10 + i, { type: "live", id: "stream-1" });
    await send("ben", "hand-hearts", 1, { type: "live", id: "stream-1" });
    await send("cat", "rose", 3, { type: "live", id: "stream-2" });
    await send("dan", "rose", 50, { type: "video", id: "video-1" });
    await send("ann", "hand-hearts", 2, { type: "live", id: "stream-9" }, "other");
    if (i === 1) await send("cat", "hand-hearts", 2, { type: "live", id: "stream-1" });
    await afterDay(day);
  }
}

describe("leaderboards", () => {
  it("ranks a stream's gifters by coins, equal to a rebuild from their histories", async () => {
    await setup();
    await sendWeek();
    const res = await get("/v1/live/stream-1/leaderboard");
    expect(res.statusCode).toBe(200);
    const body = res.json() as { streamId: string; data: Record<string, unknown>[] };
    expect(body.streamId).toBe("stream-1");
    expect(withoutGifts(body.data)).toEqual(
      await rebuild((e) => e.context?.type === "live" && e.context.id === "stream-1"),
    );
    expect(body.data).toEqual([
      { rank: 1, userId: "ben", displayName: "The ben", coins: "300", gifts: 3 },
      { rank: 2, userId: "cat", displayName: "The cat", coins: "200", gifts: 2 },
      { rank: 3, userId: "ann", displayName: "The ann", coins: "33", gifts: 33 },
    ]);
    const top1 = (await get("/v1/live/stream-1/leaderboard?limit=1")).json() as { data: unknown[] };
    expect(top1.data).toEqual(body.data.slice(0, 1));
    expect((await get("/v1/live/nobody-here/leaderboard")).json()).toEqual({
      streamId: "nobody-here",
      data: [],
    });
    // Stream ids are as long as a gift's context id may be.
    const longest = "s".repeat(128);
    expect((await get(`/v1/live/${longest}/leaderboard`)).json()).toEqual({ streamId: longest, data: [] });
  });

  it("ranks a creator's gifters over the UTC day, the ISO week and all time, equal to a rebuild", async () => {
    await setup();
    const utc = (iso: string) => Date.parse(`${iso}T00:00:00.000Z`);
    const boardsOn = {
      // Tuesday: the week began on Monday the 7th.
      1: { day: [utc("2030-01-08"), utc("2030-01-09")], week: [utc("2030-01-07"), utc("2030-01-14")] },
      // The next Monday starts a new day and a new week.
      7: { day: [utc("2030-01-14"), utc("2030-01-15")], week: [utc("2030-01-14"), utc("2030-01-21")] },
    } as Record<number, Record<"day" | "week", number[]>>;
    await sendWeek(async (day) => {
      const periods = boardsOn[day];
      if (periods === undefined) return;
      for (const [period, [from, to]] of [
        ...Object.entries(periods),
        ["all", [Number.NEGATIVE_INFINITY, Number.POSITIVE_INFINITY]] as const,
      ]) {
        const res = await get(`/v1/creators/creator/leaderboard?period=${period}`);
        expect(res.statusCode).toBe(200);
        const body = res.json() as {
          period: string;
          from: string | null;
          to: string | null;
          data: Record<string, unknown>[];
        };
        expect(body.period).toBe(period);
        expect(body.from).toBe(Number.isFinite(from) ? new Date(from!).toISOString() : null);
        expect(body.to).toBe(Number.isFinite(to) ? new Date(to!).toISOString() : null);
        const expected = await rebuild((e) => {
          const at = Date.parse(e.at);
          return e.counterparty === "creator" && at >= from! && at < to!;
        });
        expect(expected.length).toBeGreaterThan(0);
        expect(withoutGifts(body.data), `${period} on day ${day}`).toEqual(expected);
      }
    });
    // Video gifts count for the creator; the default period is all.
    const all = (await get("/v1/creators/creator/leaderboard")).json() as {
      period: string;
      data: { userId: string; coins: string }[];
    };
    expect(all.period).toBe("all");
    expect(all.data.find((line) => line.userId === "dan")?.coins).toBe("150");
    // Another creator's board holds only the gifts sent to them.
    const other = (await get("/v1/creators/other/leaderboard?period=week")).json() as { data: unknown[] };
    expect(other.data).toEqual([{ rank: 1, userId: "ann", displayName: "The ann", coins: "200", gifts: 2 }]);
  });

  it("keeps coins on the board after a chargeback takes the creator's diamonds back", async () => {
    await setup();
    const purchase = await t!.app.inject({
      method: "POST",
      url: "/v1/purchases",
      headers: { ...t!.admin, "idempotency-key": key() },
      payload: { userId: "eve", packId: "us-1000", provider: "test" },
    });
    expect(purchase.statusCode).toBe(201);
    await send("eve", "hand-hearts", 5, { type: "live", id: "stream-1" });
    await send("ann", "rose", 7, { type: "live", id: "stream-1" });
    const before = (await get("/v1/live/stream-1/leaderboard")).json();
    const dispute = await t!.app.inject({
      method: "POST",
      url: `/v1/test/purchases/${(purchase.json() as { id: string }).id}/dispute`,
      headers: { ...t!.admin, "idempotency-key": key() },
    });
    expect(dispute.statusCode, dispute.body).toBe(200);
    // SUM is a bigint on SQLite, an exact decimal string on PostgreSQL.
    const reversed = (await t!.runtime.store.get(
      "SELECT SUM(reversed_diamonds) AS r FROM gifts WHERE sender_id = 'eve'",
    )) as { r: bigint | string };
    expect(BigInt(reversed.r)).toBeGreaterThan(0n);
    // The coins were spent (eve now owes them as debt); only the creator's diamonds went back.
    expect((await get("/v1/live/stream-1/leaderboard")).json()).toEqual(before);
    expect((before as { data: unknown[] }).data[0]).toMatchObject({ userId: "eve", coins: "500" });
    expect(withoutGifts((before as { data: Record<string, unknown>[] }).data)).toEqual(
      await rebuild((e) => e.context?.id === "stream-1"),
    );
  });

  it("answers bad input with 400 invalid_request and an unknown creator with 404", async () => {
    await setup();
    for (const url of [
      "/v1/creators/creator/leaderboard?period=month",
      "/v1/creators/creator/leaderboard?period=",
      "/v1/creators/creator/leaderboard?limit=0",
      "/v1/creators/creator/leaderboard?limit=101",
      "/v1/creators/creator/leaderboard?limit=abc",
      "/v1/creators/creator/leaderboard?limit=1.5",
      "/v1/creators/creator/leaderboard?limit=-1",
      "/v1/creators/creator/leaderboard?sort=coins",
      "/v1/creators/bad%20id/leaderboard",
      "/v1/live/stream-1/leaderboard?limit=0",
      "/v1/live/stream-1/leaderboard?limit=99999",
      `/v1/live/${"s".repeat(129)}/leaderboard`,
    ]) {
      const res = await get(url);
      expect(res.statusCode, url).toBe(400);
      expect(res.headers["content-type"]).toContain("application/problem+json");
      expect(res.json(), url).toMatchObject({ code: "invalid_request" });
    }
    const missing = await get("/v1/creators/nobody/leaderboard?period=day");
    expect(missing.statusCode).toBe(404);
    expect(missing.json()).toMatchObject({ code: "not_found" });
  });

  it("answers without a limit when live.leaderboardSizeMax is below the default of 10", async () => {
    await setup({ live: { leaderboardSizeMax: 3 } });
    await sendWeek();
    for (const url of ["/v1/live/stream-1/leaderboard", "/v1/creators/creator/leaderboard?period=all"]) {
      const res = await get(url);
      expect(res.statusCode, `${url}: ${res.body}`).toBe(200);
      expect(res.json().data.length, url).toBe(3);
    }
    expect((await get("/v1/live/stream-1/leaderboard?limit=4")).statusCode).toBe(400);
  });
});
