import { afterEach, describe, expect, it } from "vitest";
import { GiftstreamError } from "../src/errors.js";
import { openTestApp, type TestApp } from "./support/app.js";
import { png } from "./support/documents.js";
import { bearer, mintToken } from "./support/tokens.js";

let t: TestApp | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

const legalName = "Zélie Quartermaine-Oyelaran";
const iban = {
  type: "bank_account",
  holderName: legalName,
  iban: "DE89 3704 0044 0532 0130 00",
  bic: "cobadeffxxx",
};
const aba = {
  type: "bank_account",
  holderName: legalName,
  routingNumber: "021000021",
  accountNumber: "000123456789",
  accountType: "checking",
};
const paypal = { type: "paypal", email: "Zelie.Q@Example.com" };

/** alice and bob in France, uma in the US, indira in India (bank accounts only), cleo in Switzerland (no region). */
async function setup(overrides: object = {}): Promise<TestApp> {
  t = await openTestApp({ testMode: true, ...overrides });
  t.clock.set(Date.parse("2031-03-01T12:00:00Z"));
  for (const [id, country] of [
    ["alice", "FR"],
    ["bob", "FR"],
    ["uma", "US"],
    ["indira", "IN"],
    ["cleo", "CH"],
  ] as const) {
    const res = await t.app.inject({
      method: "PUT",
      url: `/v1/users/${id}`,
      headers: t.admin,
      payload: { country, birthDate: "1990-01-01", displayName: id },
    });
    expect(res.statusCode).toBe(201);
  }
  return t;
}

const link = (app: TestApp, userId: string, body: object, headers: Record<string, string> = app.admin) =>
  app.app.inject({ method: "POST", url: `/v1/users/${userId}/payout-methods`, headers, payload: body });

const list = async (app: TestApp, userId: string) => {
  const res = await app.app.inject({
    method: "GET",
    url: `/v1/users/${userId}/payout-methods`,
    headers: app.admin,
  });
  expect(res.statusCode).toBe(200);
  return (res.json() as { data: { id: string; nameMatch: string; masked: string }[] }).data;
};

async function verify(app: TestApp, userId: string, name = legalName) {
  const kyc = {
    legalName: name,
    birthDate: "1994-07-09",
    address: { line1: "1 Main St", city: "Lyon", postalCode: "69003", country: "FR" },
    document: { type: "id_card", number: "ID998877", issuingCountry: "FR" },
  };
  expect(
    (
      await app.app.inject({
        method: "POST",
        url: `/v1/users/${userId}/kyc`,
        headers: app.admin,
        payload: kyc,
      })
    ).statusCode,
  ).toBe(200);
  const doc = await app.app.inject({
    method: "PUT",
    url: `/v1/users/${userId}/kyc/document`,
    headers: { ...app.admin, "content-type": "image/png" },
    payload: png(),
  });
  expect(doc.statusCode).toBe(200);
  const approved = await app.app.inject({
    method: "POST",
    url: `/v1/admin/kyc/${userId}/approve`,
    headers: app.admin,
  });
  expect(approved.statusCode, approved.body).toBe(200);
}

describe("payout methods", () => {
  it("links PayPal, IBAN and US accounts, canonical and masked, before identity verification", async () => {
    const app = await setup();
    const pp = await link(app, "alice", paypal);
    expect(pp.statusCode, pp.body).toBe(201);
    expect(pp.headers["cache-control"]).toBe("no-store");
    expect(pp.json()).toMatchObject({
      id: expect.stringMatching(/^pm_/),
      userId: "alice",
      type: "paypal",
      scheme: "paypal",
      masked: "Z***@example.com",
      holderName: null,
      nameMatch: "unverified",
      deletedAt: null,
    });
    const bank = await link(app, "alice", iban);
    expect(bank.statusCode, bank.body).toBe(201);
    expect(bank.json()).toMatchObject({
      scheme: "iban",
      masked: "DE****3000",
      holderName: "Z*** Q***",
      nameMatch: "unverified",
    });
    expect(bank.body).not.toContain("0532013000");
    const us = await link(app, "uma", aba);
    expect(us.statusCode, us.body).toBe(201);
    expect(us.json()).toMatchObject({ scheme: "aba", masked: "****6789" });
    expect(us.body).not.toContain("123456789");

    expect((await list(app, "alice")).map((m) => m.masked)).toEqual(["Z***@example.com", "DE****3000"]);

    // Opened for the cash-out: canonical forms.
    const id = (bank.json() as { id: string }).id;
    expect(await app.payoutMethods.get("alice", id)).toMatchObject({
      type: "bank_account",
      holderName: legalName,
      details: { iban: "DE89370400440532013000", bic: "COBADEFFXXX" },
      deletedAt: null,
    });
    expect((await app.payoutMethods.get("uma", (us.json() as { id: string }).id)).details).toEqual({
      routingNumber: "021000021",
      accountNumber: "000123456789",
      accountType: "checking",
    });
    expect((await app.payoutMethods.get("alice", (pp.json() as { id: string }).id)).details).toEqual({
      email: "Zelie.Q@example.com",
    });
  });

  it.each([
    ["an IBAN with a wrong checksum", { ...iban, iban: "DE88370400440532013000" }, "/iban"],
    ["an IBAN of the wrong length for its country", { ...iban, iban: "DE8937040044053201300" }, "/iban"],
    ["an IBAN of no country", { ...iban, iban: "QQ89370400440532013000" }, "/iban"],
    ["a Swiss QR-IBAN", { ...iban, iban: "CH4431999123000889012" }, "/iban"],
    ["a malformed BIC", { ...iban, bic: "COBA DE" }, "/bic"],
    ["a BIC of no country", { ...iban, bic: "COBAQQFF" }, "/bic"],
    ["a routing number with a wrong checksum", { ...aba, routingNumber: "021000022" }, "/routingNumber"],
    ["a routing number with an unknown prefix", { ...aba, routingNumber: "000000000" }, "/routingNumber"],
    ["a routing number of 8 digits", { ...aba, routingNumber: "02100002" }, "/routingNumber"],
    ["an account number with letters", { ...aba, accountNumber: "12AB5678" }, "/accountNumber"],
    ["an account number too short", { ...aba, accountNumber: "123" }, "/accountNumber"],
    ["an account number of zeros", { ...aba, accountNumber: "00000000" }, "/accountNumber"],
    ["a missing account type", { ...aba, accountType: undefined }, "/accountType"],
    ["an IBAN and a routing number together", { ...iban, routingNumber: "021000021" }, "/routingNumber"],
    ["a BIC without an IBAN", { ...aba, bic: "COBADEFF" }, "/bic"],
    ["a bank account without a holder", { ...iban, holderName: undefined }, "/holderName"],
    ["a holder name with no letter", { ...iban, holderName: "12 34" }, "/holderName"],
    ["PayPal without an email", { type: "paypal" }, "/email"],
    ["PayPal with an IBAN", { ...paypal, iban: iban.iban }, "/iban"],
    ["a bank account with an email", { ...iban, email: "a@b.co" }, "/email"],
    ["PayPal with a Stripe account id", { ...paypal, accountId: "acct_1Nv0FGQ9RKHgCVdK" }, "/accountId"],
    [
      "a Stripe account with an email",
      { type: "stripe_account", accountId: "acct_1Nv0FGQ9RKHgCVdK", email: "a@b.co" },
      "/email",
    ],
    ["a malformed email", { ...paypal, email: "zelie.at.example.com" }, "/email"],
    ["an unknown type", { ...paypal, type: "venmo" }, "/type"],
    ["an unknown field", { ...paypal, nickname: "main" }, "/nickname"],
  ])("refuses %s with 400, pointing at the field and echoing no value", async (_name, body, pointer) => {
    const app = await setup();
    const res = await link(app, "alice", body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: "invalid_request", errors: [{ pointer }] });
    for (const [field, value] of Object.entries(body)) {
      if (field !== "type" && typeof value === "string" && value.length > 6) {
        expect(res.json().detail).not.toContain(value);
      }
    }
    expect(await list(app, "alice")).toEqual([]);
  });

  it("accepts only the methods of the user's region", async () => {
    const app = await setup();
    const res = await link(app, "indira", paypal);
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: "method_not_allowed" });
    expect((await link(app, "indira", { ...iban, iban: "GB82 WEST 1234 5698 7654 32" })).statusCode).toBe(
      201,
    );
    // A country with no region in the economy pays out nowhere.
    expect((await link(app, "cleo", iban)).json()).toMatchObject({ code: "method_not_allowed" });
    expect((await link(app, "nobody", paypal)).statusCode).toBe(404);
  });

  it("limits the methods per user to payoutMethods.perUserMax; deleting makes room", async () => {
    const app = await setup({ payoutMethods: { perUserMax: 2 } });
    const first = await link(app, "alice", paypal);
    expect((await link(app, "alice", iban)).statusCode).toBe(201);
    const third = await link(app, "alice", paypal);
    expect(third.statusCode).toBe(422);
    expect(third.json()).toMatchObject({ code: "too_many_payout_methods" });
    // Concurrent links cannot slip past the limit together.
    const raced = await Promise.all([
      link(app, "bob", paypal),
      link(app, "bob", paypal),
      link(app, "bob", iban),
    ]);
    expect(raced.map((r) => r.statusCode).sort()).toEqual([201, 201, 422]);
    const id = (first.json() as { id: string }).id;
    expect(
      (
        await app.app.inject({
          method: "DELETE",
          url: `/v1/users/alice/payout-methods/${id}`,
          headers: app.admin,
        })
      ).statusCode,
    ).toBe(200);
    expect((await link(app, "alice", paypal)).statusCode).toBe(201);
  });

  it("deletes softly: gone from the list and from new cash-outs, still readable for one in flight", async () => {
    const app = await setup();
    const id = ((await link(app, "alice", iban)).json() as { id: string }).id;
    const del = (userId: string, headers: Record<string, string> = app.admin) =>
      app.app.inject({ method: "DELETE", url: `/v1/users/${userId}/payout-methods/${id}`, headers });
    // Another user's method does not exist for them, and their token may not act for alice.
    expect((await del("bob")).statusCode).toBe(404);
    expect((await del("alice", bearer(await mintToken(app, "bob")))).statusCode).toBe(403);
    await expect(app.payoutMethods.get("bob", id)).rejects.toMatchObject({ code: "not_found" });

    const deleted = await del("alice");
    expect(deleted.statusCode, deleted.body).toBe(200);
    expect(deleted.json()).toMatchObject({ id, deletedAt: "2031-03-01T12:00:00.000Z" });
    expect(await list(app, "alice")).toEqual([]);
    expect((await del("alice")).statusCode).toBe(404);
    await expect(app.payoutMethods.get("alice", id)).rejects.toMatchObject({ code: "not_found" });
    expect(await app.payoutMethods.get("alice", id, { includeDeleted: true })).toMatchObject({
      id,
      deletedAt: Date.parse("2031-03-01T12:00:00Z"),
      details: { iban: "DE89370400440532013000" },
    });
    await expect(app.payoutMethods.cashoutBlocker("alice", id, app.clock.now())).rejects.toMatchObject({
      code: "not_found",
    });
    const bad = await app.app.inject({
      method: "DELETE",
      url: "/v1/users/alice/payout-methods/x y",
      headers: app.admin,
    });
    expect(bad.statusCode).toBe(400);
  });

  it("matches holder names against the verified legal name across accents, case, spacing, punctuation and order", async () => {
    const app = await setup({ payoutMethods: { perUserMax: 10 } });
    const linked: Record<string, string> = {};
    for (const [name, body] of [
      ["exact", iban],
      ["folded", { ...iban, holderName: "  ZELIE   quartermaine oyelaran " }],
      ["reordered", { ...aba, holderName: "Oyelaran-Quartermaine, Zélie" }],
      ["initial", { ...iban, holderName: "Zélie Q. Oyelaran" }],
      ["middle", { ...iban, holderName: "Zélie Ann Quartermaine-Oyelaran" }],
      ["paypal", paypal],
      ["paypal-other", { ...paypal, holderName: "Bob Smith" }],
    ] as const) {
      const res = await link(app, "alice", body);
      expect(res.statusCode, res.body).toBe(201);
      linked[name] = (res.json() as { id: string }).id;
    }
    expect(new Set((await list(app, "alice")).map((m) => m.nameMatch))).toEqual(new Set(["unverified"]));
    const blocker = (name: string) =>
      app.payoutMethods.cashoutBlocker("alice", linked[name]!, app.clock.now());
    expect(await blocker("exact")).toMatchObject({ code: "kyc_required", status: 422 });

    await verify(app, "alice");
    const matches = Object.fromEntries((await list(app, "alice")).map((m) => [m.id, m.nameMatch]));
    expect(Object.fromEntries(Object.entries(linked).map(([name, id]) => [name, matches[id]]))).toEqual({
      exact: "match",
      folded: "match",
      reordered: "match",
      initial: "mismatch",
      middle: "mismatch",
      paypal: "match",
      "paypal-other": "mismatch",
    });
    expect(await blocker("exact")).toBeNull();
    expect(await blocker("paypal")).toBeNull();
    const mismatch = await blocker("initial");
    expect(mismatch).toBeInstanceOf(GiftstreamError);
    expect(mismatch).toMatchObject({ code: "name_mismatch", status: 422 });

    // The region's rules at cash-out time: alice moves to India, where PayPal is not offered.
    await app.app.inject({
      method: "PUT",
      url: "/v1/users/alice",
      headers: app.admin,
      payload: { country: "IN", birthDate: "1990-01-01", displayName: "alice" },
    });
    expect(await blocker("paypal")).toMatchObject({ code: "method_not_allowed" });
    expect(await blocker("exact")).toBeNull();
    await expect(
      app.payoutMethods.cashoutBlocker("bob", linked.exact!, app.clock.now()),
    ).rejects.toMatchObject({
      code: "not_found",
    });
  });

  it("lets a user token link and list only its own user's methods", async () => {
    const app = await setup();
    const alice = bearer(await mintToken(app, "alice"));
    const bob = bearer(await mintToken(app, "bob"));
    expect((await link(app, "alice", paypal, alice)).statusCode).toBe(201);
    expect((await link(app, "alice", paypal, bob)).statusCode).toBe(403);
    const read = await app.app.inject({ method: "GET", url: "/v1/users/alice/payout-methods", headers: bob });
    expect(read.statusCode).toBe(403);
    expect(await list(app, "alice")).toHaveLength(1);
  });
});
