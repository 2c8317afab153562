import { expect } from "vitest";
import { openTestApp, type TestApp } from "./app.js";

/** Shared steps of the purchase, refund and chargeback tests: one buyer, in test mode. */

let keys = 0;
export const newKey = (): string => `test-key-${process.pid}-${keys++}`;
export const dayMs = 86_400_000;

/** A test-mode app with its clock at 2031-03-01 and a buyer of the given country. */
export async function openBuyerApp(country = "GB", overrides: object = {}): Promise<TestApp> {
  const app = await openTestApp({ testMode: true, ...overrides });
  await app.app.inject({
    method: "POST",
    url: "/v1/test/clock",
    headers: app.admin,
    payload: { now: "2031-03-01T12:00:00Z" },
  });
  await app.app.inject({
    method: "PUT",
    url: "/v1/users/buyer",
    headers: app.admin,
    payload: { country, birthDate: "1990-01-01", displayName: "Buyer" },
  });
  return app;
}

export async function buyPack(app: TestApp, packId: string, extra: object = {}, key = newKey()) {
  const res = await app.app.inject({
    method: "POST",
    url: "/v1/purchases",
    headers: { ...app.admin, "idempotency-key": key },
    payload: { userId: "buyer", packId, provider: "test", ...extra },
  });
  expect(res.statusCode).toBe(201);
  return res.json() as { id: string; priceMinor: string; coins: string; status: string };
}

/** Spends coins of a lot with a plain ledger transfer, where a test needs spent coins but no gift. */
export async function spendCoins(app: TestApp, purchaseId: string, coins: bigint): Promise<void> {
  await app.runtime.ledger.createAccounts([{ id: "platform:coins:spent", unit: "COIN" }]);
  await app.runtime.ledger.submit({
    transfers: [
      {
        debitAccountId: `user:buyer:coins:paid:${purchaseId}`,
        creditAccountId: "platform:coins:spent",
        amount: coins,
        kind: "spend",
      },
    ],
  });
}

export const refundPurchase = (app: TestApp, id: string, key = newKey()) =>
  app.app.inject({
    method: "POST",
    url: `/v1/purchases/${id}/refund`,
    headers: { ...app.admin, "idempotency-key": key },
  });

export const simulateProvider = (app: TestApp, id: string, action: string) =>
  app.app.inject({ method: "POST", url: `/v1/test/purchases/${id}/${action}`, headers: app.admin });

export async function posted(app: TestApp, accountId: string): Promise<bigint> {
  return (await app.runtime.ledger.balances([accountId])).get(accountId)?.posted ?? 0n;
}

export async function moveClock(app: TestApp, ms: number): Promise<void> {
  await app.app.inject({
    method: "POST",
    url: "/v1/test/clock",
    headers: app.admin,
    payload: { now: new Date(ms).toISOString() },
  });
}
