import { afterEach, describe, expect, it } from "vitest";
import { reconcile } from "../src/ledger/reconcile.js";
import { openTestApp } from "./support/app.js";
import {
  type CreatorApp,
  earn,
  linkPaypal,
  linkUsBank,
  newKey,
  openCreatorApp,
  requestCashout,
  setClock,
  verify,
  wallet,
} from "./support/creator.js";
import { png } from "./support/documents.js";
import { bearer, mintToken } from "./support/tokens.js";

let t: CreatorApp | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

const balance = async (app: CreatorApp, id: string) => (await app.runtime.ledger.balances([id])).get(id);
const posted = async (app: CreatorApp, id: string) => (await balance(app, id))?.posted ?? 0n;

/** Every unit sums to zero, no flagged account is past its limit, and no diamond is lost. */
async function expectBalanced(app: CreatorApp) {
  const report = await reconcile(app.runtime.store);
  expect(
    report.ok,
    JSON.stringify(report, (_k, v) => (typeof v === "bigint" ? v.toString() : v)),
  ).toBe(true);
}

async function history(app: CreatorApp) {
  const res = await app.inject("GET", "/v1/users/creator/transactions?limit=100");
  expect(res.statusCode, res.body).toBe(200);
  return (res.json().data as { kind: string; amounts: Record<string, string>; ref: string | null }[]).filter(
    (e) => e.kind === "cashout",
  );
}

/**
 * 10,000 coins of live gifts (20,000 diamonds at $0.005: $100 gross) first, then 10,000 coins of
 * video gifts (20,000 diamonds at $0.01: $200 gross). 40,000 diamonds, $300 gross, $150 net.
 */
async function earnMixed(app: CreatorApp) {
  await earn(app, "live", "hand-hearts", 100);
  await earn(app, "video", "hand-hearts", 100);
}

describe("cash-out over HTTP", () => {
  it("goes from earning to paid with the default economy, the wallet and history right at every step", async () => {
    t = await openCreatorApp();
    await earnMixed(t);
    expect(await wallet(t)).toMatchObject({
      diamonds: { pending: "0", withdrawable: "40000", onHold: "0" },
      cash: { currency: "USD", gross: "30000", commission: "15000", net: "15000" },
    });

    // Unverified: no quote names a method yet, a request is refused.
    const method = await linkPaypal(t);
    expect((await requestCashout(t, { payoutMethodId: method, diamonds: "40000" })).json().code).toBe(
      "kyc_required",
    );
    await verify(t);

    const quote = await t.inject("POST", "/v1/cashouts/quote", { userId: "creator", payoutMethodId: method });
    expect(quote.statusCode, quote.body).toBe(200);
    expect(quote.json()).toMatchObject({
      diamonds: "40000",
      currency: "USD",
      gross: "30000",
      commission: "15000",
      net: "15000",
      exchangeRate: "1",
      minimumNet: "10000",
      dailyRemainingNet: "100000",
      capped: false,
    });

    const requested = await requestCashout(t, { quoteId: quote.json().quoteId });
    expect(requested.statusCode, requested.body).toBe(201);
    const cashout = requested.json();
    expect(cashout).toMatchObject({ status: "requested", diamonds: "40000", net: "15000", rail: "test" });
    expect(await wallet(t)).toMatchObject({
      diamonds: { withdrawable: "0", onHold: "40000" },
      cash: { gross: "0", net: "0" },
    });
    expect((await history(t)).map((e) => e.amounts.status)).toEqual(["requested"]);

    // Not approved yet: the job leaves it alone.
    await t.cashouts.process();
    expect((await t.inject("GET", `/v1/cashouts/${cashout.id}`)).json().status).toBe("requested");

    const approved = await t.inject("POST", `/v1/admin/cashouts/${cashout.id}/approve`);
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json().status).toBe("approved");
    const audit = await t.inject("GET", "/v1/admin/audit?limit=100");
    expect(JSON.stringify(audit.json())).toContain("cashout.approve");

    await t.cashouts.process();
    const paid = (await t.inject("GET", `/v1/cashouts/${cashout.id}`)).json();
    expect(paid).toMatchObject({ status: "paid", railRef: `test_po_${cashout.id}` });
    expect(await wallet(t)).toMatchObject({
      diamonds: { pending: "0", withdrawable: "0", onHold: "0" },
      cash: { gross: "0", commission: "0", net: "0" },
    });
    expect(await posted(t, "platform:USD:revenue:commission")).toBe(15000n);
    expect(await posted(t, "platform:USD:payouts:test")).toBe(15000n);
    expect(await posted(t, "platform:USD:payout_clearing")).toBe(0n);
    expect(await posted(t, "platform:diamonds:cashouts")).toBe(40000n);
    expect((await history(t)).map((e) => e.amounts.status)).toEqual([
      "paid",
      "processing",
      "approved",
      "requested",
    ]);
    const list = await t.inject("GET", "/v1/users/creator/cashouts");
    expect(list.json().data.map((c: { id: string }) => c.id)).toEqual([cashout.id]);
    await expectBalanced(t);
  });

  it("takes the oldest lots first across sources and rounds once, keeping the remainder", async () => {
    t = await openCreatorApp();
    await earnMixed(t);
    await verify(t);
    const method = await linkPaypal(t);
    // 20,000 live diamonds ($50 net) then 20,001 of… there are only 20,000 video: take 20,000 live
    // and 20,001 - 20,000 = 1… so ask for 30,001: 20,000 live + 10,001 video.
    // Gross = $100 + $100.01 = 20,001 cents; net = $50 + $50.005 = $100.005, rounded down to 10,000.
    const res = await requestCashout(t, { payoutMethodId: method, diamonds: "30001" });
    expect(res.statusCode, res.body).toBe(201);
    expect(res.json()).toMatchObject({ gross: "20001", commission: "10001", net: "10000" });
    expect(res.json().valuation).toEqual([
      { diamonds: "20000", valueUsd: "0.005", commissionRate: "0.5" },
      { diamonds: "10001", valueUsd: "0.01", commissionRate: "0.5" },
    ]);
    // What is left is 9,999 video diamonds: $99.99 gross.
    expect(await wallet(t)).toMatchObject({
      diamonds: { withdrawable: "9999", onHold: "30001" },
      cash: { gross: "9999", commission: "5000", net: "4999" },
    });
    await expectBalanced(t);
  });
});

describe("cash-out failure paths", () => {
  async function ready(email = "ada@example.com") {
    t = await openCreatorApp();
    await earnMixed(t);
    await verify(t);
    return { app: t, method: await linkPaypal(t, email) };
  }

  async function approveAndProcess(app: CreatorApp, id: string) {
    expect((await app.inject("POST", `/v1/admin/cashouts/${id}/approve`)).statusCode).toBe(200);
    await app.cashouts.process();
    return (await app.inject("GET", `/v1/cashouts/${id}`)).json();
  }

  it("a quote holds to its terms or is refused, and is spent by the cash-out it makes", async () => {
    const { app, method } = await ready();
    const quote = async () => {
      const res = await app.inject("POST", "/v1/cashouts/quote", {
        userId: "creator",
        payoutMethodId: method,
        diamonds: "30000",
      });
      expect(res.statusCode, res.body).toBe(200);
      return res.json() as { quoteId: string; gross: string; net: string };
    };
    // 20,000 live diamonds ($0.005) and 10,000 video ($0.01), oldest first: $200 gross.
    const first = await quote();
    expect(first).toMatchObject({ gross: "20000", net: "10000" });
    await earn(app, "video", "hand-hearts", 200);
    // Another cash-out takes those very lots; the same count of diamonds is now all video, $300.
    const direct = await requestCashout(app, { payoutMethodId: method, diamonds: "30000" });
    expect(direct.statusCode, direct.body).toBe(201);
    const before = await wallet(app);
    const stale = await requestCashout(app, { quoteId: first.quoteId });
    expect(stale.statusCode).toBe(422);
    expect(stale.json()).toMatchObject({ code: "quote_expired" });
    expect(await wallet(app)).toEqual(before);

    const second = await quote();
    expect(second).toMatchObject({ gross: "30000", net: "15000" });
    // Priced for its method: the request may not name another one.
    const elsewhere = await requestCashout(app, {
      quoteId: second.quoteId,
      payoutMethodId: await linkPaypal(app, "other@example.com"),
    });
    expect(elsewhere.statusCode).toBe(400);
    expect(elsewhere.json()).toMatchObject({ code: "invalid_request" });
    expect((await requestCashout(app, { quoteId: second.quoteId })).statusCode).toBe(201);
    // One locked rate, one cash-out: under another key the quote is gone.
    const again = await requestCashout(app, { quoteId: second.quoteId });
    expect(again.statusCode).toBe(404);
    expect(again.json()).toMatchObject({ code: "not_found" });
    await expectBalanced(app);
  });

  it("an approved cash-out whose rail is no longer configured stays approved, and can be rejected", async () => {
    const { app, method } = await ready();
    const c = (await requestCashout(app, { payoutMethodId: method, diamonds: "40000" })).json();
    expect((await app.inject("POST", `/v1/admin/cashouts/${c.id}/approve`)).statusCode).toBe(200);
    // biome-ignore lint/suspicious/noExplicitAny: the test takes the rail out of the running service.
    const rails = (app.cashouts as any).o.rails as Map<string, unknown>;
    const rail = rails.get(c.rail);
    rails.delete(c.rail);
    try {
      await app.cashouts.process();
      expect((await app.inject("GET", `/v1/cashouts/${c.id}`)).json().status).toBe("approved");
      const rejected = await app.inject("POST", `/v1/admin/cashouts/${c.id}/reject`, { reason: "no rail" });
      expect(rejected.statusCode, rejected.body).toBe(200);
      expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "40000", onHold: "0" } });
    } finally {
      rails.set(c.rail, rail);
    }
    await expectBalanced(app);
  });

  it("the economy report owes diamonds on hold until paid, and nothing once paid", async () => {
    const { app, method } = await ready();
    const report = async () => {
      const res = await app.inject(
        "GET",
        "/v1/admin/reports/economy?from=2027-01-01T00:00:00Z&to=2027-12-31T00:00:00Z",
      );
      expect(res.statusCode, res.body).toBe(200);
      const sources = res.json().sources as {
        diamondsWithdrawable: string;
        diamondsOnHold: string;
        liabilityUsd: { gross: string };
      }[];
      return sources.map((x) => [x.diamondsWithdrawable, x.diamondsOnHold, x.liabilityUsd.gross]);
    };
    // 20,000 live ($100) and 20,000 video ($200) diamonds, all withdrawable.
    expect(await report()).toEqual([
      ["20000", "0", "10000"],
      ["20000", "0", "20000"],
    ]);
    const c = (await requestCashout(app, { payoutMethodId: method, diamonds: "40000" })).json();
    expect(await report()).toEqual([
      ["0", "20000", "10000"],
      ["0", "20000", "20000"],
    ]);
    await approveAndProcess(app, c.id);
    expect(await report()).toEqual([
      ["0", "0", "0"],
      ["0", "0", "0"],
    ]);
  });

  it("a rail failure voids the holds: the diamonds come back", async () => {
    const { app, method } = await ready("fail@example.com");
    const c = (await requestCashout(app, { payoutMethodId: method, diamonds: "40000" })).json();
    expect(await approveAndProcess(app, c.id)).toMatchObject({ status: "failed" });
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "40000", onHold: "0" } });
    expect(await posted(app, "platform:USD:payouts:test")).toBe(0n);
    // The day's allowance is released too: the whole maximum is available again.
    const quote = await app.inject("POST", "/v1/cashouts/quote", { userId: "creator" });
    expect(quote.json()).toMatchObject({ dailyRemainingNet: "100000", net: "15000" });
    await expectBalanced(app);
  });

  it("paid then returned: correcting transfers re-credit the diamonds at their locked values", async () => {
    const { app, method } = await ready("return@example.com");
    const c = (await requestCashout(app, { payoutMethodId: method, diamonds: "40000" })).json();
    expect(await approveAndProcess(app, c.id)).toMatchObject({ status: "paid" });
    await app.cashouts.process();
    expect((await app.inject("GET", `/v1/cashouts/${c.id}`)).json()).toMatchObject({ status: "returned" });
    expect(await wallet(app)).toMatchObject({
      diamonds: { withdrawable: "40000", onHold: "0" },
      cash: { gross: "30000", net: "15000" },
    });
    expect(await posted(app, "platform:USD:payouts:test")).toBe(0n);
    expect(await posted(app, "platform:USD:revenue:commission")).toBe(0n);
    expect((await history(app)).map((e) => e.amounts.status)[0]).toBe("returned");
    await expectBalanced(app);
  });

  it("cancel before processing; too late once processing (409); reject", async () => {
    const { app, method } = await ready("hold@example.com");
    // 20,000 more video diamonds: 60,000 in all, $250 net.
    await earn(app, "video", "hand-hearts", 100);
    // The first 30,000 diamonds are the 20,000 live ones and 10,000 video: $100 net.
    const a = (await requestCashout(app, { payoutMethodId: method, diamonds: "30000" })).json();
    const cancelled = await app.inject("POST", `/v1/cashouts/${a.id}/cancel`);
    expect(cancelled.statusCode, cancelled.body).toBe(200);
    expect(cancelled.json().status).toBe("cancelled");
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "60000", onHold: "0" } });

    const b = (await requestCashout(app, { payoutMethodId: method, diamonds: "30000" })).json();
    expect(await approveAndProcess(app, b.id)).toMatchObject({ status: "processing" });
    const late = await app.inject("POST", `/v1/cashouts/${b.id}/cancel`);
    expect(late.statusCode).toBe(409);
    expect(late.json().code).toBe("cashout_not_cancellable");
    const rejectLate = await app.inject("POST", `/v1/admin/cashouts/${b.id}/reject`, { reason: "late" });
    expect(rejectLate.json().code).toBe("cashout_state_conflict");

    const c = (await requestCashout(app, { payoutMethodId: method, diamonds: "20000" })).json();
    // The creator is shown the reason: one of spaces only says nothing, and is refused.
    const blank = await app.inject("POST", `/v1/admin/cashouts/${c.id}/reject`, { reason: "   " });
    expect(blank.statusCode).toBe(400);
    expect((await app.inject("GET", `/v1/cashouts/${c.id}`)).json().status).not.toBe("rejected");
    const rejected = await app.inject("POST", `/v1/admin/cashouts/${c.id}/reject`, {
      reason: "fraud review",
    });
    expect(rejected.json()).toMatchObject({ status: "rejected", reason: "fraud review" });
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "30000", onHold: "30000" } });
    // Still processing: another pass polls the rail, which holds it.
    await app.cashouts.process();
    expect((await app.inject("GET", `/v1/cashouts/${b.id}`)).json().status).toBe("processing");
    await expectBalanced(app);
  });

  it("below the minimum, over the daily maximum, more than there is: 422 and nothing moves", async () => {
    const { app, method } = await ready();
    const small = await requestCashout(app, { payoutMethodId: method, diamonds: "100" });
    expect(small.statusCode).toBe(422);
    expect(small.json().code).toBe("below_minimum");
    const more = await requestCashout(app, { payoutMethodId: method, diamonds: "40001" });
    expect(more.json().code).toBe("insufficient_diamonds");
    // 200,000 more video diamonds: $1,000 net more than the $150 already there.
    await earn(app, "video", "galaxy", 100);
    const over = await requestCashout(app, { payoutMethodId: method, diamonds: "240000" });
    expect(over.statusCode).toBe(422);
    expect(over.json().code).toBe("over_daily_limit");
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "240000", onHold: "0" } });
    // "Everything" is capped to the day's maximum, and the quote says so.
    const quote = (await app.inject("POST", "/v1/cashouts/quote", { userId: "creator" })).json();
    expect(quote).toMatchObject({ capped: true, net: "100000" });
    const whole = await requestCashout(app, { quoteId: quote.quoteId, payoutMethodId: method });
    expect(whole.statusCode, whole.body).toBe(201);
    // With the day's maximum used up, "everything" is refused for the day's maximum, not for
    // being below the minimum: more diamonds would not help.
    const spent = await app.inject("POST", "/v1/cashouts/quote", { userId: "creator" });
    expect(spent.statusCode).toBe(422);
    expect(spent.json()).toMatchObject({ code: "over_daily_limit", dailyRemainingNetMinor: "0" });
    await expectBalanced(app);
  });

  it("the worked example: $1.50 of diamonds is below the US minimum", async () => {
    t = await openCreatorApp();
    await earn(t, "live", "hand-hearts", 1);
    await earn(t, "video", "hand-hearts", 1);
    await verify(t);
    const method = await linkPaypal(t);
    const res = await requestCashout(t, { payoutMethodId: method, diamonds: "400" });
    expect(res.json()).toMatchObject({ code: "below_minimum", netMinor: "150", minimumNetMinor: "10000" });
  });

  it("lets no other user's token read or cancel a cash-out: 403, and it stays as it was", async () => {
    const { app, method } = await ready();
    const mine = (await requestCashout(app, { payoutMethodId: method, diamonds: "30000" })).json();
    await app.inject("PUT", "/v1/users/stranger", {
      country: "US",
      birthDate: "1990-01-01",
      displayName: "s",
    });
    const stranger = bearer(await mintToken(app, "stranger"));
    const read = await app.app.inject({ method: "GET", url: `/v1/cashouts/${mine.id}`, headers: stranger });
    expect(read.statusCode).toBe(403);
    expect(read.json().code).toBe("forbidden");
    expect(read.body).not.toContain("30000");
    const cancel = await app.app.inject({
      method: "POST",
      url: `/v1/cashouts/${mine.id}/cancel`,
      headers: stranger,
    });
    expect(cancel.statusCode).toBe(403);
    expect(cancel.json().code).toBe("forbidden");
    expect((await app.inject("GET", `/v1/cashouts/${mine.id}`)).json().status).toBe(mine.status);
    expect(await wallet(app)).toMatchObject({ diamonds: { onHold: "30000" } });
    // The creator's own token may.
    const own = bearer(await mintToken(app, "creator"));
    expect(
      (await app.app.inject({ method: "GET", url: `/v1/cashouts/${mine.id}`, headers: own })).statusCode,
    ).toBe(200);
  });

  it("unverified, under 18, a name mismatch, another user's token, an expired quote", async () => {
    t = await openCreatorApp();
    await earnMixed(t);
    const bank = await linkUsBank(t, "Someone Else");
    expect((await requestCashout(t, { payoutMethodId: bank, diamonds: "40000" })).json().code).toBe(
      "kyc_required",
    );

    // A birth date that makes the creator 17, as an operator might correct it before verification.
    const setBirth = (birthDate: string) =>
      t!.inject("PUT", "/v1/users/creator", { country: "US", birthDate, displayName: "c" });
    expect((await setBirth("2011-01-01")).statusCode).toBeLessThan(300);
    expect((await requestCashout(t, { payoutMethodId: bank, diamonds: "40000" })).json().code).toBe(
      "underage",
    );
    await setBirth("1990-01-01");

    await verify(t);
    expect((await requestCashout(t, { payoutMethodId: bank, diamonds: "40000" })).json().code).toBe(
      "name_mismatch",
    );
    const method = await linkPaypal(t);

    await t.inject("PUT", "/v1/users/stranger", { country: "US", birthDate: "1990-01-01", displayName: "s" });
    const stranger = await mintToken(t, "stranger");
    const foreign = await t.app.inject({
      method: "POST",
      url: "/v1/cashouts",
      headers: { ...bearer(stranger), "idempotency-key": newKey() },
      payload: { userId: "creator", payoutMethodId: method, diamonds: "40000" },
    });
    expect(foreign.statusCode).toBe(403);
    const own = await mintToken(t, "creator");
    const mine = await t.app.inject({
      method: "POST",
      url: "/v1/cashouts/quote",
      headers: bearer(own),
      payload: { userId: "creator", payoutMethodId: method },
    });
    expect(mine.statusCode, mine.body).toBe(200);

    await setClock(t, "2027-06-01T12:16:00Z");
    const expired = await requestCashout(t, { quoteId: mine.json().quoteId });
    expect(expired.json().code).toBe("quote_expired");
    expect(await wallet(t)).toMatchObject({ diamonds: { withdrawable: "40000", onHold: "0" } });
    await expectBalanced(t);
  });

  it("an expired quote answers quote_expired after later quotes, until a day past its expiry", async () => {
    t = await openCreatorApp();
    await earnMixed(t);
    await verify(t);
    const method = await linkPaypal(t);
    const quote = () =>
      t!.inject("POST", "/v1/cashouts/quote", { userId: "creator", payoutMethodId: method });
    const first = await quote();
    expect(first.statusCode, first.body).toBe(200);
    // Each quote sweeps expired ones away: the first, 30 minutes old, must survive this one.
    await setClock(t, "2027-06-01T12:30:00Z");
    expect((await quote()).statusCode).toBe(200);
    const expired = await requestCashout(t, { quoteId: first.json().quoteId });
    expect(expired.statusCode, expired.body).toBe(422);
    expect(expired.json().code).toBe("quote_expired");
    // A day past its expiry (12:15 + 1 day), the next quote sweeps it: then it is gone.
    await setClock(t, "2027-06-02T12:16:00Z");
    expect((await quote()).statusCode).toBe(200);
    const gone = await requestCashout(t, { quoteId: first.json().quoteId });
    expect(gone.statusCode, gone.body).toBe(404);
    expect(gone.json().code).toBe("not_found");
    expect(await wallet(t)).toMatchObject({ diamonds: { withdrawable: "40000", onHold: "0" } });
  });

  it("a method the region stops allowing: method_not_allowed at request time, nothing held", async () => {
    const { app, method } = await ready();
    const effectiveAt = "2027-06-02T00:00:00.000Z";
    const version = await app.inject("POST", "/v1/admin/economy/versions", {
      effectiveAt,
      override: { regions: { US: { payoutMethods: ["bank_account"] } } },
    });
    expect(version.statusCode, version.body).toBe(201);
    // Allowed until the new version is in force.
    const quote = await app.inject("POST", "/v1/cashouts/quote", {
      userId: "creator",
      payoutMethodId: method,
    });
    expect(quote.statusCode, quote.body).toBe(200);
    await setClock(app, effectiveAt);
    const refused = await requestCashout(app, { payoutMethodId: method, diamonds: "40000" });
    expect(refused.statusCode).toBe(422);
    expect(refused.json().code).toBe("method_not_allowed");
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "40000", onHold: "0" } });
  });

  it("a replayed request answers the first cash-out and holds nothing twice", async () => {
    const { app, method } = await ready();
    const key = newKey();
    const first = await requestCashout(app, { payoutMethodId: method, diamonds: "30000" }, key);
    expect(first.statusCode, first.body).toBe(201);
    const again = await requestCashout(app, { payoutMethodId: method, diamonds: "30000" }, key);
    expect(again.statusCode, again.body).toBe(201);
    expect(again.json().id).toBe(first.json().id);
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "10000", onHold: "30000" } });
    const other = await requestCashout(app, { payoutMethodId: method, diamonds: "10000" }, key);
    expect(other.json().code).toBe("idempotency_key_reused");
  });
});

describe("a payout method no rail carries", () => {
  it("is refused with method_not_allowed by the quote as by the request", async () => {
    // Outside test mode there is no fallback `test` rail, and this configuration routes nothing.
    const app = await openTestApp({ economy: { earnings: { maturationDays: 0 } } });
    const inject = (method: string, url: string, payload?: object, headers: Record<string, string> = {}) =>
      app.app.inject({ method: method as "POST", url, headers: { ...app.admin, ...headers }, payload });
    try {
      for (const id of ["viewer", "creator"]) {
        const put = await inject("PUT", `/v1/users/${id}`, {
          country: "US",
          birthDate: "1990-01-01",
          displayName: id,
        });
        expect(put.statusCode, put.body).toBeLessThan(300);
      }
      const grant = await inject(
        "POST",
        "/v1/admin/users/viewer/bonus",
        { coins: "100000" },
        { "idempotency-key": newKey() },
      );
      expect(grant.statusCode, grant.body).toBe(201);
      const gift = await inject(
        "POST",
        "/v1/gifts/send",
        {
          senderId: "viewer",
          recipientId: "creator",
          giftId: "galaxy",
          quantity: 100,
          context: { type: "video", id: "v-1" },
        },
        { "idempotency-key": newKey() },
      );
      expect(gift.statusCode, gift.body).toBe(201);
      const kyc = await inject("POST", "/v1/users/creator/kyc", {
        legalName: "Ada Lovelace",
        birthDate: "1990-01-01",
        address: { line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US" },
        document: { type: "passport", number: "X1234567", issuingCountry: "US" },
      });
      expect(kyc.statusCode, kyc.body).toBeLessThan(300);
      const upload = await app.app.inject({
        method: "PUT",
        url: "/v1/users/creator/kyc/document",
        headers: { ...app.admin, "content-type": "image/png" },
        payload: png(),
      });
      expect(upload.statusCode, upload.body).toBeLessThan(300);
      expect((await inject("POST", "/v1/admin/kyc/creator/approve")).statusCode).toBe(200);
      const link = await inject("POST", "/v1/users/creator/payout-methods", {
        type: "paypal",
        email: "ada@example.com",
      });
      expect(link.statusCode, link.body).toBe(201);
      const body = { userId: "creator", payoutMethodId: link.json().id, diamonds: "40000" };

      const request = await inject("POST", "/v1/cashouts", body, { "idempotency-key": newKey() });
      expect(request.statusCode, request.body).toBe(422);
      expect(request.json().code).toBe("method_not_allowed");
      const quote = await inject("POST", "/v1/cashouts/quote", body);
      expect(quote.statusCode, quote.body).toBe(422);
      expect(quote.json().code).toBe("method_not_allowed");
      // Without a method the quote names no rail, and prices the diamonds as before.
      const unnamed = await inject("POST", "/v1/cashouts/quote", { userId: "creator", diamonds: "40000" });
      expect(unnamed.statusCode, unnamed.body).toBe(200);
    } finally {
      await app.dispose();
    }
  });
});

describe("auto-approval, per payout currency", () => {
  // 40,000 diamonds are $150 net in the US, and ¥22,500 net in Japan (150 yen to the dollar).
  it.each([
    ["US", { USD: "15000" }, "15000 USD", "approved"],
    ["US", { USD: "14999" }, "15000 USD", "requested"],
    ["US", {}, "15000 USD", "requested"],
    // One currency's figure is never read as another's: 15,000 yen is about $100.
    ["US", { JPY: "100000000" }, "15000 USD", "requested"],
    ["JP", { USD: "22500" }, "22500 JPY", "requested"],
    ["JP", { JPY: "22500" }, "22500 JPY", "approved"],
    ["JP", { USD: "100000000", JPY: "22499" }, "22500 JPY", "requested"],
  ])("a creator in %s, with %j: a cash-out netting %s is %s", async (country, limits, net, status) => {
    t = await openCreatorApp(country, {
      cashouts: { autoApproveNetMaxMinor: limits, autoApproveAccountAgeDaysMin: 0 },
    });
    await earnMixed(t);
    await verify(t, "creator", "Ada Lovelace", country);
    const method = await linkPaypal(t);
    const res = await requestCashout(t, { payoutMethodId: method, diamonds: "40000" });
    expect(res.statusCode, res.body).toBe(201);
    expect(`${res.json().net} ${res.json().currency}`).toBe(net);
    expect(res.json().status).toBe(status);
    const queue = await t.inject("GET", "/v1/admin/cashouts?status=requested");
    expect(queue.json().data).toHaveLength(status === "requested" ? 1 : 0);
  });
});

describe("idempotency keys past their retention", () => {
  it("a cash-out key used again names the same cash-out: nothing is overwritten or paid twice", async () => {
    t = await openCreatorApp();
    await earnMixed(t);
    await earnMixed(t);
    await verify(t);
    const method = await linkPaypal(t);
    const key = newKey();
    const first = (await requestCashout(t, { payoutMethodId: method, diamonds: "40000" }, key)).json();
    await t.inject("POST", `/v1/admin/cashouts/${first.id}/approve`);
    await t.cashouts.process();
    await setClock(t, "2027-06-05T12:00:00Z");
    expect(
      await t.runtime.ledger.purgeIdempotency(t.runtime.config.ledger.idempotencyRetentionMs),
    ).toBeGreaterThan(0);
    const again = await requestCashout(t, { payoutMethodId: method, diamonds: "40000" }, key);
    expect(again.statusCode, again.body).toBe(201);
    expect(again.json()).toMatchObject({ id: first.id, status: "paid" });
    expect(await wallet(t)).toMatchObject({ diamonds: { withdrawable: "40000", onHold: "0" } });
    expect(await posted(t, "platform:USD:payouts:test")).toBe(15000n);
    // The key names that cash-out only: asked for another amount, it is refused and nothing moves.
    const other = await requestCashout(t, { payoutMethodId: method, diamonds: "20000" }, key);
    expect(other.statusCode, other.body).toBe(422);
    expect(other.json()).toMatchObject({ code: "idempotency_key_reused" });
    expect(await wallet(t)).toMatchObject({ diamonds: { withdrawable: "40000", onHold: "0" } });
  });

  it("a gift key used again past its retention is a new gift, and breaks no batch", async () => {
    t = await openCreatorApp();
    await earn(t, "live", "hand-hearts", 1);
    const key = newKey();
    const gift = {
      senderId: "viewer",
      recipientId: "creator",
      giftId: "rose",
      quantity: 1,
      context: { type: "live", id: "s" },
    };
    const grant = await t.inject(
      "POST",
      "/v1/admin/users/viewer/bonus",
      { coins: "10" },
      { "idempotency-key": newKey() },
    );
    expect(grant.statusCode).toBe(201);
    const first = await t.inject("POST", "/v1/gifts/send", gift, { "idempotency-key": key });
    expect(first.statusCode).toBe(201);
    // Within the retention, the key replays the first gift.
    const replay = await t.inject("POST", "/v1/gifts/send", gift, { "idempotency-key": key });
    expect(replay.json().id).toBe(first.json().id);
    await setClock(t, "2027-06-05T12:00:00Z");
    await t.runtime.ledger.purgeIdempotency(t.runtime.config.ledger.idempotencyRetentionMs);
    const [reused, other] = await Promise.all([
      t.inject("POST", "/v1/gifts/send", gift, { "idempotency-key": key }),
      t.inject("POST", "/v1/gifts/send", gift, { "idempotency-key": newKey() }),
    ]);
    expect(reused.statusCode, reused.body).toBe(201);
    expect(reused.json().id).not.toBe(first.json().id);
    expect(other.statusCode, other.body).toBe(201);
    expect(await posted(t, "user:viewer:coins:bonus")).toBe(7n);
    await expectBalanced(t);
  });
});

describe("the cash-out job", () => {
  it("walks every paid cash-out for returns, page by page, not only the oldest page", async () => {
    t = await openCreatorApp();
    await earn(t, "video", "hand-hearts", 300);
    await verify(t);
    const ids: string[] = [];
    for (const email of ["a@example.com", "b@example.com", "return@example.com"]) {
      const method = await linkPaypal(t, email);
      const c = (await requestCashout(t, { payoutMethodId: method, diamonds: "20000" })).json();
      await t.inject("POST", `/v1/admin/cashouts/${c.id}/approve`);
      ids.push(c.id);
    }
    await t.cashouts.process(3);
    const status = async (id: string) => (await t!.inject("GET", `/v1/cashouts/${id}`)).json().status;
    expect(await Promise.all(ids.map(status))).toEqual(["paid", "paid", "paid"]);
    // One cash-out a page: within one round of the walk (three pages and the wrap), the job
    // reaches the one the rail returned, wherever it sorts. Before, it polled only the first.
    for (let pass = 0; pass < 4; pass++) await t.cashouts.process(1);
    expect(await Promise.all(ids.map(status))).toEqual(["paid", "paid", "returned"]);
    await expectBalanced(t);
  });
});

describe("cash-out webhook events", () => {
  it("writes cashout.* events with the change they report, each once, as the API shows the cash-out", async () => {
    t = await openCreatorApp();
    await earnMixed(t);
    await verify(t);
    const endpoint = await t.inject("POST", "/v1/webhook-endpoints", {
      url: "http://127.0.0.1:9/hook",
      events: ["cashout.requested", "cashout.approved", "cashout.paid", "cashout.returned"],
    });
    expect(endpoint.statusCode, endpoint.body).toBe(201);
    const method = await linkPaypal(t, "return@example.com");
    const c = (await requestCashout(t, { payoutMethodId: method, diamonds: "40000" })).json();
    await t.inject("POST", `/v1/admin/cashouts/${c.id}/approve`);
    await t.inject("POST", `/v1/admin/cashouts/${c.id}/approve`);
    await t.cashouts.process();
    await t.cashouts.process();
    const events = (await t.runtime.store.all(
      "SELECT type, resource, payload FROM webhook_events ORDER BY seq",
    )) as { type: string; resource: string; payload: string }[];
    expect(events.map((e) => e.type)).toEqual([
      "cashout.requested",
      "cashout.approved",
      "cashout.paid",
      "cashout.returned",
    ]);
    expect(new Set(events.map((e) => e.resource))).toEqual(new Set([`cashout:${c.id}`]));
    const returned = JSON.parse(events.at(-1)!.payload);
    const shown = (await t.inject("GET", `/v1/cashouts/${c.id}`)).json();
    expect(returned.data ?? returned).toEqual(shown);
  });
});

describe("cash-out concurrency", () => {
  it("two cash-outs of the same diamonds: exactly one succeeds", async () => {
    t = await openCreatorApp();
    await earnMixed(t);
    await verify(t);
    const method = await linkPaypal(t);
    const app = t;
    const results = await Promise.all(
      [0, 1].map(() => requestCashout(app, { payoutMethodId: method, diamonds: "40000" })),
    );
    expect(results.map((r) => r.statusCode).sort()).toEqual([201, 422]);
    expect(results.find((r) => r.statusCode === 422)!.json().code).toBe("insufficient_diamonds");
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "0", onHold: "40000" } });
    await expectBalanced(app);
  });

  it("concurrent cash-outs past the daily maximum: those accepted stay within it", async () => {
    t = await openCreatorApp();
    await earn(t, "video", "galaxy", 100);
    await earn(t, "video", "galaxy", 100);
    await verify(t);
    const method = await linkPaypal(t);
    const app = t;
    // Eight of $300 net each (60,000 video diamonds) against a $1,000 day: three fit.
    const results = await Promise.all(
      Array.from({ length: 8 }, () => requestCashout(app, { payoutMethodId: method, diamonds: "60000" })),
    );
    const accepted = results.filter((r) => r.statusCode === 201);
    expect(accepted).toHaveLength(3);
    expect(
      results.filter((r) => r.statusCode === 422).every((r) => r.json().code === "over_daily_limit"),
    ).toBe(true);
    const day = accepted[0]!.json().limitDay as string;
    const allowance = await balance(app, `limit:user:creator:cashout:USD:${day}`);
    expect(allowance).toMatchObject({ creditsPosted: 100000n, debitsPending: 90000n });
    await expectBalanced(app);
  });
});

describe("the daily maximum follows the region's calendar day", () => {
  it("resets at local midnight, across the spring-forward change in New York", async () => {
    t = await openCreatorApp("US", {}, "2027-03-13T12:00:00Z");
    // 600,000 video diamonds: $3,000 net, three days' worth.
    for (let i = 0; i < 3; i++) await earn(t, "video", "galaxy", 100);
    await verify(t);
    const method = await linkPaypal(t);
    const cashOut = async (at: string, netDollars: number) => {
      await setClock(t!, at);
      const res = await requestCashout(t!, { payoutMethodId: method, diamonds: String(netDollars * 200) });
      return res.statusCode === 201 ? res.json().limitDay : res.json().code;
    };
    // 23:30 on 13 March 2027 in New York (EST, UTC−5).
    expect(await cashOut("2027-03-14T04:30:00Z", 900)).toBe("2027-03-13");
    expect(await cashOut("2027-03-14T04:59:59Z", 200)).toBe("over_daily_limit");
    // Midnight: a new day with its own $1,000.
    expect(await cashOut("2027-03-14T05:00:00Z", 900)).toBe("2027-03-14");
    // Clocks spring forward at 02:00 on the 14th, so it ends at 04:00 UTC (EDT, UTC−4): 23 hours.
    expect(await cashOut("2027-03-15T03:59:59Z", 200)).toBe("over_daily_limit");
    expect(await cashOut("2027-03-15T04:00:00Z", 200)).toBe("2027-03-15");
    await expectBalanced(t);
  });
});

describe("a cash-out draws from at most cashouts.lotsMax lots", () => {
  /** Video hand-hearts sent one at a time: each a lot of 200 diamonds, $2 gross, $1 net. */
  async function openManyLots(lots: number) {
    const app = await openCreatorApp("US", {
      cashouts: { lotsMax: 100 },
      // One batch of single gifts: the sender's own limit would refuse most of them.
      rateLimit: { senderGiftsMax: 1_000_000 },
    });
    t = app;
    const grant = await app.inject(
      "POST",
      "/v1/admin/users/viewer/bonus",
      { coins: String(100 * lots) },
      { "idempotency-key": newKey() },
    );
    expect(grant.statusCode, grant.body).toBe(201);
    const gifts = Array.from({ length: lots }, (_, i) => ({
      id: `g${i}`,
      senderId: "viewer",
      recipientId: "creator",
      giftId: "hand-hearts",
      quantity: 1,
      context: { type: "video", id: "video-1" },
    }));
    const sent = await app.inject("POST", "/v1/gifts/send-batch", { gifts }, { "idempotency-key": newKey() });
    expect(sent.statusCode, sent.body).toBe(200);
    expect(sent.json().results.filter((r: { ok: boolean }) => !r.ok)).toEqual([]);
    await verify(app);
    const method = await linkPaypal(app);
    return { app, method };
  }

  it("quotes everything from the oldest lotsMax lots and says it is capped; the rest is a second cash-out", async () => {
    const { app, method } = await openManyLots(200);
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "40000", onHold: "0" } });
    const first = await app.inject("POST", "/v1/cashouts/quote", {
      userId: "creator",
      payoutMethodId: method,
    });
    expect(first.statusCode, first.body).toBe(200);
    expect(first.json()).toMatchObject({ diamonds: "20000", gross: "20000", net: "10000", capped: true });
    const a = await requestCashout(app, { quoteId: first.json().quoteId });
    expect(a.statusCode, a.body).toBe(201);
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "20000", onHold: "20000" } });
    // Exactly lotsMax lots left: all of them, and nothing was cut.
    const rest = await app.inject("POST", "/v1/cashouts/quote", {
      userId: "creator",
      payoutMethodId: method,
    });
    expect(rest.json()).toMatchObject({ diamonds: "20000", net: "10000", capped: false });
    const b = await requestCashout(app, { quoteId: rest.json().quoteId });
    expect(b.statusCode, b.body).toBe(201);
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "0", onHold: "40000" } });
    await expectBalanced(app);
  });

  it("an amount the wallet holds but that needs more than lotsMax lots: too_many_lots, nothing moves", async () => {
    const { app, method } = await openManyLots(150);
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "30000", onHold: "0" } });
    // 25,000 diamonds are 125 lots.
    const quote = await app.inject("POST", "/v1/cashouts/quote", {
      userId: "creator",
      diamonds: "25000",
      payoutMethodId: method,
    });
    expect(quote.statusCode, quote.body).toBe(422);
    expect(quote.json()).toMatchObject({ code: "too_many_lots", diamondsMax: "20000" });
    const request = await requestCashout(app, { payoutMethodId: method, diamonds: "25000" });
    expect(request.statusCode, request.body).toBe(422);
    expect(request.json()).toMatchObject({ code: "too_many_lots", diamondsMax: "20000" });
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "30000", onHold: "0" } });
    expect((await app.inject("GET", "/v1/users/creator/cashouts")).json().data).toEqual([]);
    // More than the wallet holds is still insufficient_diamonds; the most one cash-out draws passes.
    const more = await requestCashout(app, { payoutMethodId: method, diamonds: "30001" });
    expect(more.json().code).toBe("insufficient_diamonds");
    // A named amount is never cut down, whatever lots are left over.
    const named = await app.inject("POST", "/v1/cashouts/quote", {
      userId: "creator",
      diamonds: "20000",
      payoutMethodId: method,
    });
    expect(named.json()).toMatchObject({ diamonds: "20000", capped: false });
    const most = await requestCashout(app, { payoutMethodId: method, diamonds: "20000" });
    expect(most.statusCode, most.body).toBe(201);
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "10000", onHold: "20000" } });
    await expectBalanced(app);
  });
});
