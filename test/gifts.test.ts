import { afterEach, describe, expect, it, vi } from "vitest";
import { reconcile } from "../src/ledger/reconcile.js";
import { SqlGiftStore } from "../src/store/sql/gift-store.js";
import { openTestApp, type TestApp } from "./support/app.js";

let t: TestApp | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

let n = 0;
const key = () => `g-${n++}`;

/**
 * The background jobs once an hour instead of every second: the maturation job would otherwise
 * mature lots under a test's feet on a slow machine (found when CI ran slow: lots due at once, with
 * maturationDays 0, matured between two gifts), so these tests call it themselves.
 */
const jobsHourly = { ledger: { pendingExpiryIntervalMs: 3_600_000 } };

async function setup(economy: object = {}, overrides: object = jobsHourly) {
  t = await openTestApp({ testMode: true, economy, ...overrides });
  for (const [id, birthDate] of [
    ["viewer", "1990-01-01"],
    ["creator", "1995-06-01"],
    ["kid", "2015-01-01"],
  ] as const) {
    await t.app.inject({
      method: "PUT",
      url: `/v1/users/${id}`,
      headers: t.admin,
      payload: { country: "US", birthDate, displayName: id },
    });
  }
  return t;
}

async function buy(app: TestApp, packId: string, userId = "viewer") {
  const res = await app.app.inject({
    method: "POST",
    url: "/v1/purchases",
    headers: { ...app.admin, "idempotency-key": key() },
    payload: { userId, packId, provider: "test" },
  });
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string };
}

/** The admin's economy report for the window from `from` to `to` (ISO times). */
function economyReport(app: TestApp, from: string, to: string) {
  return app.app.inject({
    method: "GET",
    url: `/v1/admin/reports/economy?from=${from}&to=${to}`,
    headers: app.admin,
  });
}

/** A GB viewer, "brit", who buys the 1,000-coin pack at 789 pence; answers the purchase. */
async function britWithPack(app: TestApp) {
  const put = await app.app.inject({
    method: "PUT",
    url: "/v1/users/brit",
    headers: app.admin,
    payload: { country: "GB", birthDate: "1990-01-01", displayName: "brit" },
  });
  expect(put.statusCode, put.body).toBeLessThan(300);
  return buy(app, "gb-1000", "brit");
}

function send(app: TestApp, body: Record<string, unknown>, k = key()) {
  return app.app.inject({
    method: "POST",
    url: "/v1/gifts/send",
    headers: { ...app.admin, "idempotency-key": k },
    payload: {
      senderId: "viewer",
      recipientId: "creator",
      giftId: "hand-hearts",
      quantity: 1,
      context: { type: "live", id: "stream-1" },
      ...body,
    },
  });
}

const bal = async (app: TestApp, id: string) =>
  (await app.runtime.ledger.balances([id])).get(id)?.posted ?? 0n;

describe("gifts", () => {
  it("never pays a fraction of a diamond: coins × the rate rounds down", async () => {
    // 0.7 diamonds a coin: a rose (1 coin) is worth 0.7 diamonds, 15 roses 10.5.
    const app = await setup({ coinToDiamondRate: "0.7", earnings: { maturationDays: 0 } });
    await buy(app, "us-1000");
    const one = await send(app, { giftId: "rose", quantity: 1 });
    expect(one.statusCode, one.body).toBe(201);
    expect(one.json()).toMatchObject({ coinsSpent: "1", diamondsEarned: "0" });
    const fifteen = await send(app, { giftId: "rose", quantity: 15 });
    expect(fifteen.json()).toMatchObject({ coinsSpent: "15", diamondsEarned: "10" });
  });

  it("holds the worked example of DESIGN.md §1", async () => {
    const app = await setup({ earnings: { maturationDays: 0 } });
    const pack = await buy(app, "us-1000");
    const live = await send(app, { giftId: "hand-hearts", context: { type: "live", id: "stream-1" } });
    expect(live.statusCode).toBe(201);
    expect(live.json()).toMatchObject({ coinsSpent: "100", diamondsEarned: "200" });
    const video = await send(app, { giftId: "hand-hearts", context: { type: "video", id: "video-9" } });
    expect(video.json()).toMatchObject({ coinsSpent: "100", diamondsEarned: "200" });
    expect(await bal(app, `user:viewer:coins:paid:${pack.id}`)).toBe(800n);
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(400n);
    const wallet = (id: string) =>
      app.app.inject({ method: "GET", url: `/v1/users/${id}/wallet`, headers: app.admin });
    expect((await wallet("viewer")).json().coins).toEqual({
      balance: "800",
      paid: "800",
      bonus: "0",
      debt: "0",
    });
    // Due with maturationDays 0: the read path shows them withdrawable before the job moves them.
    const expected = {
      diamonds: { pending: "0", withdrawable: "400", onHold: "0" },
      cash: { currency: "USD", gross: "300", commission: "150", net: "150" },
    };
    expect((await wallet("creator")).json()).toMatchObject(expected);
    expect(await app.gifts.mature()).toBe(2);
    expect((await wallet("creator")).json()).toMatchObject(expected);
    expect(await bal(app, "user:creator:diamonds:withdrawable")).toBe(400n);
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(0n);
    // The lots keep the values locked at receipt: 200 × $0.005 + 200 × $0.01 = $3.00 gross.
    const lots = (await app.runtime.store.all(
      "SELECT diamonds, value_usd, commission_rate FROM gifts ORDER BY created_at, id",
    )) as { diamonds: bigint; value_usd: string; commission_rate: string }[];
    expect(lots.map((l) => [l.diamonds, l.value_usd, l.commission_rate]).sort()).toEqual(
      [
        [200n, "0.005", "0.5"],
        [200n, "0.01", "0.5"],
      ].sort(),
    );
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });

  it("spends bonus coins first, then paid coins oldest purchase first", async () => {
    const app = await setup();
    await app.app.inject({
      method: "POST",
      url: "/v1/admin/users/viewer/bonus",
      headers: { ...app.admin, "idempotency-key": key() },
      payload: { coins: "30" },
    });
    const older = await buy(app, "us-100");
    await app.clock.set(app.clock.now() + 1000);
    const newer = await buy(app, "us-100");
    const res = await send(app, { giftId: "rose", quantity: 60 });
    expect(res.statusCode).toBe(201);
    expect(await bal(app, "user:viewer:coins:bonus")).toBe(0n);
    expect(await bal(app, `user:viewer:coins:paid:${older.id}`)).toBe(70n);
    expect(await bal(app, `user:viewer:coins:paid:${newer.id}`)).toBe(100n);
  });

  it("draws on the oldest 63 lots with coins left, and reaches newer ones as those empty", async () => {
    // A cascade lists at most 64 accounts, the bonus one and 63 lots; a buyer may have more.
    const app = await setup();
    const lots = [];
    for (let i = 0; i < 66; i++) lots.push((await buy(app, "us-100")).id);
    const wallet = await app.app.inject({
      method: "GET",
      url: "/v1/users/viewer/wallet",
      headers: app.admin,
    });
    expect(wallet.json().coins).toMatchObject({ balance: "6600", paid: "6600" });
    // 6,400 coins: more than the oldest 63 lots hold (6,300), though not more than all 66.
    const tooMuch = await send(app, { quantity: 64 });
    expect(tooMuch.statusCode, tooMuch.body).toBe(422);
    expect(tooMuch.json().code).toBe("insufficient_coins");
    expect(await bal(app, `user:viewer:coins:paid:${lots[0]}`)).toBe(100n);
    // One lot a gift: the 64th gift finds the first 63 lots empty and draws on the 64th.
    for (let i = 0; i < 66; i++) {
      const res = await send(app, {});
      expect(res.statusCode, `gift ${i}: ${res.body}`).toBe(201);
      expect(await bal(app, `user:viewer:coins:paid:${lots[i]}`)).toBe(0n);
    }
    const broke = await send(app, { giftId: "rose" });
    expect(broke.statusCode).toBe(422);
    expect(broke.json().code).toBe("insufficient_coins");
  });

  it("replays a gift sent twice with one key, and refuses the key for another gift", async () => {
    const app = await setup();
    await buy(app, "us-1000");
    const k = key();
    const first = await send(app, {}, k);
    const again = await send(app, {}, k);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.json()).toEqual(first.json());
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(200n);
    expect((await send(app, { quantity: 2 }, k)).json()).toMatchObject({ code: "idempotency_key_reused" });
  });

  it("keeps the gift's id in its idempotency record, and replays the receipt from the row after maturation", async () => {
    const app = await setup({ earnings: { maturationDays: 0 } });
    await buy(app, "us-1000");
    const k = key();
    const first = await send(app, { giftId: "rose", quantity: 3, context: { type: "video", id: "v-7" } }, k);
    expect(first.statusCode).toBe(201);
    const id = first.json().id as string;
    // No receipt and no transfers in the record: the gift's row holds every field of the receipt.
    const records = await app.runtime.store.all("SELECT result FROM idempotency WHERE result LIKE ?", [
      '%"receiptOf"%',
    ]);
    expect(records.map((r) => JSON.parse(String(r.result)))).toEqual([
      { transfers: [], memo: { receiptOf: id } },
    ]);
    expect(await app.gifts.mature()).toBe(1);
    const again = await send(app, { giftId: "rose", quantity: 3, context: { type: "video", id: "v-7" } }, k);
    expect(again.statusCode).toBe(201);
    expect(again.headers["idempotent-replayed"]).toBe("true");
    // Byte for byte: the same fields, values and order as the first answer.
    expect(again.body).toBe(first.body);
  });

  it("answers a retry of a gift in flight with the first receipt, and replays a record that holds a whole receipt", async () => {
    const app = await setup();
    await buy(app, "us-1000");
    const input = {
      senderId: "viewer",
      recipientId: "creator",
      giftId: "rose",
      quantity: 2,
      context: { type: "live" as const, id: "s-1" },
    };
    const idem = { key: "service-retry-1", fingerprint: "fingerprint-1" };
    const [a, b] = await Promise.all([app.gifts.send(input, idem), app.gifts.send(input, idem)]);
    expect(a.replayed).toBe(false);
    expect(b).toEqual({ receipt: a.receipt, replayed: true });
    const diamonds = BigInt(a.receipt.diamondsEarned);
    expect(diamonds).toBeGreaterThan(0n);
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(diamonds);
    // Records written before receipts were read back from rows hold the receipt itself.
    const legacy = { ...a.receipt, context: { type: "video", id: "as-first-answered" } };
    await app.runtime.store.execute([
      {
        sql: "UPDATE idempotency SET result = ? WHERE key = ?",
        params: [JSON.stringify({ transfers: [], memo: legacy }), idem.key],
      },
    ]);
    expect(await app.gifts.send(input, idem)).toEqual({ receipt: legacy, replayed: true });
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(diamonds);
  });

  it("lets exactly the affordable ones of 50 concurrent gifts through", async () => {
    const app = await setup();
    await buy(app, "us-1000");
    const results = await Promise.all(Array.from({ length: 50 }, () => send(app, {})));
    const ok = results.filter((r) => r.statusCode === 201);
    const refused = results.filter((r) => r.statusCode === 422);
    expect(ok).toHaveLength(10);
    expect(refused).toHaveLength(40);
    for (const r of refused) expect(r.json()).toMatchObject({ code: "insufficient_coins" });
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(2000n);
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });

  it.each([
    ["quantity 0", { quantity: 0 }, 400, "invalid_request"],
    ["quantity -1", { quantity: -1 }, 400, "invalid_request"],
    ["quantity 1.5", { quantity: 1.5 }, 400, "invalid_request"],
    ['quantity "1e3"', { quantity: "1e3" }, 400, "invalid_request"],
    ["quantity 2^64", { quantity: 2 ** 64 }, 400, "invalid_request"],
    ["quantity null", { quantity: null }, 400, "invalid_request"],
    ["an unknown field", { diamonds: "5000" }, 400, "invalid_request"],
    [
      "a live-only gift on a video",
      { giftId: "universe", context: { type: "video", id: "v" } },
      422,
      "gift_not_available_here",
    ],
    ["a self-gift", { recipientId: "viewer" }, 422, "self_gift_forbidden"],
    // PostgreSQL text cannot hold it: it must be refused before it reaches a batch.
    ["a NUL in the context id", { context: { type: "live", id: "stream\u0000x" } }, 400, "invalid_request"],
    // Nor can its JSON lists hold a lone surrogate, which JSON's "\ud800" escape parses to.
    [
      "a lone surrogate in the context id",
      { context: { type: "live", id: "stream\ud800" } },
      400,
      "invalid_request",
    ],
    ["an unknown gift", { giftId: "unicorn" }, 422, "unknown_gift"],
    ["too many at once", { giftId: "rose", quantity: 101 }, 422, "quantity_too_large"],
    ["an underage creator", { recipientId: "kid" }, 422, "underage"],
    ["an unknown recipient", { recipientId: "ghost" }, 404, "not_found"],
    ["more coins than the viewer has", { giftId: "universe" }, 422, "insufficient_coins"],
  ])("refuses %s, and nothing moves", async (_name, body, status, code) => {
    const app = await setup();
    const pack = await buy(app, "us-1000");
    const res = await send(app, body);
    expect(res.statusCode).toBe(status);
    expect(res.json()).toMatchObject({ code });
    expect(await bal(app, `user:viewer:coins:paid:${pack.id}`)).toBe(1000n);
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(0n);
  });

  it("refuses a restricted sender", async () => {
    const app = await setup();
    await buy(app, "us-1000");
    await app.app.inject({ method: "POST", url: "/v1/admin/users/viewer/restrict", headers: app.admin });
    expect((await send(app, {})).json()).toMatchObject({ code: "user_restricted" });
  });

  it("answers a retry with the first receipt even when a check would now refuse the gift", async () => {
    const app = await setup();
    await buy(app, "us-1000");
    const k = key();
    const first = await send(app, {}, k);
    expect(first.statusCode).toBe(201);
    await app.app.inject({ method: "POST", url: "/v1/admin/users/viewer/restrict", headers: app.admin });
    // The client did not hear the 201 and retries: the coins were spent, the gift was sent.
    const retry = await send(app, {}, k);
    expect(retry.statusCode, retry.body).toBe(201);
    expect(retry.headers["idempotent-replayed"]).toBe("true");
    expect(retry.json()).toEqual(first.json());
    // Another body under the key is the key's misuse, not that body's own refusal.
    const other = await send(app, { recipientId: "viewer" }, k);
    expect(other.statusCode).toBe(422);
    expect(other.json()).toMatchObject({ code: "idempotency_key_reused" });
  });
});

describe("earnings.bonusCoinsEarn: false", () => {
  const grant = (app: TestApp, coins: string) =>
    app.app.inject({
      method: "POST",
      url: "/v1/admin/users/viewer/bonus",
      headers: { ...app.admin, "idempotency-key": key() },
      payload: { coins },
    });

  it("earns diamonds on the paid coins a gift spends, and none on bonus coins", async () => {
    const app = await setup({ earnings: { bonusCoinsEarn: false } });
    const pack = await buy(app, "us-100");
    const paidOnly = await send(app, { giftId: "rose", quantity: 10 });
    expect(paidOnly.statusCode).toBe(201);
    const perTen = BigInt(paidOnly.json().diamondsEarned);
    expect(perTen).toBeGreaterThan(0n);

    expect((await grant(app, "30")).statusCode).toBe(201);
    // Bonus first: 30 bonus coins, then 30 paid coins; only the paid 30 earn.
    const k = key();
    const mixed = await send(app, { giftId: "rose", quantity: 60 }, k);
    expect(mixed.statusCode).toBe(201);
    expect(mixed.json()).toMatchObject({ coinsSpent: "60", diamondsEarned: String(3n * perTen) });
    const replay = await send(app, { giftId: "rose", quantity: 60 }, k);
    expect(replay.json()).toEqual(mixed.json());
    expect(await bal(app, "user:viewer:coins:bonus")).toBe(0n);
    expect(await bal(app, `user:viewer:coins:paid:${pack.id}`)).toBe(60n);

    await grant(app, "20");
    const bonusOnly = await send(app, { giftId: "rose", quantity: 20 });
    expect(bonusOnly.json()).toMatchObject({ coinsSpent: "20", diamondsEarned: "0" });
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(4n * perTen);
    // What the creator's history and the gift rows say matches what the ledger moved.
    const history = (
      await app.app.inject({ method: "GET", url: "/v1/users/creator/transactions", headers: app.admin })
    ).json() as { data: { amounts: { diamonds: string } }[] };
    expect(history.data.map((e) => e.amounts.diamonds)).toEqual(["0", String(3n * perTen), String(perTen)]);
    const rows = (await app.runtime.store.all("SELECT SUM(diamonds) AS d FROM gifts")) as { d: bigint }[];
    expect(BigInt(rows[0]!.d)).toBe(4n * perTen);
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });

  it("a chargeback takes back what the purchase's coins earned, at the gift's rate", async () => {
    const app = await setup({ earnings: { bonusCoinsEarn: false } });
    await grant(app, "50");
    const pack = await buy(app, "us-100");
    // 50 bonus coins (earning nothing), then 50 of the purchase's coins.
    const res = await send(app, { giftId: "rose", quantity: 100 });
    const earned = BigInt(res.json().diamondsEarned);
    expect(earned).toBeGreaterThan(0n);
    await app.app.inject({
      method: "POST",
      url: `/v1/test/purchases/${pack.id}/dispute`,
      headers: app.admin,
    });
    // Every diamond came from the disputed purchase's coins: all are taken back, none booked as loss.
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(0n);
    expect(await bal(app, "platform:diamonds:chargeback_losses")).toBe(0n);
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });
});

describe("chargebacks of coins that became diamonds", () => {
  const simulate = (app: TestApp, id: string, action: string) =>
    app.app.inject({ method: "POST", url: `/v1/test/purchases/${id}/${action}`, headers: app.admin });

  it("coins spent, diamonds pending: the diamonds are taken back; a won dispute gives them back", async () => {
    const app = await setup();
    const pack = await buy(app, "us-1000");
    await send(app, {}); // 100 coins → 200 pending diamonds
    await simulate(app, pack.id, "dispute");
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(0n);
    expect(await bal(app, "user:viewer:coins:debt")).toBe(-100n);
    expect(await bal(app, `user:viewer:coins:paid:${pack.id}`)).toBe(0n);
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);

    await simulate(app, pack.id, "dispute-won");
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(200n);
    expect(await bal(app, "user:viewer:coins:debt")).toBe(0n);
    expect(await app.gifts.mature()).toBe(0);
    await app.clock.set(app.clock.now() + 7 * 86_400_000);
    expect(await app.gifts.mature()).toBe(1);
    expect(await bal(app, "user:creator:diamonds:withdrawable")).toBe(200n);
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });

  it("a dispute won after the lot matured gives the diamonds back as withdrawable, not pending", async () => {
    const app = await setup();
    const pack = await buy(app, "us-1000");
    await send(app, {}); // 200 pending diamonds
    await simulate(app, pack.id, "dispute");
    await app.clock.set(app.clock.now() + 7 * 86_400_000);
    // The lot matures with nothing left in it: its diamonds were taken back.
    expect(await app.gifts.mature()).toBe(1);
    await simulate(app, pack.id, "dispute-won");
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(0n);
    expect(await bal(app, "user:creator:diamonds:withdrawable")).toBe(200n);
    const wallet = (
      await app.app.inject({ method: "GET", url: "/v1/users/creator/wallet", headers: app.admin })
    ).json();
    expect(wallet.diamonds).toEqual({ pending: "0", withdrawable: "200", onHold: "0" });
    expect(wallet.cash).toEqual({ currency: "USD", gross: "100", commission: "50", net: "50" });
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });

  it("matures a lot at its maturesAt, the moment the wallet counts it withdrawable", async () => {
    const app = await setup();
    await buy(app, "us-100");
    const sent = await send(app, {});
    expect(sent.statusCode, sent.body).toBe(201);
    const maturesAt = Date.parse(sent.json().maturesAt);
    const diamonds = async () =>
      (await app.app.inject({ method: "GET", url: "/v1/users/creator/wallet", headers: app.admin })).json()
        .diamonds;
    await app.clock.set(maturesAt - 1);
    expect(await app.gifts.mature()).toBe(0);
    expect(await diamonds()).toMatchObject({ pending: "200", withdrawable: "0" });
    await app.clock.set(maturesAt);
    // The read path and the job agree on the same instant: due, so the job moves it.
    expect(await diamonds()).toMatchObject({ pending: "0", withdrawable: "200" });
    expect(await app.gifts.mature()).toBe(1);
    expect(await bal(app, "user:creator:diamonds:withdrawable")).toBe(200n);
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(0n);
    expect(await diamonds()).toMatchObject({ pending: "0", withdrawable: "200" });
  });

  it("a chargeback and the maturation job racing for one lot move its diamonds once", async () => {
    const app = await setup();
    const charged = await buy(app, "us-100");
    const first = await send(app, {}); // all 100 coins of `charged` → lot A, 200 diamonds
    expect(first.statusCode).toBe(201);
    await app.clock.set(app.clock.now() + 86_400_000);
    await buy(app, "us-100");
    expect((await send(app, {})).statusCode).toBe(201); // lot B, 200 diamonds, a day younger
    const maturesAt = Date.parse(first.json().maturesAt);
    await app.clock.set(maturesAt - 1);

    // The chargeback reads lot A as pending; before it submits, A comes due and the job runs.
    // Without one lock over both, the job moved A's 200 diamonds and the chargeback took another
    // 200 out of pending (B's), so B could never mature and the job failed for every creator.
    const getLot = SqlGiftStore.prototype.getLot;
    let job: Promise<number> | undefined;
    const spy = vi.spyOn(SqlGiftStore.prototype, "getLot").mockImplementation(async function (
      this: SqlGiftStore,
      id: string,
    ) {
      const lot = await getLot.call(this, id);
      if (!job) {
        await app.clock.set(maturesAt + 1);
        job = app.gifts.mature();
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return lot;
    });
    try {
      const res = await simulate(app, charged.id, "dispute");
      expect(res.statusCode, res.body).toBeLessThan(300);
      // The server's own job may have matured A first (it queues on the same lock): either way once.
      await job;
    } finally {
      spy.mockRestore();
    }
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(200n);
    expect(await bal(app, "user:creator:diamonds:withdrawable")).toBe(0n);
    expect(await bal(app, "platform:diamonds:chargeback_losses")).toBe(0n);
    await app.clock.set(maturesAt + 2 * 86_400_000);
    await app.gifts.mature(); // B, unless the server's job got there first
    expect(await bal(app, "user:creator:diamonds:withdrawable")).toBe(200n);
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(0n);
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
    expect(await new SqlGiftStore(app.runtime.store).pendingMismatches(10)).toEqual([]);
  });

  it("reconcile finds a creator whose pending diamonds and pending lots disagree", async () => {
    const app = await setup();
    const pack = await buy(app, "us-1000");
    await send(app, {});
    await send(app, {});
    await simulate(app, pack.id, "dispute");
    const lots = new SqlGiftStore(app.runtime.store);
    expect(await lots.pendingMismatches(10)).toEqual([]);
    // What the race used to leave: a lot taken back, yet its diamonds moved on as well.
    await app.runtime.store.execute([{ sql: "UPDATE gifts SET reversed_diamonds = 0", params: [] }]);
    expect(await lots.pendingMismatches(10)).toEqual([
      { accountId: "user:creator:diamonds:pending", balance: 0n, lots: 400n },
    ]);
  });

  it("coins spent, diamonds matured: the creator keeps them, booked as a chargeback loss", async () => {
    const app = await setup();
    const pack = await buy(app, "us-1000");
    await send(app, {});
    await app.clock.set(app.clock.now() + 7 * 86_400_000);
    expect(await app.gifts.mature()).toBe(1);
    await simulate(app, pack.id, "dispute");
    expect(await bal(app, "user:creator:diamonds:withdrawable")).toBe(200n);
    expect(await bal(app, "platform:diamonds:chargeback_losses")).toBe(-200n);
    expect(await bal(app, "user:viewer:coins:debt")).toBe(-100n);
    expect((await reconcile(app.runtime.store)).problems).toEqual([]);
  });
});

describe("gift batches", () => {
  const batch = (app: TestApp, gifts: object[], k: string) =>
    app.app.inject({
      method: "POST",
      url: "/v1/gifts/send-batch",
      headers: { ...app.admin, "idempotency-key": k },
      payload: { gifts },
    });
  const gift = (id: string, giftId: string, quantity = 1) => ({
    id,
    senderId: "viewer",
    recipientId: "creator",
    giftId,
    quantity,
    context: { type: "live", id: "s" },
  });

  it("answers each gift on its own, and replays the whole batch", async () => {
    const app = await setup();
    await buy(app, "us-100");
    const body = [gift("a", "rose", 30), gift("b", "rose", 50), gift("c", "rose", 40), gift("d", "unicorn")];
    const first = await batch(app, body, "batch-1");
    expect(first.statusCode).toBe(200);
    const results = first.json().results as { id: string; ok: boolean; code?: string }[];
    expect(results.map((r) => [r.id, r.ok, r.code ?? null])).toEqual([
      ["a", true, null],
      ["b", true, null],
      ["c", false, "insufficient_coins"],
      ["d", false, "unknown_gift"],
    ]);
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(160n);
    const again = await batch(app, body, "batch-1");
    expect(again.json().results.map((r: { ok: boolean }) => r.ok)).toEqual([true, true, false, false]);
    expect(again.json().results[0].gift.id).toBe(results[0] && first.json().results[0].gift.id);
    // The accepted gifts replay their receipts, read back from their rows, exactly as first answered.
    const accepted = (r: { results: { ok: boolean }[] }) => r.results.filter((g) => g.ok);
    expect(accepted(again.json())).toEqual(accepted(first.json()));
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(160n);
  });

  it("binds the key to the whole batch: another body is refused before any gift of it moves", async () => {
    const app = await setup();
    await buy(app, "us-100");
    const first = await batch(app, [gift("a", "rose")], "batch-bound");
    expect(first.json().results[0].ok).toBe(true);
    const coins = (await bal(app, "user:viewer:coins:bonus")) + (await bal(app, "platform:coins:spent"));
    const grown = await batch(app, [gift("a", "rose"), gift("b", "rose")], "batch-bound");
    expect(grown.statusCode).toBe(422);
    expect(grown.json()).toMatchObject({ code: "idempotency_key_reused" });
    expect((await bal(app, "user:viewer:coins:bonus")) + (await bal(app, "platform:coins:spent"))).toBe(
      coins,
    );
    expect(await bal(app, "user:creator:diamonds:pending")).toBe(2n);
    // The same body replays; a gift sent then is answered as first sent though its sender is now restricted.
    await app.app.inject({ method: "POST", url: "/v1/admin/users/viewer/restrict", headers: app.admin });
    const again = await batch(app, [gift("a", "rose")], "batch-bound");
    expect(again.json()).toEqual(first.json());
  });

  it("refuses repeated client ids, an empty batch and more than 1,000 gifts", async () => {
    const app = await setup();
    expect((await batch(app, [gift("a", "rose"), gift("a", "rose")], "b2")).statusCode).toBe(400);
    expect((await batch(app, [], "b3")).statusCode).toBe(400);
    const many = Array.from({ length: 1001 }, (_, i) => gift(`g${i}`, "rose"));
    expect((await batch(app, many, "b4")).statusCode).toBe(400);
  });

  it("refuses repeated client ids before counting the gifts against the senders' rate limit", async () => {
    const app = await setup({}, { ...jobsHourly, rateLimit: { senderGiftsMax: 4, windowMs: 60_000 } });
    await buy(app, "us-100");
    const repeated = await batch(
      app,
      Array.from({ length: 4 }, () => gift("same", "rose")),
      "b5",
    );
    expect(repeated.statusCode, repeated.body).toBe(400);
    // The four gifts the limit allows are all still there.
    const four = await batch(
      app,
      ["a", "b", "c", "d"].map((id) => gift(id, "rose")),
      "b6",
    );
    expect(four.statusCode, four.body).toBe(200);
    expect(four.json().results.every((r: { ok: boolean }) => r.ok)).toBe(true);
  });
});

describe("history", () => {
  it("lists what happened to each user, newest first, with amounts, counterparty, context and version", async () => {
    const app = await setup({ earnings: { maturationDays: 0 } });
    const pack = await buy(app, "us-1000");
    await send(app, { context: { type: "live", id: "stream-1" } });
    await send(app, { context: { type: "video", id: "video-9" } });
    await app.gifts.mature();
    const history = async (id: string, query = "") =>
      (
        await app.app.inject({
          method: "GET",
          url: `/v1/users/${id}/transactions${query}`,
          headers: app.admin,
        })
      ).json() as {
        data: {
          kind: string;
          amounts: Record<string, string>;
          counterparty: string | null;
          context: unknown;
          economyVersion: string | null;
          ref: string | null;
        }[];
        nextCursor: string | null;
      };
    const viewer = await history("viewer");
    expect(viewer.data.map((e) => e.kind)).toEqual(["gift_sent", "gift_sent", "purchase"]);
    expect(viewer.data[0]).toMatchObject({
      amounts: { coins: "100" },
      counterparty: "creator",
      context: { type: "video", id: "video-9" },
    });
    expect(viewer.data[2]).toMatchObject({ amounts: { coins: "1000", moneyMinor: "990" }, ref: pack.id });
    expect(viewer.data[2]!.economyVersion).toMatch(/^ev_/);
    const creator = await history("creator");
    expect(creator.data.map((e) => e.kind)).toEqual([
      "maturation",
      "maturation",
      "gift_received",
      "gift_received",
    ]);
    expect(creator.data[2]).toMatchObject({ amounts: { diamonds: "200" }, counterparty: "viewer" });

    const first = await history("creator", "?limit=3");
    expect(first.data).toHaveLength(3);
    const rest = await history("creator", `?limit=3&cursor=${first.nextCursor}`);
    expect(rest.data.map((e) => e.kind)).toEqual(["gift_received"]);
    expect(rest.nextCursor).toBeNull();
    const missing = await app.app.inject({
      method: "GET",
      url: "/v1/users/ghost/transactions",
      headers: app.admin,
    });
    expect(missing.statusCode).toBe(404);
    // A cursor is opaque, and only one this endpoint gave is taken: anything else is a 400, not a
    // 500 (its parts are bound into SQL), and the page is not served from somewhere else.
    const cursorOf = (text: string) => Buffer.from(text).toString("base64url");
    for (const cursor of [
      "9999999999999999999",
      "not+base64",
      "x".repeat(129),
      cursorOf("1000.0.9223372036854775808"),
      cursorOf("1000.0.gft_abc"),
      cursorOf("1000.1.123"),
      cursorOf("1000.3.gft_abc"),
      cursorOf("99999999999999999.1.gft_abc"),
      cursorOf("-1.1.gft_abc"),
      cursorOf("1000.1.gft_a'b"),
      cursorOf(`1000.1.gft_${"a".repeat(61)}`),
    ]) {
      const bad = await app.app.inject({
        method: "GET",
        url: `/v1/users/creator/transactions?cursor=${encodeURIComponent(cursor)}`,
        headers: app.admin,
      });
      expect(bad.statusCode, cursor).toBe(400);
      expect(bad.json()).toMatchObject({ code: "invalid_request" });
    }
  });

  it("records chargebacks for the buyer and for the creator whose diamonds are taken back", async () => {
    const app = await setup();
    const pack = await buy(app, "us-1000");
    await send(app, {});
    await app.app.inject({
      method: "POST",
      url: `/v1/test/purchases/${pack.id}/dispute`,
      headers: app.admin,
    });
    const kinds = async (id: string) =>
      (
        (
          await app.app.inject({ method: "GET", url: `/v1/users/${id}/transactions`, headers: app.admin })
        ).json() as {
          data: { kind: string; amounts: Record<string, string> }[];
        }
      ).data;
    expect((await kinds("viewer"))[0]).toMatchObject({
      kind: "chargeback",
      amounts: { coinsRemoved: "900", debtCoins: "100", moneyMinor: "990" },
    });
    expect((await kinds("creator"))[0]).toMatchObject({
      kind: "chargeback",
      amounts: { diamondsReversed: "200" },
    });
  });
});

describe("economy report", () => {
  it("lists both sources, with zeros for one nothing was sent on", async () => {
    const app = await setup({ earnings: { maturationDays: 0 } });
    const from = new Date(app.clock.now() - 1000).toISOString();
    await buy(app, "us-1000");
    await send(app, { context: { type: "live", id: "stream-1" } });
    const to = new Date(app.clock.now() + 1000).toISOString();
    const res = await economyReport(app, from, to);
    expect(res.statusCode, res.body).toBe(200);
    const sources = res.json().sources as { source: string; coinsSpent: string; diamondsEarned: string }[];
    expect(sources.map((s) => s.source)).toEqual(["live", "video"]);
    expect(sources[1]).toMatchObject({ source: "video", coinsSpent: "0", diamondsEarned: "0" });
  });

  it("reports sales per currency and, per source, what was earned, what is owed and the margin", async () => {
    const app = await setup({ earnings: { maturationDays: 0 } });
    const from = new Date(app.clock.now() - 1000).toISOString();
    await buy(app, "us-1000");
    await send(app, { context: { type: "live", id: "stream-1" } });
    await send(app, { context: { type: "video", id: "video-9" } });
    const to = new Date(app.clock.now() + 1000).toISOString();
    const res = await economyReport(app, from, to);
    expect(res.statusCode).toBe(200);
    const report = res.json();
    expect(report.currencies).toEqual([
      {
        currency: "USD",
        coinsSold: "1000",
        revenueMinor: "990",
        refundedMinor: "0",
        chargedBackMinor: "0",
        coinsOutstanding: "800",
      },
    ]);
    const [live, video] = report.sources;
    // 100 coins at 0.99 ¢ each bought 200 live diamonds worth $1.00, of which the creator nets 50 ¢.
    expect(live).toEqual({
      source: "live",
      coinsSpent: "100",
      bonusCoinsSpent: "0",
      diamondsEarned: "200",
      earnedUsd: { currency: "USD", gross: "100", commission: "50", net: "50" },
      diamondsPending: "0",
      diamondsWithdrawable: "200",
      diamondsOnHold: "0",
      liabilityUsd: { currency: "USD", gross: "100", commission: "50", net: "50" },
      coinRevenueUsdMinor: "99",
      marginUsdMinor: "49",
    });
    // On a video the same coins pay the creator 100 % of their price before fees: the margin is -1 ¢.
    expect(video).toMatchObject({
      source: "video",
      earnedUsd: { gross: "200", net: "100" },
      marginUsdMinor: "-1",
    });

    const bad = await app.app.inject({
      method: "GET",
      url: `/v1/admin/reports/economy?from=${to}&to=${from}`,
      headers: app.admin,
    });
    expect(bad.statusCode).toBe(400);
  });

  it("keeps a closed period's figures when an exchange rate changes later", async () => {
    const app = await setup({ earnings: { maturationDays: 0 } });
    const from = new Date(app.clock.now() - 1000).toISOString();
    await britWithPack(app);
    expect((await send(app, { senderId: "brit" })).statusCode).toBe(201);
    const to = new Date(app.clock.now() + 1000).toISOString();
    const report = async () =>
      (await economyReport(app, from, to)).json().sources[0].coinRevenueUsdMinor as string;
    // £7.89 for 1,000 coins at 0.79 £/$ is 998.7 US cents: 100 coins bring 99 cents.
    expect(await report()).toBe("99");
    const scheduled = await app.app.inject({
      method: "POST",
      url: "/v1/admin/economy/versions",
      headers: app.admin,
      payload: {
        effectiveAt: new Date(app.clock.now() + 5000).toISOString(),
        override: { exchangeRates: { GBP: "0.5" } },
      },
    });
    expect(scheduled.statusCode, scheduled.body).toBe(201);
    await app.clock.set(app.clock.now() + 10_000);
    // The sale was made under the old rate: the window's figures stay as they were.
    expect(await report()).toBe("99");
  });

  it("counts only the money kept, values only paid coins, and drops what a chargeback took back", async () => {
    const app = await setup({ earnings: { maturationDays: 0 } });
    const from = new Date(app.clock.now() - 1000).toISOString();
    await buy(app, "us-1000");
    await send(app, {}); // 100 paid coins → 200 live diamonds ($1.00, 50 ¢ net)
    const charged = await buy(app, "us-1000");
    await app.app.inject({
      method: "POST",
      url: `/v1/test/purchases/${charged.id}/dispute`,
      headers: app.admin,
    });
    await app.app.inject({
      method: "POST",
      url: "/v1/admin/users/viewer/bonus",
      headers: { ...app.admin, "idempotency-key": key() },
      payload: { coins: "100" },
    });
    await send(app, {}); // 100 bonus coins → 200 live diamonds: no money behind them
    const to = new Date(app.clock.now() + 1000).toISOString();
    const report = (await economyReport(app, from, to)).json();
    expect(report.currencies).toEqual([
      {
        currency: "USD",
        coinsSold: "2000",
        revenueMinor: "1980",
        refundedMinor: "0",
        chargedBackMinor: "990",
        coinsOutstanding: "900",
      },
    ]);
    // $9.90 kept for 1,000 coins: 0.99 ¢ a coin, for the 100 paid coins only; the bonus gift's
    // diamonds are promotion expense, so the margin is 99 − 100 = −1 ¢.
    expect(report.sources[0]).toMatchObject({
      source: "live",
      coinsSpent: "200",
      bonusCoinsSpent: "100",
      diamondsEarned: "400",
      earnedUsd: { gross: "200", net: "100" },
      coinRevenueUsdMinor: "99",
      marginUsdMinor: "-1",
    });
  });

  it("leaves out of the revenue per coin the money a dispute of part of a payment left: its coins are gone", async () => {
    const app = await setup({ earnings: { maturationDays: 0 } });
    const from = new Date(app.clock.now() - 1000).toISOString();
    await buy(app, "us-1000");
    await send(app, {}); // 100 paid coins → 200 live diamonds ($1.00, 50 ¢ net)
    const disputed = await buy(app, "us-1000");
    // What a Stripe dispute of $3.00 of the $9.90 applies: the coins go in full, the money in part.
    await app.purchases.chargeback(disputed.id, "dp_partial", 300n);
    const to = new Date(app.clock.now() + 1000).toISOString();
    const report = async () => (await economyReport(app, from, to)).json();
    const partly = await report();
    // The $6.90 kept is real money and stays in the totals...
    expect(partly.currencies).toEqual([
      {
        currency: "USD",
        coinsSold: "2000",
        revenueMinor: "1980",
        refundedMinor: "0",
        chargedBackMinor: "300",
        coinsOutstanding: "900",
      },
    ]);
    // ...but stands for no coins: $9.90 for the 1,000 coins kept is 0.99 ¢ a coin, not
    // ($9.90 + $6.90) / 1,000 = 1.68 ¢.
    expect(partly.sources[0]).toMatchObject({
      source: "live",
      coinRevenueUsdMinor: "99",
      marginUsdMinor: "49",
    });
    // A won dispute gives the purchase its coins and its money back: $19.80 for 2,000 coins.
    await app.purchases.disputeWon(disputed.id, "dp_partial");
    const won = await report();
    expect(won.currencies[0]).toMatchObject({ chargedBackMinor: "0", coinsOutstanding: "1900" });
    expect(won.sources[0]).toMatchObject({ coinRevenueUsdMinor: "99", marginUsdMinor: "49" });
  });

  it("leaves out what a partly refunded purchase kept once it is disputed in part", async () => {
    const app = await setup({ earnings: { maturationDays: 0 } });
    const from = new Date(app.clock.now() - 1000).toISOString();
    const gb = await britWithPack(app);
    expect((await send(app, { senderId: "brit" })).statusCode).toBe(201); // 100 of its 1,000 coins
    const refunded = await app.app.inject({
      method: "POST",
      url: `/v1/purchases/${gb.id}/refund`,
      headers: { ...app.admin, "idempotency-key": key() },
    });
    // The 900 unused coins, pro rata: 789 × 900 / 1,000 = 710.1 → 710 pence.
    expect(refunded.json()).toMatchObject({ refundedCoins: "900", refundedMinor: "710" });
    // 30 of the 79 pence left are disputed: 49 pence stay, and the 100 spent coins become debt.
    await app.purchases.chargeback(gb.id, "dp_partial", 30n);
    await buy(app, "us-1000"); // the viewer's $9.90 for 1,000 coins
    const to = new Date(app.clock.now() + 1000).toISOString();
    const report = (await economyReport(app, from, to)).json();
    expect(report.currencies.map((c: { currency: string }) => c.currency)).toEqual(["GBP", "USD"]);
    expect(report.currencies[0]).toMatchObject({
      coinsSold: "1000",
      revenueMinor: "789",
      refundedMinor: "710",
      chargedBackMinor: "30",
    });
    // Only the $9.90 stands for coins: 0.99 ¢ a coin for the 100 spent. With the 49 pence
    // ($0.62 at 0.79 £/$) counted as well it would be 1.05 ¢.
    expect(report.sources[0]).toMatchObject({ source: "live", coinsSpent: "100", coinRevenueUsdMinor: "99" });
  });
});
