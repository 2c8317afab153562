import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { isGiftstreamError } from "../src/errors.js";
import { reconcile } from "../src/ledger/reconcile.js";
import { SqlGiftStore } from "../src/store/sql/gift-store.js";
import { openTestApp, type TestApp } from "./support/app.js";

/**
 * Random sequences of purchases, bonus grants, gifts and gift batches, clock moves, maturation,
 * refunds and chargebacks (won or not), run through the economy's services on a real SQLite
 * ledger, and through a small reference model of the economy. Every coin balance, lot, debt and
 * diamond balance must match the model, and the ledger must reconcile after every sequence.
 */

const dayMs = 86_400_000;
const viewers = ["v0", "v1"] as const;
const creators = ["c0", "c1"] as const;
const packs = { "gb-30": 30n, "gb-100": 100n } as const;
const prices = { "gb-30": 25n, "gb-100": 79n } as const;
const gifts = { rose: 1n, "finger-heart": 5n, "hand-hearts": 100n } as const;

type Op =
  | { op: "buy"; viewer: number; pack: keyof typeof packs }
  | { op: "bonus"; viewer: number; coins: bigint }
  | { op: "gift"; viewer: number; creator: number; gift: keyof typeof gifts; quantity: number }
  | { op: "batch"; viewer: number; creator: number; quantities: number[] }
  | { op: "days"; days: number }
  | { op: "mature" }
  | { op: "refund"; purchase: number }
  | { op: "dispute"; purchase: number }
  | { op: "won"; purchase: number };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  {
    weight: 3,
    arbitrary: fc.record({
      op: fc.constant("buy" as const),
      viewer: fc.nat(1),
      pack: fc.constantFrom("gb-30", "gb-100"),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("bonus" as const), viewer: fc.nat(1), coins: fc.bigInt(1n, 40n) }),
  },
  {
    weight: 4,
    arbitrary: fc.record({
      op: fc.constant("gift" as const),
      viewer: fc.nat(1),
      creator: fc.nat(1),
      gift: fc.constantFrom("rose", "finger-heart", "hand-hearts"),
      quantity: fc.integer({ min: 1, max: 30 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({
      op: fc.constant("batch" as const),
      viewer: fc.nat(1),
      creator: fc.nat(1),
      quantities: fc.array(fc.integer({ min: 1, max: 40 }), { minLength: 1, maxLength: 4 }),
    }),
  },
  {
    weight: 1,
    arbitrary: fc.record({ op: fc.constant("days" as const), days: fc.integer({ min: 1, max: 10 }) }),
  },
  { weight: 1, arbitrary: fc.constant({ op: "mature" as const }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("refund" as const), purchase: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("dispute" as const), purchase: fc.nat(20) }) },
  { weight: 1, arbitrary: fc.record({ op: fc.constant("won" as const), purchase: fc.nat(20) }) },
);

/** min for bigints; Math.min takes no bigint. */
const min = (a: bigint, b: bigint): bigint => (a < b ? a : b);

/** The economy as a few maps: what each account should hold after each operation. */
class Model {
  bonus = new Map<string, bigint>();
  debt = new Map<string, bigint>();
  /** Purchases in order: their lot balance and what a chargeback or refund did. */
  purchases: {
    id: string;
    viewer: string;
    coins: bigint;
    price: bigint;
    lot: bigint;
    createdAt: number;
    status: "completed" | "refunded" | "disputed";
    refundedCoins: bigint;
    refundedMoney: bigint;
    chargeback: { removed: bigint; debt: bigint; diamonds: Map<string, bigint>; lossDiamonds: bigint } | null;
  }[] = [];
  /** Gift lots: creator, diamonds, maturity, and which purchase lots paid how many coins. */
  lots: {
    id: string;
    creator: string;
    diamonds: bigint;
    coins: bigint;
    maturesAt: number;
    matured: boolean;
    reversed: bigint;
    paidBy: Map<string, bigint>;
  }[] = [];
  pending = new Map<string, bigint>();
  withdrawable = new Map<string, bigint>();

  coinsOf(viewer: string): bigint {
    let total = this.bonus.get(viewer) ?? 0n;
    for (const p of this.purchases) if (p.viewer === viewer) total += p.lot;
    return total;
  }

  /** Bonus first, then lots oldest first: the coins each source gives, or null when short. */
  spendPlan(viewer: string, coins: bigint): { bonus: bigint; lots: [string, bigint][] } | null {
    if (this.coinsOf(viewer) < coins) return null;
    let left = coins;
    const has = this.bonus.get(viewer) ?? 0n;
    const bonus = min(has, left);
    left -= bonus;
    const lots: [string, bigint][] = [];
    for (const p of this.purchases) {
      if (left === 0n || p.viewer !== viewer || p.lot === 0n) continue;
      const take = min(p.lot, left);
      lots.push([p.id, take]);
      left -= take;
    }
    return { bonus, lots };
  }
}

function add(map: Map<string, bigint>, key: string, delta: bigint) {
  map.set(key, (map.get(key) ?? 0n) + delta);
}

async function codeOf(promise: Promise<unknown>): Promise<string | null> {
  try {
    await promise;
    return null;
  } catch (error) {
    if (isGiftstreamError(error)) return error.code;
    throw error;
  }
}

describe("the economy against a reference model", () => {
  it("agrees on every coin, lot, debt and diamond, and the ledger reconciles", async () => {
    let seq = 0;
    await fc.assert(
      fc.asyncProperty(
        fc.array(opArb, { minLength: 1, maxLength: 30 }),
        fc.boolean(),
        async (ops, bonusEarns) => {
          const t: TestApp = await openTestApp({
            testMode: true,
            economy: { earnings: { bonusCoinsEarn: bonusEarns } },
          });
          const model = new Model();
          const key = () => ({ key: `prop-${seq}`, fingerprint: `f-${seq++}` });
          try {
            t.clock.set(Date.parse("2031-01-01T00:00:00Z"));
            for (const id of [...viewers, ...creators]) {
              await t.users.put(id, { country: "GB", birthDate: "1990-01-01", displayName: id });
            }
            const { Bonuses } = await import("../src/economy/bonus.js");
            const bonuses = new Bonuses(t.runtime.ledger, t.users, t.clock.now);

            for (const op of ops) {
              const now = t.clock.now();
              switch (op.op) {
                case "buy": {
                  const viewer = viewers[op.viewer]!;
                  const user = await t.users.get(viewer);
                  const { purchase } = await t.purchases.create(
                    { userId: viewer, packId: op.pack, provider: "test" },
                    key(),
                  );
                  const coins = packs[op.pack];
                  const owed = model.debt.get(viewer) ?? 0n;
                  const repaid = min(owed, coins);
                  add(model.debt, viewer, -repaid);
                  expect(user.status === "blocked").toBe(false);
                  model.purchases.push({
                    id: purchase.id,
                    viewer,
                    coins,
                    price: prices[op.pack],
                    lot: coins - repaid,
                    createdAt: now,
                    status: "completed",
                    refundedCoins: 0n,
                    refundedMoney: 0n,
                    chargeback: null,
                  });
                  break;
                }
                case "bonus": {
                  const viewer = viewers[op.viewer]!;
                  await bonuses.grant(viewer, op.coins, null, "prop", key());
                  add(model.bonus, viewer, op.coins);
                  break;
                }
                case "gift":
                case "batch": {
                  const viewer = viewers[op.viewer]!;
                  const creator = creators[op.creator]!;
                  const sends =
                    op.op === "gift"
                      ? [{ gift: op.gift, quantity: op.quantity }]
                      : op.quantities.map((quantity) => ({ gift: "rose" as const, quantity }));
                  const restricted = (await t.users.get(viewer)).status !== "active";
                  for (const s of sends) {
                    const coins = gifts[s.gift] * BigInt(s.quantity);
                    const plan = model.spendPlan(viewer, coins);
                    const code = await codeOf(
                      t.gifts.send(
                        {
                          senderId: viewer,
                          recipientId: creator,
                          giftId: s.gift,
                          quantity: s.quantity,
                          context: { type: "live", id: "s" },
                        },
                        key(),
                      ),
                    );
                    if (restricted) {
                      expect(code).toBe("user_restricted");
                      continue;
                    }
                    if (plan === null) {
                      expect(code).toBe("insufficient_coins");
                      continue;
                    }
                    expect(code).toBeNull();
                    add(model.bonus, viewer, -plan.bonus);
                    const paidBy = new Map<string, bigint>();
                    for (const [id, take] of plan.lots) {
                      model.purchases.find((p) => p.id === id)!.lot -= take;
                      paidBy.set(id, take);
                    }
                    // Two diamonds a coin; with bonusCoinsEarn false, for the paid coins only.
                    const diamonds = (bonusEarns ? coins : coins - plan.bonus) * 2n;
                    add(model.pending, creator, diamonds);
                    model.lots.push({
                      id: `lot-${model.lots.length}`,
                      creator,
                      diamonds,
                      coins,
                      maturesAt: now + 7 * dayMs,
                      matured: false,
                      reversed: 0n,
                      paidBy,
                    });
                  }
                  break;
                }
                case "days":
                  t.clock.set(now + op.days * dayMs);
                  break;
                case "mature": {
                  await t.gifts.mature();
                  for (const lot of model.lots) {
                    if (lot.matured || lot.maturesAt > now) continue;
                    lot.matured = true;
                    add(model.pending, lot.creator, -(lot.diamonds - lot.reversed));
                    add(model.withdrawable, lot.creator, lot.diamonds - lot.reversed);
                  }
                  break;
                }
                case "refund": {
                  const p = model.purchases[op.purchase % Math.max(1, model.purchases.length)];
                  if (!p) break;
                  const code = await codeOf(t.purchases.refund(p.id, key()));
                  // Coin debt is repaid first from the lot; only the rest is refunded.
                  const repaid = min(model.debt.get(p.viewer) ?? 0n, p.lot);
                  const back = p.lot - repaid;
                  const eligible = p.status === "completed" && now - p.createdAt <= 14 * dayMs && back > 0n;
                  if (!eligible) {
                    expect(code).toBe("coins_non_refundable");
                    break;
                  }
                  expect(code).toBeNull();
                  add(model.debt, p.viewer, -repaid);
                  const q = (p.price * back) / p.coins;
                  const r = p.price * back - q * p.coins;
                  // half-even: below half down, above half up, exactly half to even
                  const refundMoney =
                    2n * r < p.coins ? q : 2n * r > p.coins ? q + 1n : q % 2n === 0n ? q : q + 1n;
                  p.refundedCoins += back;
                  p.refundedMoney += refundMoney;
                  p.lot = 0n;
                  p.status = "refunded";
                  break;
                }
                case "dispute": {
                  const p = model.purchases[op.purchase % Math.max(1, model.purchases.length)];
                  if (!p) break;
                  await t.purchases.chargeback(p.id, `d-${seq++}`);
                  if (p.status === "disputed") break;
                  const removed = p.lot;
                  const spent = p.coins - p.refundedCoins - p.lot;
                  add(model.debt, p.viewer, spent);
                  p.lot = 0n;
                  const diamonds = new Map<string, bigint>();
                  let lossDiamonds = 0n;
                  const pendingLeft = new Map(model.pending);
                  // Newest gift first, as the ledger's history of the lot gives them.
                  for (const lot of [...model.lots].reverse()) {
                    const coins = lot.paidBy.get(p.id);
                    if (!coins) continue;
                    const share = bonusEarns
                      ? (lot.diamonds * coins) / lot.coins
                      : min(coins * 2n, lot.diamonds);
                    if (share === 0n) continue;
                    const stillPending = !lot.matured && lot.maturesAt > now;
                    const available = pendingLeft.get(lot.creator) ?? 0n;
                    const reversed = stillPending ? min(available, share) : 0n;
                    pendingLeft.set(lot.creator, available - reversed);
                    lot.reversed += reversed;
                    add(model.pending, lot.creator, -reversed);
                    diamonds.set(lot.id, reversed);
                    lossDiamonds += share - reversed;
                  }
                  p.chargeback = { removed, debt: spent, diamonds, lossDiamonds };
                  p.status = "disputed";
                  break;
                }
                case "won": {
                  const p = model.purchases[op.purchase % Math.max(1, model.purchases.length)];
                  if (!p) break;
                  const disputeId = (await t.purchases.get(p.id)).disputeId;
                  if (p.status !== "disputed" || disputeId === null) break;
                  await t.purchases.disputeWon(p.id, disputeId);
                  const cb = p.chargeback!;
                  p.lot += cb.removed;
                  const owed = model.debt.get(p.viewer) ?? 0n;
                  const cancel = min(owed, cb.debt);
                  add(model.debt, p.viewer, -cancel);
                  p.lot += cb.debt - cancel;
                  for (const lot of model.lots) {
                    const reversed = cb.diamonds.get(lot.id);
                    if (!reversed) continue;
                    lot.reversed -= reversed;
                    add(model.pending, lot.creator, reversed);
                  }
                  p.chargeback = null;
                  p.status = "completed";
                  break;
                }
              }
            }

            // Every balance the ledger holds matches the model.
            const bal = async (id: string) => (await t.runtime.ledger.balances([id])).get(id)?.posted ?? 0n;
            for (const viewer of viewers) {
              expect({ viewer, bonus: await bal(`user:${viewer}:coins:bonus`) }).toEqual({
                viewer,
                bonus: model.bonus.get(viewer) ?? 0n,
              });
              expect({ viewer, debt: -(await bal(`user:${viewer}:coins:debt`)) }).toEqual({
                viewer,
                debt: model.debt.get(viewer) ?? 0n,
              });
            }
            for (const p of model.purchases) {
              expect({ lot: p.id, coins: await bal(`user:${p.viewer}:coins:paid:${p.id}`) }).toEqual({
                lot: p.id,
                coins: p.lot,
              });
            }
            for (const creator of creators) {
              expect({ creator, pending: await bal(`user:${creator}:diamonds:pending`) }).toEqual({
                creator,
                pending: model.pending.get(creator) ?? 0n,
              });
              expect({ creator, withdrawable: await bal(`user:${creator}:diamonds:withdrawable`) }).toEqual({
                creator,
                withdrawable: model.withdrawable.get(creator) ?? 0n,
              });
            }
            const report = await reconcile(t.runtime.store);
            expect(report.problems).toEqual([]);
            // Every creator's pending diamonds are exactly their pending lots, less what was taken back.
            expect(await new SqlGiftStore(t.runtime.store).pendingMismatches(10)).toEqual([]);
          } finally {
            await t.dispose();
          }
        },
      ),
      { numRuns: Number(process.env.PROPERTY_RUNS ?? 25) },
    );
  }, 300_000);
});
