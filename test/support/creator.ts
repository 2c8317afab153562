import { expect } from "vitest";
import { openTestApp, type TestApp } from "./app.js";
import { png } from "./documents.js";

/** Shared steps of the cash-out tests: a viewer who gifts, a creator who verifies and cashes out. */

let keys = 0;
export const newKey = (): string => `cashout-key-${process.pid}-${keys++}`;

export interface CreatorApp extends TestApp {
  inject(method: string, url: string, payload?: unknown, headers?: Record<string, string>): Promise<Reply>;
}

export interface Reply {
  statusCode: number;
  headers: Record<string, unknown>;
  body: string;
  // biome-ignore lint/suspicious/noExplicitAny: tests read replies field by field, as inject's own json() does
  json(): any;
}

/** A test-mode app (diamonds mature at once) with a viewer and a creator of `country`. */
export async function openCreatorApp(
  country = "US",
  overrides: Record<string, unknown> = {},
  startAt = "2027-06-01T12:00:00Z",
): Promise<CreatorApp> {
  const app = await openTestApp({
    testMode: true,
    economy: { earnings: { maturationDays: 0 } },
    ...overrides,
  });
  const inject = (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
    app.app.inject({
      method: method as "GET",
      url,
      headers: { ...app.admin, ...headers },
      ...(payload === undefined ? {} : { payload: payload as object }),
    }) as unknown as Promise<Reply>;
  const t: CreatorApp = Object.assign(app, { inject });
  // The test clock only moves forward: start well after today.
  await setClock(t, startAt);
  for (const [id, c] of [
    ["viewer", "US"],
    ["creator", country],
  ] as const) {
    const res = await inject("PUT", `/v1/users/${id}`, {
      country: c,
      birthDate: "1990-01-01",
      displayName: id,
    });
    expect(res.statusCode, res.body).toBeLessThan(300);
  }
  return t;
}

export async function setClock(t: TestApp, iso: string): Promise<void> {
  const res = await t.app.inject({
    method: "POST",
    url: "/v1/test/clock",
    headers: t.admin,
    payload: { now: iso },
  });
  expect(res.statusCode, res.body).toBe(200);
}

/** The viewer sends `coins` worth of gifts of `giftId` to the creator, in batches of at most 100. */
export async function earn(t: CreatorApp, type: "live" | "video", giftId: string, quantity: number) {
  const coinsEach = { rose: 1, "hand-hearts": 100, galaxy: 1000, interstellar: 10000 }[giftId]!;
  const grant = await t.inject(
    "POST",
    "/v1/admin/users/viewer/bonus",
    { coins: String(coinsEach * quantity) },
    { "idempotency-key": newKey() },
  );
  expect(grant.statusCode, grant.body).toBe(201);
  let left = quantity;
  while (left > 0) {
    const q = Math.min(left, 100);
    const res = await t.inject(
      "POST",
      "/v1/gifts/send",
      { senderId: "viewer", recipientId: "creator", giftId, quantity: q, context: { type, id: `${type}-1` } },
      { "idempotency-key": newKey() },
    );
    expect(res.statusCode, res.body).toBe(201);
    left -= q;
  }
}

/** Submits identity data and a document for `userId` and has an admin approve it. */
export async function verify(t: CreatorApp, userId = "creator", legalName = "Ada Lovelace", country = "US") {
  const submit = await t.inject("POST", `/v1/users/${userId}/kyc`, {
    legalName,
    birthDate: "1990-01-01",
    address: { line1: "1 Main St", city: "Springfield", postalCode: "12345", country },
    document: { type: "passport", number: "X1234567", issuingCountry: country },
  });
  expect(submit.statusCode, submit.body).toBeLessThan(300);
  const upload = await t.app.inject({
    method: "PUT",
    url: `/v1/users/${userId}/kyc/document`,
    headers: { ...t.admin, "content-type": "image/png" },
    payload: png(),
  });
  expect(upload.statusCode, upload.body).toBeLessThan(300);
  const approve = await t.inject("POST", `/v1/admin/kyc/${userId}/approve`);
  expect(approve.statusCode, approve.body).toBe(200);
}

export async function linkPaypal(
  t: CreatorApp,
  email = "ada@example.com",
  userId = "creator",
): Promise<string> {
  const res = await t.inject("POST", `/v1/users/${userId}/payout-methods`, { type: "paypal", email });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { id: string }).id;
}

export async function linkUsBank(
  t: CreatorApp,
  holderName = "Ada Lovelace",
  accountNumber = "000123456789",
): Promise<string> {
  const res = await t.inject("POST", "/v1/users/creator/payout-methods", {
    type: "bank_account",
    holderName,
    routingNumber: "011000015",
    accountNumber,
    accountType: "checking",
  });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { id: string }).id;
}

export const wallet = async (t: CreatorApp, userId = "creator") =>
  (await t.inject("GET", `/v1/users/${userId}/wallet`)).json() as {
    diamonds: { pending: string; withdrawable: string; onHold: string };
    cash: { currency: string; gross: string; commission: string; net: string };
  };

export const requestCashout = (t: CreatorApp, body: Record<string, unknown>, key = newKey()) =>
  t.inject("POST", "/v1/cashouts", { userId: "creator", ...body }, { "idempotency-key": key });
