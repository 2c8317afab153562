import type { Logger } from "pino";
import type { Access } from "../access/access.js";
import { type CashoutGate, Cashouts } from "../economy/cashouts/cashouts.js";
import type { EconomyCatalog } from "../economy/catalog.js";
import type { EventFilter } from "../economy/events/events.js";
import type { Gifts } from "../economy/gifts/gifts.js";
import type { PayoutMethod } from "../economy/payout-methods/payout-method.js";
import type { PayoutMethods } from "../economy/payout-methods/payout-methods.js";
import type { Users } from "../economy/users/users.js";
import type { PayoutDestination, PayoutRail } from "../providers/payouts/rail.js";
import { routeFor } from "../providers/payouts/routing.js";
import { TestPayoutRail } from "../providers/payouts/test-rail.js";
import { SqlCashoutStore } from "../store/sql/cashout-store.js";
import { apiRails } from "./api-rails.js";
import { fileRails } from "./file-rails.js";
import type { Runtime } from "./runtime.js";

/** Where a payout method sends money, as a rail needs it. */
export function destinationOf(method: PayoutMethod): PayoutDestination {
  const d = method.details;
  if ("email" in d) return { type: "paypal", email: d.email };
  if ("accountId" in d) return { type: "stripe_account", accountId: d.accountId };
  const holderName = method.holderName ?? "";
  if ("iban" in d) return { type: "bank_account", holderName, iban: d.iban, bic: d.bic };
  return {
    type: "bank_account",
    holderName,
    routingNumber: d.routingNumber,
    accountNumber: d.accountNumber,
    accountType: d.accountType,
  };
}

/** `cashouts.autoApproveNetMaxMinor` as the service reads it: payout currency → minor units. */
export function autoApproveLimits(limits: Readonly<Record<string, string>>): ReadonlyMap<string, bigint> {
  return new Map(Object.entries(limits).map(([currency, netMaxMinor]) => [currency, BigInt(netMaxMinor)]));
}

/**
 * Every configured payout rail by name: the built-in `test` rail in test mode, then each rail whose
 * configuration is set. `giftstream reconcile payouts` opens the same map as the server.
 */
export function openPayoutRails(o: {
  runtime: Runtime;
  clock: () => number;
  logger: Logger;
}): Map<string, PayoutRail> {
  const rails = new Map<string, PayoutRail>();
  if (o.runtime.config.testMode) rails.set("test", new TestPayoutRail(o.clock));
  for (const [name, rail] of apiRails(o)) rails.set(name, rail);
  for (const [name, rail] of fileRails(o)) rails.set(name, rail);
  return rails;
}

/**
 * Cash-outs on the runtime's store, with the payout methods as their gate. The built-in `test`
 * rail carries every payout in test mode; real rails come with their own configuration.
 */
export function openCashouts(o: {
  runtime: Runtime;
  gifts: Gifts;
  catalog: EconomyCatalog;
  users: Users;
  methods: PayoutMethods;
  access: Access;
  events?: EventFilter;
  clock: () => number;
  logger: Logger;
}): {
  cashouts: Cashouts;
  rails: ReadonlyMap<string, PayoutRail>;
  jobs: [string, () => Promise<number>, number][];
} {
  const config = o.runtime.config;
  const rails = openPayoutRails(o);
  const gate: CashoutGate = {
    blocker: (userId, methodId, now) => o.methods.cashoutBlocker(userId, methodId, now),
    // A cash-out in flight still pays to a method deleted since it was requested.
    destination: async (userId, methodId) =>
      destinationOf(await o.methods.get(userId, methodId, { includeDeleted: true })),
  };
  const s = config.cashouts;
  const cashouts = new Cashouts({
    ledger: o.runtime.ledger,
    store: new SqlCashoutStore(o.runtime.store),
    gifts: o.gifts,
    catalog: o.catalog,
    users: o.users,
    gate,
    rails,
    // The configured routes first; in test mode the test rail carries whatever they leave.
    railFor: (destination, currency, country) =>
      routeFor(config.payouts.routes, { destination, currency, country }, (rail) => rails.has(rail)) ??
      (rails.has("test") ? "test" : undefined),
    settings: { ...s, autoApproveNetMaxMinor: autoApproveLimits(s.autoApproveNetMaxMinor) },
    clock: o.clock,
    logger: o.logger,
    locks: (scope) => o.runtime.store.keyedLocks(scope),
    ...(o.events ? { events: o.events } : {}),
  });
  return {
    cashouts,
    rails,
    jobs: [["process-cashouts", () => cashouts.process(), s.processIntervalMs]],
  };
}
