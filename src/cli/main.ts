#!/usr/bin/env -S node --max-semi-space-size=64
import { parseArgs } from "node:util";
import { pino } from "pino";
import { reconciliationView } from "../api/routes/payout-reconciliation.js";
import { ConfigError, loadConfig } from "../config/index.js";
import { reconcilePayouts } from "../economy/cashouts/payout-reconciler.js";
import { reconcile } from "../ledger/index.js";
import { SqlCashoutStore } from "../store/sql/cashout-store.js";
import { SqlGiftStore } from "../store/sql/gift-store.js";
import { SqliteStore } from "../store/sqlite/sqlite-store.js";
import { openPayoutRails } from "./cashouts.js";
import { resealCommand } from "./reseal.js";
import { openRuntime, openStore } from "./runtime.js";
import { startServer } from "./serve.js";
import { exportCommand } from "./transfer/export.js";
import { importCommand } from "./transfer/import.js";
import { TransferError } from "./transfer/transfer-error.js";
import { isWorker, serveWorkers } from "./workers.js";

const usage = `Usage: giftstream <command>

Commands:
  serve [--workers N]
              serve the HTTP API (the default for npm start); N processes on one port
              need a PostgreSQL DATABASE_URL (default: server.workers, 1)
  migrate     bring the database schema up to date (SQLite or PostgreSQL), then exit
  reconcile   check every account against its entries and every unit sums to zero;
              exits 1 if anything is off
  reconcile payouts [--since <ISO date-time>]
              compare every cash-out handed to a payout rail with the rail's records;
              exits 1 on any difference
  export <file>
              write every table of the database to a new gzipped dump (stop the server
              first); see docs/export-import.md
  import <file>
              load a dump into a freshly migrated, empty database, then check that the
              ledgers are identical; exits 1 if anything differs
  reseal      seal every encrypted value again under the current encryption key, after a
              rotation; safe while servers run; exits 1 if any value could not be opened
              (see docs/kyc.md, Rotating the key)

Configuration comes from GIFTSTREAM_CONFIG (a JSON or YAML file) and the environment
(PORT, GIFTSTREAM_DATA_DIR, DATABASE_URL, REDIS_URL, NATS_URL, GIFTSTREAM_API_KEY, LOG_LEVEL,
GIFTSTREAM_SECRET_KEY, GIFTSTREAM_SECRET_KEY_PREVIOUS);
see docs/configuration.md.`;

/** The command being run, as parsed, for messages about a failure that ends it. */
let running = "giftstream";

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      help: { type: "boolean", short: "h" },
      since: { type: "string" },
      workers: { type: "string" },
    },
  });
  const command = positionals[0];
  running = command ?? running;
  if (values.help || command === undefined || command === "help") {
    console.log(usage);
    return command === undefined && !values.help ? 2 : 0;
  }
  const payouts = command === "reconcile" && positionals[1] === "payouts";
  const takesFile = command === "export" || command === "import";
  if (takesFile && positionals[1] === undefined) {
    console.error(`${command} takes a file\n\n${usage}`);
    return 2;
  }
  const extra = positionals[payouts || takesFile ? 2 : 1];
  if (extra !== undefined) {
    console.error(`unexpected argument ${extra}\n\n${usage}`);
    return 2;
  }
  if (values.since !== undefined && (!payouts || Number.isNaN(Date.parse(values.since)))) {
    console.error(`--since takes an ISO date-time, for reconcile payouts only\n\n${usage}`);
    return 2;
  }
  const config = loadConfig();
  const logger = pino({ level: config.log.level });
  switch (command) {
    case "serve": {
      const workers = values.workers === undefined ? config.server.workers : Number(values.workers);
      if (!Number.isSafeInteger(workers) || workers < 1 || workers > 64) {
        console.error(`--workers takes an integer from 1 to 64\n\n${usage}`);
        return 2;
      }
      return workers > 1 && !isWorker() ? serveWorkers(config, logger, workers) : serve(config, logger);
    }
    case "migrate": {
      // Opening the store brings its schema up to date, on either database.
      const store = await openStore(config);
      const { applied, version } = store.migration;
      const where = store.dialect === "postgres" ? " (PostgreSQL)" : "";
      console.log(
        applied.length === 0
          ? `schema is up to date at version ${version}${where}`
          : `migrated to version ${version}${where}`,
      );
      await store.close();
      return 0;
    }
    case "reconcile": {
      if (payouts) return reconcilePayoutsCommand(config, logger, values.since);
      const store = await openStore(config);
      try {
        // SQLite's own page check; PostgreSQL checks its pages itself.
        const integrity = store instanceof SqliteStore ? store.integrityCheck() : null;
        const report = await reconcile(store);
        const lots = await new SqlGiftStore(store).pendingMismatches(100);
        if (integrity) console.log(`integrity_check: ${integrity.join("; ")}`);
        console.log(`accounts checked: ${report.accounts}`);
        for (const [unit, totals] of Object.entries(report.units)) {
          console.log(`unit ${unit}: posted sums to ${totals.posted}, pending sums to ${totals.pending}`);
        }
        for (const problem of report.problems) console.log(`PROBLEM ${problem}`);
        for (const m of lots) {
          console.log(
            `PROBLEM account ${m.accountId} holds ${m.balance} but its pending gift lots hold ${m.lots}`,
          );
        }
        const ok =
          report.ok &&
          lots.length === 0 &&
          (integrity === null || (integrity.length === 1 && integrity[0] === "ok"));
        console.log(ok ? "reconcile: ok" : "reconcile: FAILED");
        return ok ? 0 : 1;
      } finally {
        await store.close();
      }
    }
    case "export":
      return exportCommand(config, positionals[1]!);
    case "import":
      return importCommand(config, positionals[1]!);
    case "reseal":
      return resealCommand(config);
    default:
      console.error(`unknown command ${command}\n\n${usage}`);
      return 2;
  }
}

/** `giftstream reconcile payouts`: every difference on its own line, then ok or FAILED. */
async function reconcilePayoutsCommand(
  config: ReturnType<typeof loadConfig>,
  logger: pino.Logger,
  since: string | undefined,
): Promise<number> {
  const runtime = await openRuntime(config, logger);
  try {
    const sinceMs =
      since === undefined ? Date.now() - config.payouts.reconcileWindowDays * 86_400_000 : Date.parse(since);
    const report = reconciliationView(
      await reconcilePayouts({
        store: new SqlCashoutStore(runtime.store),
        rails: openPayoutRails({ runtime, clock: Date.now, logger }),
        sinceMs,
        cashoutsMax: config.payouts.reconcileCashoutsMax,
      }),
    );
    console.log(`since: ${report.since}`);
    console.log(
      `cash-outs checked: ${report.cashoutsChecked}, rail records checked: ${report.railRecordsChecked}`,
    );
    for (const d of report.differences) {
      const side = (s: { status: string; currency: string; net: string } | null) =>
        s === null ? "none" : `${s.status} ${s.net} ${s.currency}`;
      console.log(
        `DIFFERENCE ${d.kind} rail=${d.rail}${d.cashoutId === null ? "" : ` cashout=${d.cashoutId}`} ours=${side(d.ours)} rail=${side(d.atRail)}: ${d.detail}`,
      );
    }
    console.log(report.ok ? "reconcile payouts: ok" : "reconcile payouts: FAILED");
    return report.ok ? 0 : 1;
  } finally {
    await runtime.close();
  }
}

async function serve(config: ReturnType<typeof loadConfig>, logger: pino.Logger): Promise<number> {
  const server = await startServer(config, logger);
  logger.info({ url: server.url }, "giftstream serving");
  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "shutting down: finishing requests and batches in flight");
      const deadline = setTimeout(() => {
        logger.error("shutdown took longer than server.shutdownTimeoutMs; exiting");
        resolve(1);
      }, config.server.shutdownTimeoutMs);
      deadline.unref();
      server.close().then(
        () => {
          clearTimeout(deadline);
          logger.info("stopped");
          resolve(0);
        },
        (error: unknown) => {
          logger.error({ err: error }, "shutdown failed");
          resolve(1);
        },
      );
    };
    // Every signal, not only the first: Ctrl-C and systemd signal the whole process group, and
    // the primary of `--workers` forwards the signal to its workers too. With `once`, a worker's
    // second one found no handler and its default action killed the worker mid-drain. `stop`
    // acts on the first only.
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    // A database the operator must act on (an import that did not finish): said, not a stack.
    if (error instanceof TransferError) {
      console.error(`${running}: ${error.message}`);
      process.exit(1);
    }
    console.error(error);
    process.exit(1);
  },
);
