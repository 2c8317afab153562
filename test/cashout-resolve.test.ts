import { afterEach, describe, expect, it, vi } from "vitest";
import type { Cashouts } from "../src/economy/cashouts/cashouts.js";
import { applyRailReport } from "../src/economy/cashouts/rail-reports.js";
import { reconcile } from "../src/ledger/reconcile.js";
import type { PayoutOrder, PayoutRail } from "../src/providers/payouts/rail.js";
import {
  type CreatorApp,
  earn,
  linkPaypal,
  newKey,
  openCreatorApp,
  requestCashout,
  setClock,
  verify,
  wallet,
} from "./support/creator.js";
import {
  addCreator,
  cashOut,
  earnFor,
  fileLines,
  linkMethod,
  listFiles,
  openFileRailApp,
} from "./support/payout-files.js";
import { count, refuseAuditWrites } from "./support/sql.js";
import { bearer, mintToken } from "./support/tokens.js";

/**
 * `POST /v1/admin/cashouts/{id}/resolve`: an admin settles a cash-out its rail never reported on.
 * The `test` rail keeps a payout to `hold@…` processing for ever: a rail that never reports.
 */

let t: CreatorApp | null = null;
afterEach(async () => {
  vi.restoreAllMocks();
  await t?.dispose();
  t = null;
});

/** openCreatorApp starts its clock here; a cash-out marked processing then may be resolved a day on. */
const processingAt = "2027-06-01T12:00:00.000Z";
const resolvableAt = "2027-06-02T12:00:00.000Z";

const posted = async (app: CreatorApp, id: string) =>
  (await app.runtime.ledger.balances([id])).get(id)?.posted ?? 0n;

async function expectBalanced(app: CreatorApp) {
  const report = await reconcile(app.runtime.store);
  expect(
    report.ok,
    JSON.stringify(report, (_k, v) => (typeof v === "bigint" ? v.toString() : v)),
  ).toBe(true);
}

const show = async (app: CreatorApp, id: string) => (await app.inject("GET", `/v1/cashouts/${id}`)).json();

const resolve = (app: CreatorApp, id: string, body: unknown, key: string | null = newKey()) =>
  app.inject(
    "POST",
    `/v1/admin/cashouts/${id}/resolve`,
    body,
    key === null ? {} : { "idempotency-key": key },
  );

/** The ledger entries a cash-out made, as (type, debit, credit, amount, kind), in order. */
async function entriesOf(app: CreatorApp, cashoutId: string) {
  const rows = await app.runtime.store.all(
    "SELECT type, debit_account_id, credit_account_id, amount, kind FROM transfers WHERE metadata LIKE ? ORDER BY id",
    [`%"cashoutId":"${cashoutId}"%`],
  );
  return rows.map((r) => [Number(r.type), r.debit_account_id, r.credit_account_id, String(r.amount), r.kind]);
}

/** Entries only the status change made: what follows the request's two holds. */
const settlementOf = async (app: CreatorApp, id: string) => (await entriesOf(app, id)).slice(2);

async function auditOf(app: CreatorApp, action: string) {
  const res = await app.inject("GET", "/v1/admin/audit?limit=200");
  expect(res.statusCode, res.body).toBe(200);
  return (
    res.json().data as { actor: string; action: string; target: string; before: unknown; after: unknown }[]
  ).filter((e) => e.action === action);
}

/** Approves a cash-out and runs a job pass; answers it as it then is. */
async function approveAndProcess(app: CreatorApp, id: string) {
  expect((await app.inject("POST", `/v1/admin/cashouts/${id}/approve`)).statusCode).toBe(200);
  await app.cashouts.process();
  return show(app, id);
}

const methods = new WeakMap<CreatorApp, Map<string, string>>();

/** A cash-out of `diamonds` to `email` (linked once), approved and handed to the test rail. */
async function cashOutTo(app: CreatorApp, email: string, diamonds = "40000") {
  const linked = methods.get(app) ?? new Map<string, string>();
  methods.set(app, linked);
  const method = linked.get(email) ?? (await linkPaypal(app, email));
  linked.set(email, method);
  const res = await requestCashout(app, { payoutMethodId: method, diamonds });
  expect(res.statusCode, res.body).toBe(201);
  return (await approveAndProcess(app, res.json().id)) as { id: string; status: string; net: string };
}

/** A creator with 40,000 diamonds ($150 net) per `rounds`, verified. */
async function creator(rounds = 1) {
  const app = await openCreatorApp();
  t = app;
  for (let i = 0; i < rounds; i++) {
    await earn(app, "live", "hand-hearts", 100);
    await earn(app, "video", "hand-hearts", 100);
  }
  await verify(app);
  return app;
}

/** Spies on the alerts the cash-outs log. */
function alerts(app: CreatorApp) {
  // biome-ignore lint/suspicious/noExplicitAny: the test listens to the running service's logger.
  const logger = (app.cashouts as any).o.logger as { error: (...args: unknown[]) => void };
  const spy = vi.spyOn(logger, "error");
  return () =>
    spy.mock.calls
      .map(([fields]) => fields as { alert?: string; cashout?: string; status?: string; reported?: string })
      .filter((f) => f.alert === "cashout_rail_report_conflict");
}

describe("resolving a cash-out stuck in processing", () => {
  it("paid: the very entries a rail's paid posts, once, audited; a replay answers it again", async () => {
    const app = await creator(2);
    // Two cash-outs of the same lots' kinds and amounts: one the rail pays, one it never reports on.
    const byRail = await cashOutTo(app, "ada@example.com");
    expect(byRail.status).toBe("paid");
    const stuck = await cashOutTo(app, "hold@example.com");
    expect(stuck).toMatchObject({ status: "processing", updatedAt: processingAt });

    await setClock(app, resolvableAt);
    const key = newKey();
    const body = {
      outcome: "paid",
      reference: "7NX31257ME234512K",
      reason: "PayPal shows it paid; the item never came back",
    };
    const res = await resolve(app, stuck.id, body, key);
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      id: stuck.id,
      status: "paid",
      railRef: "7NX31257ME234512K",
      reason: null,
    });
    expect(await show(app, stuck.id)).toEqual(res.json());

    expect(await settlementOf(app, stuck.id)).toEqual(await settlementOf(app, byRail.id));
    expect((await settlementOf(app, stuck.id)).map((e) => e[4])).toEqual([
      "cashout_paid",
      "cashout_paid",
      "cashout_commission",
      "cashout_net",
      "cashout_payout",
    ]);
    expect(await posted(app, "platform:USD:payouts:test")).toBe(30000n);
    expect(await posted(app, "platform:USD:revenue:commission")).toBe(30000n);
    expect(await posted(app, "platform:USD:payout_clearing")).toBe(0n);
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "0", onHold: "0" } });

    const audited = await auditOf(app, "cashout.resolve");
    expect(audited).toEqual([
      expect.objectContaining({
        target: stuck.id,
        before: { status: "processing", railRef: null },
        after: { status: "paid", railRef: "7NX31257ME234512K", reason: body.reason },
      }),
    ]);
    const history = await app.inject("GET", "/v1/users/creator/transactions?limit=100");
    expect(
      (history.json().data as { ref: string; amounts: { status: string } }[])
        .filter((e) => e.ref === stuck.id)
        .map((e) => e.amounts.status),
    ).toEqual(["paid", "processing", "approved", "requested"]);

    // The same key and body: the first answer again, nothing posted or audited twice.
    const transfers = await count(app.runtime.store, "transfers");
    const replay = await resolve(app, stuck.id, body, key);
    expect(replay.statusCode, replay.body).toBe(200);
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.json()).toEqual(res.json());
    const reused = await resolve(app, stuck.id, { ...body, reason: "another" }, key);
    expect(reused.statusCode).toBe(422);
    expect(reused.json().code).toBe("idempotency_key_reused");
    // Another key: it is paid, not processing.
    const again = await resolve(app, stuck.id, body);
    expect(again.statusCode).toBe(409);
    expect(again.json().code).toBe("cashout_state_conflict");
    expect(await count(app.runtime.store, "transfers")).toBe(transfers);
    expect(await auditOf(app, "cashout.resolve")).toHaveLength(1);
    await expectBalanced(app);
  });

  it("failed: the holds are voided and the diamonds go back to their own lots, as a rail's failure does", async () => {
    const app = await creator(2);
    const byRail = await cashOutTo(app, "fail@example.com");
    expect(byRail.status).toBe("failed");
    const stuck = await cashOutTo(app, "hold@example.com");
    expect(stuck.status).toBe("processing");
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "40000", onHold: "40000" } });

    await setClock(app, resolvableAt);
    const res = await resolve(app, stuck.id, {
      outcome: "failed",
      reason: "PayPal lost the item; cancelled there",
    });
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toMatchObject({
      status: "failed",
      reason: "PayPal lost the item; cancelled there",
      railRef: null,
    });
    expect(await settlementOf(app, stuck.id)).toEqual(await settlementOf(app, byRail.id));
    expect((await settlementOf(app, stuck.id)).map((e) => [e[0], e[4]])).toEqual([
      [3, "cashout_failed"],
      [3, "cashout_failed"],
    ]);
    expect(await wallet(app)).toMatchObject({
      diamonds: { withdrawable: "80000", onHold: "0" },
      cash: { gross: "60000", net: "30000" },
    });
    // Back in their own lots, with nothing left marked cashed.
    const db = app.runtime.store;
    expect(await count(db, "cashout_lots", `cashout_id = '${stuck.id}' AND released = 0`)).toBe(0n);
    expect(await count(db, "cashout_lots", `cashout_id = '${stuck.id}'`)).toBeGreaterThan(0n);
    expect(await count(db, "gifts", "cashed_diamonds <> 0")).toBe(0n);
    expect(await posted(app, "platform:USD:payouts:test")).toBe(0n);
    // The day's allowance is whole again, and the diamonds can be cashed out once more.
    const quote = await app.inject("POST", "/v1/cashouts/quote", { userId: "creator", diamonds: "40000" });
    expect(quote.json()).toMatchObject({ dailyRemainingNet: "100000", net: "15000" });
    expect(await auditOf(app, "cashout.resolve")).toEqual([
      expect.objectContaining({
        target: stuck.id,
        after: { status: "failed", railRef: null, reason: "PayPal lost the item; cancelled there" },
      }),
    ]);
    await expectBalanced(app);
  });

  it("is refused until the cash-out has been processing for cashouts.resolveProcessingHoursMin", async () => {
    const app = await creator();
    const stuck = await cashOutTo(app, "hold@example.com");
    const body = { outcome: "failed", reason: "lost" };
    for (const at of ["2027-06-01T12:00:00Z", "2027-06-02T11:59:59.999Z"]) {
      await setClock(app, at);
      const early = await resolve(app, stuck.id, body);
      expect(early.statusCode, early.body).toBe(422);
      expect(early.headers["content-type"]).toContain("application/problem+json");
      expect(early.json()).toMatchObject({ code: "cashout_resolve_too_early", resolvableAt });
      expect(await show(app, stuck.id)).toMatchObject({ status: "processing" });
    }
    await setClock(app, resolvableAt);
    expect((await resolve(app, stuck.id, body)).json()).toMatchObject({ status: "failed" });
  });

  it("with resolveProcessingHoursMin 0, at once", async () => {
    t = await openCreatorApp("US", { cashouts: { resolveProcessingHoursMin: 0 } });
    const app = t;
    await earn(app, "video", "hand-hearts", 200);
    await verify(app);
    const stuck = await cashOutTo(app, "hold@example.com");
    const res = await resolve(app, stuck.id, {
      outcome: "paid",
      reference: "bank 42",
      reason: "wired by hand",
    });
    expect(res.json()).toMatchObject({ status: "paid", railRef: "bank 42" });
  });
});

describe("resolve refuses what it cannot do, changing nothing", () => {
  /** Everything a resolve could change. */
  async function snapshot(app: CreatorApp) {
    const db = app.runtime.store;
    return {
      cashouts: await db.all("SELECT id, status, updated_at, document FROM cashouts ORDER BY id"),
      transfers: await count(db, "transfers"),
      idempotency: await count(db, "idempotency"),
      audit: await count(db, "audit_log"),
      lots: await db.all(
        "SELECT cashout_id, gift_id, diamonds, released FROM cashout_lots ORDER BY cashout_id, gift_id",
      ),
    };
  }

  it("bad input, the wrong state, an unknown id, the wrong caller: a problem with its code", async () => {
    const app = await creator(3);
    const stuck = await cashOutTo(app, "hold@example.com");
    const method = await linkPaypal(app, "ada@example.com");
    const requested = (await requestCashout(app, { payoutMethodId: method, diamonds: "40000" })).json();
    const approved = (await requestCashout(app, { payoutMethodId: method, diamonds: "40000" })).json();
    expect((await app.inject("POST", `/v1/admin/cashouts/${approved.id}/approve`)).statusCode).toBe(200);
    await setClock(app, resolvableAt);
    const server = await app.inject("POST", "/v1/admin/api-keys", { name: "server", scopes: ["server"] });
    expect(server.statusCode, server.body).toBe(201);
    const token = await mintToken(app, "creator");

    const paid = { outcome: "paid", reference: "ref-1", reason: "seen at PayPal" };
    const failed = { outcome: "failed", reason: "lost" };
    const cases: [string, () => Promise<{ statusCode: number; json(): { code: string } }>, number, string][] =
      [
        ["an unknown cash-out", () => resolve(app, "co_missing", failed), 404, "not_found"],
        ["a requested cash-out", () => resolve(app, requested.id, failed), 409, "cashout_state_conflict"],
        ["an approved cash-out", () => resolve(app, approved.id, paid), 409, "cashout_state_conflict"],
        ["no Idempotency-Key", () => resolve(app, stuck.id, failed, null), 400, "invalid_request"],
        ["an empty Idempotency-Key", () => resolve(app, stuck.id, failed, ""), 400, "invalid_request"],
        ["no body", () => resolve(app, stuck.id, undefined), 400, "invalid_request"],
        ["an empty body", () => resolve(app, stuck.id, {}), 400, "invalid_request"],
        ["no outcome", () => resolve(app, stuck.id, { reason: "x" }), 400, "invalid_request"],
        [
          "another outcome",
          () => resolve(app, stuck.id, { ...failed, outcome: "returned" }),
          400,
          "invalid_request",
        ],
        [
          "an outcome in capitals",
          () => resolve(app, stuck.id, { ...paid, outcome: "PAID" }),
          400,
          "invalid_request",
        ],
        [
          "an outcome that is not text",
          () => resolve(app, stuck.id, { ...failed, outcome: 1 }),
          400,
          "invalid_request",
        ],
        [
          "paid without a reference",
          () => resolve(app, stuck.id, { outcome: "paid", reason: "x" }),
          400,
          "invalid_request",
        ],
        [
          "failed with a reference",
          () => resolve(app, stuck.id, { ...failed, reference: "r" }),
          400,
          "invalid_request",
        ],
        [
          "no reason",
          () => resolve(app, stuck.id, { outcome: "paid", reference: "r" }),
          400,
          "invalid_request",
        ],
        ["an empty reason", () => resolve(app, stuck.id, { ...failed, reason: "" }), 400, "invalid_request"],
        [
          "a blank reason",
          () => resolve(app, stuck.id, { ...failed, reason: "   " }),
          400,
          "invalid_request",
        ],
        [
          "a reason of 501 characters",
          () => resolve(app, stuck.id, { ...failed, reason: "r".repeat(501) }),
          400,
          "invalid_request",
        ],
        [
          "an empty reference",
          () => resolve(app, stuck.id, { ...paid, reference: "" }),
          400,
          "invalid_request",
        ],
        [
          "a blank reference",
          () => resolve(app, stuck.id, { ...paid, reference: " \t" }),
          400,
          "invalid_request",
        ],
        [
          "a reference of 201 characters",
          () => resolve(app, stuck.id, { ...paid, reference: "r".repeat(201) }),
          400,
          "invalid_request",
        ],
        [
          "an unknown field",
          () => resolve(app, stuck.id, { ...paid, netMinor: "1" }),
          400,
          "invalid_request",
        ],
        ["a JSON array", () => resolve(app, stuck.id, [paid]), 400, "invalid_request"],
        [
          "a text body",
          () =>
            app.app.inject({
              method: "POST",
              url: `/v1/admin/cashouts/${stuck.id}/resolve`,
              headers: { ...app.admin, "content-type": "text/plain", "idempotency-key": newKey() },
              payload: "outcome=paid",
            }),
          415,
          "unsupported_media_type",
        ],
        [
          "a server key",
          () =>
            app.app.inject({
              method: "POST",
              url: `/v1/admin/cashouts/${stuck.id}/resolve`,
              headers: { ...bearer(server.json().key), "idempotency-key": newKey() },
              payload: paid,
            }),
          403,
          "forbidden",
        ],
        [
          "the creator's own token",
          () =>
            app.app.inject({
              method: "POST",
              url: `/v1/admin/cashouts/${stuck.id}/resolve`,
              headers: { ...bearer(token), "idempotency-key": newKey() },
              payload: paid,
            }),
          403,
          "forbidden",
        ],
        [
          "no credentials",
          () =>
            app.app.inject({
              method: "POST",
              url: `/v1/admin/cashouts/${stuck.id}/resolve`,
              headers: { "idempotency-key": newKey() },
              payload: paid,
            }),
          401,
          "unauthenticated",
        ],
      ];
    for (const [name, call, status, code] of cases) {
      const before = await snapshot(app);
      const res = await call();
      expect({ name, status: res.statusCode, code: res.json().code }).toEqual({ name, status, code });
      expect(await snapshot(app), name).toEqual(before);
    }
    // None of it harmed the cash-out: it still resolves.
    expect((await resolve(app, stuck.id, paid)).json()).toMatchObject({ status: "paid", railRef: "ref-1" });
    // The requested and the approved cash-outs still hold theirs.
    expect(await wallet(app)).toMatchObject({ diamonds: { onHold: "80000", withdrawable: "0" } });
    await expectBalanced(app);
  });

  it("a cash-out the rail settled meanwhile (paid, failed, returned): 409", async () => {
    const app = await creator(3);
    const settled = [
      await cashOutTo(app, "ada@example.com"),
      await cashOutTo(app, "fail@example.com"),
      await cashOutTo(app, "return@example.com"),
    ];
    await app.cashouts.process();
    expect(await Promise.all(settled.map(async (c) => (await show(app, c.id)).status))).toEqual([
      "paid",
      "failed",
      "returned",
    ]);
    await setClock(app, resolvableAt);
    for (const c of settled) {
      for (const body of [
        { outcome: "paid", reference: "r", reason: "x" },
        { outcome: "failed", reason: "x" },
      ]) {
        const before = await snapshot(app);
        const res = await resolve(app, c.id, body);
        expect(res.statusCode, res.body).toBe(409);
        expect(res.json().code).toBe("cashout_state_conflict");
        expect(await snapshot(app)).toEqual(before);
      }
    }
  });
});

describe("a late report of the rail, after a resolve", () => {
  it("after paid: the same report changes nothing; failed is an alert and changes nothing; returned returns it", async () => {
    const app = await creator();
    const stuck = await cashOutTo(app, "hold@example.com");
    await setClock(app, resolvableAt);
    const reference = "7NX31257ME234512K";
    expect(
      (await resolve(app, stuck.id, { outcome: "paid", reference, reason: "seen paid" })).statusCode,
    ).toBe(200);
    const conflicts = alerts(app);
    const transfers = await count(app.runtime.store, "transfers");
    const report = (state: Parameters<Cashouts["settle"]>[1]) =>
      applyRailReport(app.cashouts, "test", { cashoutId: stuck.id, state });

    // The job polls it for a return; the rail, which still holds it, says processing.
    for (let pass = 0; pass < 3; pass++) await app.cashouts.process();
    await report({ status: "paid", ref: reference });
    expect(conflicts()).toEqual([]);
    await report({ status: "processing", ref: null });
    await report({ status: "failed", reason: "the receiver's account is closed" });
    expect(conflicts()).toEqual([
      expect.objectContaining({ cashout: stuck.id, status: "paid", reported: "failed" }),
    ]);
    expect(await show(app, stuck.id)).toMatchObject({ status: "paid", railRef: reference });
    expect(await count(app.runtime.store, "transfers")).toBe(transfers);

    // Money that came back is a return, as for any paid cash-out.
    await report({ status: "returned", reason: "RETURNED" });
    expect(await show(app, stuck.id)).toMatchObject({ status: "returned", reason: "RETURNED" });
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "40000", onHold: "0" } });
    expect(await posted(app, "platform:USD:payouts:test")).toBe(0n);
    expect(conflicts()).toHaveLength(1);
    await expectBalanced(app);
  });

  it("after failed: paid is an alert, never a posting; failed and returned change nothing", async () => {
    const app = await creator();
    const stuck = await cashOutTo(app, "hold@example.com");
    await setClock(app, resolvableAt);
    expect((await resolve(app, stuck.id, { outcome: "failed", reason: "lost" })).statusCode).toBe(200);
    const conflicts = alerts(app);
    const transfers = await count(app.runtime.store, "transfers");
    const report = (state: Parameters<Cashouts["settle"]>[1]) =>
      applyRailReport(app.cashouts, "test", { cashoutId: stuck.id, state });

    await report({ status: "failed", reason: "FAILED" });
    await report({ status: "returned", reason: "RETURNED" });
    expect(conflicts()).toEqual([]);
    expect(await report({ status: "paid", ref: "late-ref" })).toBe("applied");
    expect(conflicts()).toEqual([
      expect.objectContaining({ cashout: stuck.id, status: "failed", reported: "paid" }),
    ]);
    expect(await show(app, stuck.id)).toMatchObject({ status: "failed", reason: "lost", railRef: null });
    expect(await count(app.runtime.store, "transfers")).toBe(transfers);
    expect(await posted(app, "platform:USD:payouts:test")).toBe(0n);
    expect(await wallet(app)).toMatchObject({ diamonds: { withdrawable: "40000", onHold: "0" } });
    await expectBalanced(app);
  });

  it("a resolve while the job's pass is under way: the cash-out never reaches its rail again", async () => {
    const app = await creator();
    const stuck = await cashOutTo(app, "hold@example.com");
    await setClock(app, resolvableAt);
    // biome-ignore lint/suspicious/noExplicitAny: the test wraps the running service's rail.
    const rail = (app.cashouts as any).o.rails.get("test") as PayoutRail;
    const status = rail.status.bind(rail);
    // The rail forgot the order (a restart), so the pass will submit it again; the admin resolves
    // it while the pass waits for the rail's answer.
    vi.spyOn(rail, "status").mockImplementation(async (order: PayoutOrder) => {
      if (order.cashoutId !== stuck.id) return status(order);
      const res = await resolve(app, stuck.id, { outcome: "failed", reason: "lost" });
      expect(res.statusCode, res.body).toBe(200);
      return { status: "unknown" };
    });
    const submit = vi.spyOn(rail, "submit");
    await app.cashouts.process();
    expect(submit).not.toHaveBeenCalled();
    expect(await show(app, stuck.id)).toMatchObject({ status: "failed" });
    expect(await posted(app, "platform:USD:payouts:test")).toBe(0n);
    await expectBalanced(app);
  });

  it("a resolve while the job hands the cash-out to its rail waits for the rail's answer", async () => {
    const app = await creator();
    const stuck = await cashOutTo(app, "hold@example.com");
    await setClock(app, resolvableAt);
    // biome-ignore lint/suspicious/noExplicitAny: the test wraps the running service's rail and gate.
    const o = (app.cashouts as any).o;
    const rail = o.rails.get("test") as PayoutRail;
    // The rail forgot the order, so the pass submits it again; the admin resolves it failed just
    // after the pass read it again to submit it (while it looks up the payout destination).
    vi.spyOn(rail, "status").mockResolvedValue({ status: "unknown" });
    const destination = o.gate.destination.bind(o.gate);
    let lookups = 0;
    let resolving: Promise<Awaited<ReturnType<typeof resolve>>> | undefined;
    vi.spyOn(o.gate, "destination").mockImplementation(async (...args: unknown[]) => {
      if (++lookups === 2) resolving = resolve(app, stuck.id, { outcome: "failed", reason: "lost" });
      // Time for the resolve to run as far as it can before the pass goes on.
      await new Promise((done) => setTimeout(done, 50));
      return destination(...args);
    });
    const statusAtSubmit: string[] = [];
    const submit = rail.submit.bind(rail);
    vi.spyOn(rail, "submit").mockImplementation(async (order: PayoutOrder) => {
      statusAtSubmit.push((await show(app, order.cashoutId)).status);
      return submit(order);
    });
    await app.cashouts.process();
    expect(resolving).toBeDefined();
    const resolved = await resolving!;
    // The rail was handed a cash-out still processing, never one already resolved failed.
    expect(statusAtSubmit).toEqual(["processing"]);
    const after = await show(app, stuck.id);
    if (resolved.statusCode === 200) {
      expect(after.status).toBe("failed");
      expect(await posted(app, "platform:USD:payouts:test")).toBe(0n);
    } else {
      // The rail's answer settled it first: the admin is told so.
      expect(resolved.json().code).toBe("cashout_state_conflict");
      expect(after.status).toBe("paid");
    }
    await expectBalanced(app);
  });

  it("writes the admin's audit entry with the change: when it cannot be written, nothing changes", async () => {
    const app = await creator(2);
    const stuck = await cashOutTo(app, "hold@example.com");
    const linked = methods.get(app)!.get("hold@example.com")!;
    const requested = await requestCashout(app, { payoutMethodId: linked, diamonds: "40000" });
    expect(requested.statusCode, requested.body).toBe(201);
    await setClock(app, resolvableAt);
    const db = app.runtime.store;
    await refuseAuditWrites(db);
    const transfers = await count(db, "transfers");
    const refused = [
      await resolve(app, stuck.id, { outcome: "failed", reason: "lost" }),
      await app.inject("POST", `/v1/admin/cashouts/${requested.json().id}/approve`),
      await app.inject("POST", `/v1/admin/cashouts/${requested.json().id}/reject`, { reason: "no" }),
    ];
    expect(refused.map((r) => r.statusCode)).toEqual([500, 500, 500]);
    expect(await count(db, "transfers")).toBe(transfers);
    expect((await show(app, stuck.id)).status).toBe("processing");
    expect((await show(app, requested.json().id)).status).toBe("requested");
    await expectBalanced(app);
  });

  it("a resolve and the rail's own report at once: exactly one applies", async () => {
    const app = await creator(2);
    const first = await cashOutTo(app, "hold@example.com");
    const second = await cashOutTo(app, "hold@example.com");
    await setClock(app, resolvableAt);
    const conflicts = alerts(app);
    const [byAdmin, byRail] = await Promise.allSettled([
      resolve(app, first.id, { outcome: "paid", reference: "r", reason: "seen paid" }),
      app.cashouts.settleById(first.id, { status: "failed", reason: "FAILED" }),
    ]);
    expect(byRail.status).toBe("fulfilled");
    const status = (await show(app, first.id)).status;
    const answer = byAdmin.status === "fulfilled" ? byAdmin.value : null;
    if (status === "paid") {
      expect(answer?.statusCode).toBe(200);
      expect(conflicts()).toHaveLength(1);
      expect(await posted(app, "platform:USD:payouts:test")).toBe(15000n);
    } else {
      expect(status).toBe("failed");
      expect(answer?.json().code).toBe("cashout_state_conflict");
      expect(await posted(app, "platform:USD:payouts:test")).toBe(0n);
    }
    // Two admins at once, each with a key of their own: one settles it, the other is told so.
    const answers = await Promise.all([
      resolve(app, second.id, { outcome: "paid", reference: "r", reason: "a" }),
      resolve(app, second.id, { outcome: "failed", reason: "b" }),
    ]);
    expect(answers.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    expect((await show(app, second.id)).status).toBe(
      answers.find((r) => r.statusCode === 200)!.json().status,
    );
    await expectBalanced(app);
  });
});

describe("a bank file never confirmed", () => {
  /** A Zoë cash-out written into a SEPA file, its line pending; answers the cash-out and its file. */
  async function inFile() {
    const app = await openFileRailApp("DE");
    t = app;
    await addCreator(app, "zoe", "Zoë Müller", "DE");
    await earnFor(app, "zoe", 25);
    const method = await linkMethod(app, "zoe", {
      type: "bank_account",
      holderName: "Zoë Müller",
      iban: "DE89370400440532013000",
    });
    const co = await cashOut(app, "zoe", method, "40000");
    await app.cashouts.process();
    const [file] = await listFiles(app, "?rail=sepa");
    const [line] = await fileLines(app, file!.id);
    expect(line).toMatchObject({ cashoutId: co.id, status: "pending", cashoutStatus: "processing" });
    await setClock(app, resolvableAt);
    return { app, co, fileId: file!.id, reference: line!.reference };
  }

  it("resolved paid, then the bank's return of the line marked: an alert, and the cash-out stays paid", async () => {
    const { app, co, fileId, reference } = await inFile();
    const res = await resolve(app, co.id, { outcome: "paid", reference, reason: "on the bank statement" });
    expect(res.json()).toMatchObject({ status: "paid", railRef: reference });
    expect(await posted(app, "platform:EUR:payouts:sepa")).toBe(18400n);
    const conflicts = alerts(app);
    // The line is still pending: the bank says it refused it, so the money never left.
    const marked = await app.inject("POST", `/v1/admin/payout-files/${fileId}/lines/${co.id}/returned`, {
      reason: "AC04 account closed",
    });
    expect(marked.statusCode, marked.body).toBe(200);
    expect(marked.json()).toMatchObject({ status: "returned", cashoutStatus: "paid" });
    expect(conflicts()).toEqual([
      expect.objectContaining({ cashout: co.id, status: "paid", reported: "failed", rail: "sepa" }),
    ]);
    expect(await posted(app, "platform:EUR:payouts:sepa")).toBe(18400n);
    await expectBalanced(app);
  });

  it("resolved failed, then the line marked paid: an alert, and nothing paid twice", async () => {
    const { app, co, fileId } = await inFile();
    expect(
      (await resolve(app, co.id, { outcome: "failed", reason: "the bank lost the file" })).json(),
    ).toMatchObject({ status: "failed" });
    expect(await wallet(app, "zoe")).toMatchObject({ diamonds: { withdrawable: "50000", onHold: "0" } });
    const conflicts = alerts(app);
    const marked = await app.inject("POST", `/v1/admin/payout-files/${fileId}/lines/${co.id}/paid`);
    expect(marked.statusCode, marked.body).toBe(200);
    expect(marked.json()).toMatchObject({ status: "paid", cashoutStatus: "failed" });
    expect(conflicts()).toEqual([
      expect.objectContaining({ cashout: co.id, status: "failed", reported: "paid", rail: "sepa" }),
    ]);
    expect(await posted(app, "platform:EUR:payouts:sepa")).toBe(0n);
    await expectBalanced(app);
  });
});
