import { afterEach, describe, expect, it } from "vitest";
import { ConfigError, loadConfig } from "../src/config/index.js";
import { EconomyCatalog } from "../src/economy/catalog.js";
import { applyOverride, defaultEconomyDocument, type EconomyDocument } from "../src/economy/config/index.js";
import { SqlEconomyStore } from "../src/store/sql/economy-store.js";
import { openTestApp, type TestApp } from "./support/app.js";
import { count, refuseAuditWrites } from "./support/sql.js";

let t: TestApp | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

type Packs = {
  currency: string;
  economyVersion: string;
  packs: { id: string; coins: string; priceMinor: string }[];
};

async function packs(app: TestApp, country: string) {
  return app.app.inject({ method: "GET", url: `/v1/coin-packs?country=${country}`, headers: app.admin });
}

describe("economy", () => {
  it("lists each country's packs in its own currency, with the 1,000-coin US pack at $9.90", async () => {
    t = await openTestApp();
    const us = (await packs(t, "US")).json() as Packs;
    expect(us.currency).toBe("USD");
    expect(us.packs).toContainEqual({ id: "us-1000", coins: "1000", priceMinor: "990" });
    const jp = (await packs(t, "JP")).json() as Packs;
    expect(jp.currency).toBe("JPY");
    for (const country of ["GB", "DE", "FR", "IN", "BR"])
      expect((await packs(t, country)).statusCode).toBe(200);
    expect((await packs(t, "CH")).statusCode).toBe(404);
    expect((await packs(t, "us")).statusCode).toBe(400);
    expect((await t.app.inject({ method: "GET", url: "/v1/coin-packs", headers: t.admin })).statusCode).toBe(
      400,
    );
  });

  it("lists the gift catalog, filtered by country", async () => {
    t = await openTestApp();
    const all = (await t.app.inject({ method: "GET", url: "/v1/gifts", headers: t.admin })).json() as {
      gifts: { id: string; coins: string; contexts: string[] }[];
    };
    expect(all.gifts.find((g) => g.id === "rose")).toMatchObject({ coins: "1", contexts: ["live", "video"] });
    expect(all.gifts.find((g) => g.id === "universe")).toMatchObject({ coins: "44999", contexts: ["live"] });
    expect(all.gifts.length).toBeGreaterThanOrEqual(20);
    const us = (
      await t.app.inject({ method: "GET", url: "/v1/gifts?country=US", headers: t.admin })
    ).json() as {
      gifts: { id: string }[];
    };
    expect(us.gifts.length).toBeLessThan(all.gifts.length);
  });

  it("schedules a price change that takes effect at its time, not before, and never in the past", async () => {
    t = await openTestApp({ testMode: true });
    const start = Date.parse("2031-01-01T00:00:00Z");
    await t.app.inject({
      method: "POST",
      url: "/v1/test/clock",
      headers: t.admin,
      payload: { now: new Date(start).toISOString() },
    });
    const before = (await packs(t, "US")).json() as Packs;
    const effectiveAt = "2031-02-01T00:00:00.000Z";
    const usPacks = before.packs.map((p) => ({
      ...p,
      priceMinor: p.id === "us-1000" ? "1090" : p.priceMinor,
    }));
    const scheduled = await t.app.inject({
      method: "POST",
      url: "/v1/admin/economy/versions",
      headers: t.admin,
      payload: { effectiveAt, override: { regions: { US: { packs: usPacks } } } },
    });
    expect(scheduled.statusCode).toBe(201);
    const economy = (
      await t.app.inject({ method: "GET", url: "/v1/admin/economy", headers: t.admin })
    ).json() as {
      inForce: { id: string };
      scheduled: { id: string; effectiveAt: string }[];
    };
    expect(economy.inForce.id).toBe(before.economyVersion);
    expect(economy.scheduled).toMatchObject([{ effectiveAt }]);
    expect(((await packs(t, "US")).json() as Packs).packs).toContainEqual({
      id: "us-1000",
      coins: "1000",
      priceMinor: "990",
    });

    await t.app.inject({
      method: "POST",
      url: "/v1/test/clock",
      headers: t.admin,
      payload: { now: effectiveAt },
    });
    const after = (await packs(t, "US")).json() as Packs;
    expect(after.packs).toContainEqual({ id: "us-1000", coins: "1000", priceMinor: "1090" });
    expect(after.economyVersion).toBe((scheduled.json() as { id: string }).id);
    // A record made under the old version (by a process yet to reload) is read under that version,
    // not the one in force by the clock; an unknown id falls back to the clock.
    const later = Date.parse(effectiveAt) + 1000;
    expect(t.catalog.recorded(before.economyVersion, later).id).toBe(before.economyVersion);
    expect(t.catalog.recorded("ev_unknown", later).id).toBe(after.economyVersion);
    // Other regions keep their lists: the override merged onto the version before it.
    expect(((await packs(t, "GB")).json() as Packs).packs.length).toBeGreaterThan(0);

    const past = await t.app.inject({
      method: "POST",
      url: "/v1/admin/economy/versions",
      headers: t.admin,
      payload: { effectiveAt: "2031-01-15T00:00:00Z", override: {} },
    });
    expect(past.statusCode).toBe(400);
  });

  it.each([
    [
      "a float price",
      { regions: { US: { cashoutMinimumNetMinor: 100.5 } } },
      "regions.US.cashoutMinimumNetMinor",
    ],
    [
      "a decimal string price",
      { regions: { US: { cashoutMinimumNetMinor: "100.50" } } },
      "regions.US.cashoutMinimumNetMinor",
    ],
    ["an unknown field", { regions: { US: { discount: "5" } } }, "regions.US.discount"],
    ["a commission of 150 %", { commissionRate: "1.5" }, "commissionRate"],
    ["a negative rate", { coinToDiamondRate: "-2" }, "coinToDiamondRate"],
  ])("refuses %s with 400 naming the path, and schedules nothing", async (_name, override, path) => {
    t = await openTestApp();
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/admin/economy/versions",
      headers: t.admin,
      payload: { effectiveAt: "2999-01-01T00:00:00Z", override },
    });
    expect(res.statusCode).toBe(400);
    expect(res.json().detail).toContain(path);
    const economy = (
      await t.app.inject({ method: "GET", url: "/v1/admin/economy", headers: t.admin })
    ).json();
    expect(economy.scheduled).toEqual([]);
  });

  it("schedules a version with its audit entry, or not at all", async () => {
    t = await openTestApp();
    const schedule = () =>
      t!.app.inject({
        method: "POST",
        url: "/v1/admin/economy/versions",
        headers: t!.admin,
        payload: { effectiveAt: "2099-01-01T00:00:00.000Z", override: { commissionRate: "0.4" } },
      });
    const versions = await count(t.runtime.store, "economy_versions");
    await refuseAuditWrites(t.runtime.store);
    expect((await schedule()).statusCode).toBe(500);
    expect(await count(t.runtime.store, "economy_versions")).toBe(versions);
    const economy = (
      await t.app.inject({ method: "GET", url: "/v1/admin/economy", headers: t.admin })
    ).json();
    expect(economy).toMatchObject({ scheduled: [] });
  });

  it("takes economy overrides from the configuration, and refuses bad ones at start with their paths", async () => {
    t = await openTestApp({
      economy: { commissionRate: "0.4", regions: { US: { cashoutMinimumNetMinor: "5000" } } },
    });
    const economy = (
      await t.app.inject({ method: "GET", url: "/v1/admin/economy", headers: t.admin })
    ).json() as {
      inForce: { document: { commissionRate: string; regions: { US: { cashoutMinimumNetMinor: string } } } };
    };
    expect(economy.inForce.document.commissionRate).toBe("0.4");
    expect(economy.inForce.document.regions.US.cashoutMinimumNetMinor).toBe("5000");

    let error: unknown;
    try {
      loadConfig({
        env: {},
        overrides: { economy: { regions: { US: { currency: "XYZ" } }, commissionRate: 0.5 } },
      });
    } catch (e) {
      error = e;
    }
    expect(error).toBeInstanceOf(ConfigError);
    expect((error as ConfigError).problems.join("\n")).toMatch(/economy\.commissionRate/);
  });

  it("turns an edited configuration into a new version at the next start", async () => {
    t = await openTestApp();
    const first = (
      await t.app.inject({ method: "GET", url: "/v1/admin/economy", headers: t.admin })
    ).json() as {
      inForce: { id: string };
    };
    const { EconomyCatalog } = await import("../src/economy/catalog.js");
    const { SqlEconomyStore } = await import("../src/store/sql/economy-store.js");
    const { defaultEconomyDocument } = await import("../src/economy/config/preset.js");
    const edited = { ...defaultEconomyDocument, commissionRate: "0.45" };
    const reopened = await EconomyCatalog.open({
      store: new SqlEconomyStore(t.runtime.store),
      clock: t.clock.now,
      amountMax: 10n ** 15n,
      configured: { document: edited, overridden: true },
    });
    const now = reopened.at(t.clock.now());
    expect(now.id).not.toBe(first.inForce.id);
    expect(now.document.commissionRate).toBe("0.45");
    // Unchanged configuration: no new version.
    const again = await EconomyCatalog.open({
      store: new SqlEconomyStore(t.runtime.store),
      clock: t.clock.now,
      amountMax: 10n ** 15n,
      configured: { document: edited, overridden: true },
    });
    expect(again.at(t.clock.now()).id).toBe(now.id);
  });
});

describe("the config file's economy at each start", () => {
  const restart = (app: TestApp, override: object) =>
    EconomyCatalog.open({
      store: new SqlEconomyStore(app.runtime.store),
      clock: app.clock.now,
      amountMax: app.runtime.config.money.amountMax,
      configured: {
        document: applyOverride(defaultEconomyDocument, override) as EconomyDocument,
        overridden: true,
      },
    });

  it("replaces the version in force as a whole, and an unchanged file adds no version", async () => {
    t = await openTestApp({ testMode: true });
    const app = t;
    const versions = async () =>
      Number((await app.runtime.store.get("SELECT count(*) AS n FROM economy_versions"))?.n);
    await app.clock.set(app.clock.now() + 1000);
    const capped = await restart(app, { limits: { purchaseCoinsMax: "10000" } });
    expect(capped.at(app.clock.now()).economy.limits.purchaseCoinsMax).toBe(10_000n);
    // The operator edits the file: no cap any more, another commission. A key the file no longer
    // sets must be gone, not kept from the version before.
    await app.clock.set(app.clock.now() + 1000);
    const edited = await restart(app, { commissionRate: "0.45" });
    const inForce = edited.at(app.clock.now());
    expect(inForce.document.commissionRate).toBe("0.45");
    expect(inForce.economy.limits.purchaseCoinsMax).toBeUndefined();
    const after = await versions();
    await app.clock.set(app.clock.now() + 1000);
    await restart(app, { commissionRate: "0.45" });
    await restart(app, { commissionRate: "0.45" });
    expect(await versions()).toBe(after);
  });

  it("takes effect at start on a clock that moves between two readings", async () => {
    t = await openTestApp({ testMode: true });
    const app = t;
    // A running clock, a millisecond on at every reading: the time a start read first is already
    // in the past when the schedule reads it again, which refused the start now and then.
    let ticks = app.clock.now() + 1000;
    const catalog = await EconomyCatalog.open({
      store: new SqlEconomyStore(app.runtime.store),
      clock: () => ticks++,
      amountMax: app.runtime.config.money.amountMax,
      configured: {
        document: applyOverride(defaultEconomyDocument, { commissionRate: "0.4" }) as EconomyDocument,
        overridden: true,
      },
    });
    expect(catalog.at(ticks).document.commissionRate).toBe("0.4");
  });
});
