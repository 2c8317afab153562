import type { Logger } from "pino";
import { type Config, databaseLocation } from "../config/index.js";
import { Ledger } from "../ledger/index.js";
import type { LedgerStore } from "../ledger/store.js";
import { PostgresLedgerStore } from "../store/postgres/postgres-ledger-store.js";
import type { SqlDb } from "../store/sql/sql-db.js";
import { SqliteStore } from "../store/sqlite/sqlite-store.js";
import { refuseUnfinishedImport } from "./transfer/unfinished-import.js";

/** The database under everything: the ledger's store and the SQL the domain stores run. */
export type RuntimeStore = (SqliteStore | PostgresLedgerStore) & LedgerStore & SqlDb;

/** The wired core: a store and the ledger on it. Every command that touches data opens one. */
export interface Runtime {
  config: Config;
  store: RuntimeStore;
  ledger: Ledger;
  /** Stops taking writes, answers everything queued, and closes the database. */
  close(): Promise<void>;
}

/**
 * Callers of a durable batch answered per turn of the event loop, when the configuration leaves it
 * to the store (0). On PostgreSQL a batch is a dozen round trips driven from this thread, and
 * slices let the next batch's replies in between; on SQLite the batch runs on the writer thread
 * and slices only cost the main thread, so a batch is answered whole (docs/benchmarks.md).
 */
export function answerSliceRequests(
  configured: number,
  dialect: RuntimeStore["dialect"],
): number | undefined {
  if (configured > 0) return configured;
  return dialect === "postgres" ? postgresAnswerSliceRequests : undefined;
}

const postgresAnswerSliceRequests = 16;

/**
 * Past this many waiting requests a SQLite batch takes half of them, so the writer thread commits
 * one half while this thread prepares the other: with 512 callers in flight, all in one batch,
 * the two threads took turns (about 10,700 gifts/s in-process), and halves overlap them (about
 * 15,000/s; docs/benchmarks.md). PostgreSQL's batches already alternate (its callers are answered
 * in slices), and halving them measured slower there, so it takes whole batches.
 */
export function halveAboveRequests(dialect: RuntimeStore["dialect"]): number | undefined {
  return dialect === "sqlite" ? sqliteHalveAboveRequests : undefined;
}

/**
 * At or below it a batch is taken whole, as before: every half is a commit (an fsync) of its own,
 * and 64 HTTP connections sending one gift each measured the same either way.
 */
const sqliteHalveAboveRequests = 64;

/** Connections a process opens to PostgreSQL for reads and control writes; batches have their own. */
const postgresReadConnections = 8;

/**
 * Opens the configured database (a SQLite file, or PostgreSQL when `databaseUrl` names one),
 * migrated. A database that an import did not finish loading is refused (TransferError), except
 * by the import itself (`unfinishedImport: "allow"`).
 */
export async function openStore(
  config: Config,
  options: { unfinishedImport?: "refuse" | "allow" } = {},
): Promise<RuntimeStore> {
  const store = await openMigrated(config);
  if (options.unfinishedImport === "allow") return store;
  try {
    await refuseUnfinishedImport(store);
  } catch (error) {
    await store.close();
    throw error;
  }
  return store;
}

async function openMigrated(config: Config): Promise<RuntimeStore> {
  const location = databaseLocation(config);
  if (location.kind === "postgres") {
    return PostgresLedgerStore.open({
      url: location.url,
      connectionsMax: postgresReadConnections,
      writeConnectionsMax: config.ledger.pipelineBatchesMax + 1,
      statementTimeoutMs: config.postgres.statementTimeoutMs,
      idleInTransactionTimeoutMs: config.postgres.idleInTransactionTimeoutMs,
    });
  }
  return new SqliteStore({ path: location.path, accountCacheMax: config.ledger.accountCacheMax });
}

export async function openRuntime(
  config: Config,
  logger: Logger,
  clock: () => number = Date.now,
): Promise<Runtime> {
  const store = await openStore(config);
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
    answerSliceRequests: answerSliceRequests(config.ledger.answerSliceRequests, store.dialect),
    halveAboveRequests: halveAboveRequests(store.dialect),
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
