import type { Logger } from "pino";
import { Access } from "../access/access.js";
import { tokenKeySource } from "../access/token-key-source.js";
import { UserTokens } from "../access/user-tokens.js";
import { registerAuth } from "../api/auth.js";
import { InFlightKeys } from "../api/idempotency.js";
import { buildApp, type GiftstreamApp } from "../api/index.js";
import { registerRateLimits } from "../api/rate-limit/register.js";
import { SenderLimits } from "../api/rate-limit/senders.js";
import { rateLimitStore } from "../api/rate-limit/store.js";
import { registerReplays } from "../api/replays.js";
import { apiKeyRoutes } from "../api/routes/api-keys.js";
import { auditRoutes } from "../api/routes/audit.js";
import { bonusRoutes } from "../api/routes/bonus.js";
import { cashoutRoutes } from "../api/routes/cashouts.js";
import { economyRoutes } from "../api/routes/economy.js";
import { giftRoutes } from "../api/routes/gifts.js";
import { liveRoutes } from "../api/routes/live.js";
import { payoutReconciliationRoutes } from "../api/routes/payout-reconciliation.js";
import { paypalWebhookRoute } from "../api/routes/paypal-webhook.js";
import { purchaseRoutes } from "../api/routes/purchases.js";
import { reportRoutes } from "../api/routes/report.js";
import { testRoutes } from "../api/routes/test-mode.js";
import { transactionRoutes } from "../api/routes/transactions.js";
import { userTokenRoutes } from "../api/routes/user-tokens.js";
import { userRoutes } from "../api/routes/users.js";
import { walletRoutes } from "../api/routes/wallet.js";
import { webhookEndpointRoutes } from "../api/routes/webhook-endpoints.js";
import { stripeWebhookRoute } from "../api/routes/webhooks.js";
import { ServiceClock } from "../clock.js";
import type { Config } from "../config/index.js";
import { Bonuses } from "../economy/bonus.js";
import type { Cashouts } from "../economy/cashouts/cashouts.js";
import { reconcilePayouts } from "../economy/cashouts/payout-reconciler.js";
import { EconomyCatalog } from "../economy/catalog.js";
import { Gifts } from "../economy/gifts/gifts.js";
import type { Kyc } from "../economy/kyc/kyc.js";
import type { PayoutMethods } from "../economy/payout-methods/payout-methods.js";
import { Purchases } from "../economy/purchases/purchases.js";
import { Users } from "../economy/users/users.js";
import { Wallets } from "../economy/wallet/wallets.js";
import type { PaymentProvider, PaymentProviderName } from "../providers/payments/provider.js";
import { StripeProvider } from "../providers/payments/stripe.js";
import { TestPaymentProvider } from "../providers/payments/test-provider.js";
import { SqlAccessStore } from "../store/sql/access-store.js";
import { SqlActivityStore } from "../store/sql/activity-store.js";
import { SqlCashoutStore } from "../store/sql/cashout-store.js";
import { SqlEconomyStore } from "../store/sql/economy-store.js";
import { SqlGiftStore } from "../store/sql/gift-store.js";
import { SqlPurchaseStore } from "../store/sql/purchase-store.js";
import { SqlReplyStore } from "../store/sql/reply-store.js";
import { SqlReportStore } from "../store/sql/report-store.js";
import { SqlUserStore } from "../store/sql/user-store.js";
import { apiRailWebhooks } from "./api-rails.js";
import { openCashouts } from "./cashouts.js";
import { purgePass, purging } from "./drain.js";
import { type Fanout, openFanout } from "./fanout.js";
import { payoutFileRoutesOf } from "./file-rails.js";
import { openIdentity, openSealer } from "./identity.js";
import { startJobs } from "./jobs.js";
import { openLive } from "./live.js";
import { openRuntime, type Runtime } from "./runtime.js";
import { SharedState } from "./shared-state.js";
import { openWebhooks, type Webhooks } from "./webhooks.js";

export interface Composed {
  app: GiftstreamApp;
  runtime: Runtime;
  access: Access;
  tokens: UserTokens;
  users: Users;
  catalog: EconomyCatalog;
  purchases: Purchases;
  gifts: Gifts;
  /** Identity verification (KYC): the cash-out asks it `identityOf`. */
  kyc: Kyc;
  /** Linked payout methods: the cash-out asks them `get` and `cashoutBlocker`. */
  payoutMethods: PayoutMethods;
  cashouts: Cashouts;
  webhooks: Webhooks;
  clock: ServiceClock;
  /** Stops accepting, lets requests in flight finish, commits queued batches, then closes the database. */
  close(): Promise<void>;
}

export interface Server extends Composed {
  /** The address it listens on, e.g. http://127.0.0.1:8080. */
  url: string;
}

/**
 * The composition root: wires the store, the ledger, access, the jobs and the HTTP API. On the
 * first start with no API key configured, it generates an admin key and prints it once.
 */
export async function composeApp(
  config: Config,
  logger: Logger,
  options: { print?: (line: string) => void } = {},
): Promise<Composed> {
  const clock = new ServiceClock();
  const sealer = openSealer(config, logger);
  const runtime = await openRuntime(config, logger, clock.now);
  let fanout: Fanout;
  try {
    fanout = await openFanout(config, logger);
  } catch (error) {
    await runtime.close();
    throw error;
  }
  // What is opened below is closed again if the start fails part way, so a failed start leaks
  // no connection, subscription or timer.
  let shared: SharedState | undefined;
  let jobs: { stop(): Promise<void> } | undefined;
  let limitsOpened: { close?(): Promise<void> } | undefined;
  let appOpened: { close(): Promise<unknown> } | undefined;
  try {
    const access = new Access(new SqlAccessStore(runtime.store), clock.now);
    const tokens = new UserTokens({
      source: tokenKeySource(config, clock.now),
      clock: clock.now,
      ttlMs: config.auth.userTokenTtlMs,
    });
    const webhooks = await openWebhooks({ runtime, clock: clock.now, logger });
    const users = new Users(new SqlUserStore(runtime.store), clock.now, webhooks.endpoints);
    // Processes starting together on an empty database take turns to seed it, so that it gets one
    // first economy version and one first admin key, not one per process.
    const seeding = runtime.store.keyedLocks("startup");
    const catalog = await seeding.run("economy", () =>
      EconomyCatalog.open({
        store: new SqlEconomyStore(runtime.store),
        clock: clock.now,
        amountMax: config.money.amountMax,
        configured: config.economy,
        locks: runtime.store.keyedLocks("economy"),
      }),
    );
    const providers: Partial<Record<PaymentProviderName, PaymentProvider>> = {};
    if (config.testMode) providers.test = new TestPaymentProvider();
    const stripe = stripeFrom(config);
    if (stripe) providers.stripe = stripe;
    const giftStore = new SqlGiftStore(runtime.store);
    // Pending diamonds move under one lock, held across processes: see `pendingLotsKey`.
    const lotsLock = runtime.store.keyedLocks("gifts");
    const purchases = new Purchases({
      gifts: giftStore,
      lotsLock,
      debtLock: runtime.store.keyedLocks("coin-debt"),
      ledger: runtime.ledger,
      store: new SqlPurchaseStore(runtime.store),
      catalog,
      users,
      clock: clock.now,
      logger,
      providers,
      checkoutUrls: { successUrl: config.payments.successUrl, cancelUrl: config.payments.cancelUrl },
      events: webhooks.endpoints,
    });
    const live = openLive({ runtime, users, clock: clock.now, logger, bus: fanout.live });
    const gifts = new Gifts({
      ledger: runtime.ledger,
      store: giftStore,
      purchases: new SqlPurchaseStore(runtime.store),
      catalog,
      users,
      clock: clock.now,
      events: webhooks.endpoints,
      onSent: live.onSent,
      lotsLock,
    });
    const identity = openIdentity({ runtime, sealer, users, catalog, access, clock: clock.now });
    const payouts = openCashouts({
      runtime,
      gifts,
      catalog,
      users,
      methods: identity.payoutMethods,
      access,
      events: webhooks.endpoints,
      clock: clock.now,
      logger,
    });
    const sharedState = new SharedState({
      bus: fanout.changes,
      db: runtime.store,
      users,
      gifts: giftStore,
      catalog,
      endpoints: webhooks.endpoints,
      clock,
      refreshMs: config.fanout.cacheRefreshMs,
      testMode: config.testMode,
      logger,
    });
    shared = sharedState;
    // One process on SQLite owns every write, so its caches are the truth; on PostgreSQL, other
    // processes may change what this one caches.
    if (runtime.store.dialect === "postgres") await sharedState.start();
    const generated = await seeding.run("api_key", () => access.seed(config.apiKey));
    if (generated) {
      (options.print ?? console.log)(
        `Generated the first admin API key. It is shown once; store it now:\n\n  ${generated.secret}\n`,
      );
    }
    const replies = new SqlReplyStore(runtime.store);
    const runningJobs = startJobs(runtime, logger, [
      ["mature-diamonds", () => gifts.mature()],
      [
        "purge-replies",
        purging((pageRows) => replies.purge(clock.now() - config.ledger.idempotencyRetentionMs, pageRows)),
        purgePass.intervalMs,
      ],
      ...webhooks.jobs,
      ...payouts.jobs,
    ]);
    jobs = runningJobs;
    const app = await buildApp({
      config,
      logger,
      checks: {
        async health() {
          // A read through the store proves the database answers, and an empty write transaction
          // that the write path does: on SQLite it goes through the writer thread, and a writer
          // that died is replaced on the way (a health check that only read said ok for a server
          // that could no longer write).
          await runtime.store.getAccounts(["healthz"]);
          await runtime.store.execute([]);
          return { ok: true };
        },
      },
    });
    appOpened = app;
    registerAuth(app, access, tokens);
    const limits = rateLimitStore(config.rateLimit, config.fanout.redisUrl);
    limitsOpened = limits;
    await registerRateLimits(app, config.rateLimit, limits);
    // Before the routes: it hooks each POST route as it is added.
    registerReplays(app, {
      store: replies,
      sealer,
      clock: clock.now,
      leaseMs: config.server.replayLeaseMs,
      bytesMax: config.server.replayBytesMax,
      logger,
    });
    apiKeyRoutes(app, access);
    auditRoutes(app, access);
    userTokenRoutes(app, tokens, users, access);
    userRoutes(app, users, clock.now);
    economyRoutes(app, catalog, clock.now);
    const inFlight = new InFlightKeys();
    identity.routes(app);
    cashoutRoutes(app, payouts.cashouts, inFlight);
    payoutFileRoutesOf(app, { runtime, sealer, cashouts: payouts.cashouts, access, clock: clock.now });
    purchaseRoutes(app, purchases, inFlight, config.testMode);
    bonusRoutes(app, new Bonuses(runtime.ledger, users, clock.now), inFlight, config.money.amountMax);
    giftRoutes(app, gifts, inFlight, new SenderLimits(limits, config.rateLimit));
    transactionRoutes(app, new SqlActivityStore(runtime.store), users);
    reportRoutes(app, new SqlReportStore(runtime.store), catalog, clock.now);
    walletRoutes(
      app,
      new Wallets({ ledger: runtime.ledger, gifts: giftStore, catalog, users, clock: clock.now }),
    );
    webhookEndpointRoutes(app, webhooks.endpoints);
    liveRoutes(app, live.feed, live.leaderboards, config.live);
    const railWebhooks = apiRailWebhooks(payouts.rails, payouts.cashouts, config.payouts.paypal.webhookId);
    if (stripe) stripeWebhookRoute(app, stripe, purchases, railWebhooks.stripeConnect);
    if (railWebhooks.paypal) paypalWebhookRoute(app, railWebhooks.paypal);
    payoutReconciliationRoutes(
      app,
      (sinceMs) =>
        reconcilePayouts({
          store: new SqlCashoutStore(runtime.store),
          rails: payouts.rails,
          sinceMs,
          cashoutsMax: config.payouts.reconcileCashoutsMax,
        }),
      () => clock.now() - config.payouts.reconcileWindowDays * 86_400_000,
    );
    if (config.testMode) testRoutes(app, clock, purchases, (ms) => sharedState.setClock(ms));
    let closing: Promise<void> | null = null;
    const close = (): Promise<void> => {
      closing ??= (async () => {
        await app.close();
        // Deliveries in flight are aborted and stay due: the next start sends them.
        await webhooks.delivery.stop();
        await runningJobs.stop();
        sharedState.stop();
        await Promise.allSettled([fanout.close(), limits.close?.()]);
        await runtime.close();
      })();
      return closing;
    };
    return {
      app,
      runtime,
      access,
      tokens,
      users,
      catalog,
      purchases,
      gifts,
      kyc: identity.kyc,
      payoutMethods: identity.payoutMethods,
      cashouts: payouts.cashouts,
      webhooks,
      clock,
      close,
    };
  } catch (error) {
    shared?.stop();
    await jobs?.stop();
    await appOpened?.close().catch(() => undefined);
    await limitsOpened?.close?.().catch(() => undefined);
    await fanout.close();
    await runtime.close();
    throw error;
  }
}

/** The Stripe provider when both of its secrets are configured. */
function stripeFrom(config: Config): StripeProvider | undefined {
  const { secretKey, webhookSecret, apiUrl } = config.payments.stripe ?? {};
  if (secretKey === undefined || webhookSecret === undefined) return undefined;
  let apiBase: { host: string; port: number; protocol: "http" | "https" } | undefined;
  if (apiUrl !== undefined) {
    const url = new URL(apiUrl);
    const protocol = url.protocol === "http:" ? "http" : "https";
    apiBase = { host: url.hostname, port: Number(url.port || (protocol === "http" ? 80 : 443)), protocol };
  }
  return new StripeProvider({ secretKey, webhookSecret, ...(apiBase ? { apiBase } : {}) });
}

export async function startServer(config: Config, logger: Logger): Promise<Server> {
  const composed = await composeApp(config, logger);
  try {
    const url = await composed.app.listen({ host: config.server.host, port: config.server.port });
    return { ...composed, url };
  } catch (error) {
    await composed.close();
    throw error;
  }
}
