import type { Logger } from "pino";
import { type Config, ConfigError, databaseLocation } from "../config/index.js";
import { Ledger } from "../ledger/index.js";
import { SqliteStore } from "../store/sqlite/sqlite-store.js";

/** The wired core: a store and the ledger on it. Every command that touches data opens one. */
export interface Runtime {
  config: Config;
  store: SqliteStore;
  ledger: Ledger;
  /** Stops taking writes, answers everything queued, and closes the database. */
  close(): Promise<void>;
}

export function openRuntime(config: Config, logger: Logger, clock: () => number = Date.now): Runtime {
  const location = databaseLocation(config);
  if (location.kind === "postgres") {
    // Refused whole rather than half-served: the domain stores (users, purchases, gifts,
    // cash-outs, …) are not on PostgreSQL yet, only the ledger's tables.
    throw new ConfigError([
      "databaseUrl: PostgreSQL has only the ledger store in this version: `giftstream migrate` and `giftstream reconcile` work on it, `serve` does not yet (docs/postgres.md). Use a SQLite database to serve.",
    ]);
  }
  const store = new SqliteStore({ path: location.path, accountCacheMax: config.ledger.accountCacheMax });
  for (const migration of store.migration.applied) {
    logger.info({ version: migration.version, name: migration.name }, "applied migration");
  }
  const ledger = new Ledger({
    store,
    clock,
    amountMax: config.money.amountMax,
    requestTransfersMax: config.ledger.requestTransfersMax,
    batchTransfersMax: config.ledger.batchTransfersMax,
    batchWaitMs: config.ledger.batchWaitMs,
    queueRequestsMax: config.ledger.queueRequestsMax,
    historyPageMax: config.ledger.historyPageMax,
    pipelineBatchesMax: config.ledger.pipelineBatchesMax,
    onInvariantViolation: (error) =>
      logger.fatal({ err: error }, "ledger invariant violated; batch rolled back"),
  });
  return {
    config,
    store,
    ledger,
    async close() {
      await ledger.close();
      await store.close();
    },
  };
}
