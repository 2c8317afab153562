#!/usr/bin/env -S node --max-semi-space-size=64
import { parseArgs } from "node:util";
import { pino } from "pino";
import { reconciliationView } from "../api/routes/payout-reconciliation.js";
import { ConfigError, loadConfig } from "../config/index.js";
import { reconcilePayouts } from "../economy/cashouts/payout-reconciler.js";
import { reconcile } from "../ledger/index.js";
import { SqliteCashoutStore } from "../store/sqlite/cashout-store.js";
import { openPayoutRails } from "./cashouts.js";
import { migratePostgresLedger, postgresUrlOf, reconcilePostgresCommand } from "./postgres-ledger.js";
import { openRuntime } from "./runtime.js";
import { startServer } from "./serve.js";

const usage = `Usage: giftstream <command>

Commands:
  serve       serve the HTTP API (the default for npm start)
  migrate     bring the database schema up to date, then exit (on PostgreSQL: the ledger's
              tables, the only store there yet)
  reconcile   check every account against its entries and every unit sums to zero;
              exits 1 if anything is off
  reconcile payouts [--since <ISO date-time>]
              compare every cash-out handed to a payout rail with the rail's records;
              exits 1 on any difference

Configuration comes from GIFTSTREAM_CONFIG (a JSON or YAML file) and the environment
(PORT, GIFTSTREAM_DATA_DIR, DATABASE_URL, GIFTSTREAM_API_KEY, LOG_LEVEL); see docs/configuration.md.`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: "boolean", short: "h" }, since: { type: "string" } },
  });
  const command = positionals[0];
  if (values.help || command === undefined || command === "help") {
    console.log(usage);
    return command === undefined && !values.help ? 2 : 0;
  }
  const payouts = command === "reconcile" && positionals[1] === "payouts";
  const extra = positionals[payouts ? 2 : 1];
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
    case "serve":
      return serve(config, logger);
    case "migrate": {
      const postgresUrl = postgresUrlOf(config);
      if (postgresUrl !== undefined) {
        console.log(await migratePostgresLedger(postgresUrl));
        return 0;
      }
      const runtime = openRuntime(config, logger);
      const { applied, version } = runtime.store.migration;
      console.log(
        applied.length === 0
          ? `schema is up to date at version ${version}`
          : `migrated to version ${version}`,
      );
      await runtime.close();
      return 0;
    }
    case "reconcile": {
      if (payouts) return reconcilePayoutsCommand(config, logger, values.since);
      const postgresUrl = postgresUrlOf(config);
      if (postgresUrl !== undefined) return reconcilePostgresCommand(postgresUrl);
      const runtime = openRuntime(config, logger);
      try {
        const integrity = runtime.store.integrityCheck();
        const report = await reconcile(runtime.store);
        console.log(`integrity_check: ${integrity.join("; ")}`);
        console.log(`accounts checked: ${report.accounts}`);
        for (const [unit, totals] of Object.entries(report.units)) {
          console.log(`unit ${unit}: posted sums to ${totals.posted}, pending sums to ${totals.pending}`);
        }
        for (const problem of report.problems) console.log(`PROBLEM ${problem}`);
        const ok = report.ok && integrity.length === 1 && integrity[0] === "ok";
        console.log(ok ? "reconcile: ok" : "reconcile: FAILED");
        return ok ? 0 : 1;
      } finally {
        await runtime.close();
      }
    }
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
  const runtime = openRuntime(config, logger);
  try {
    const sinceMs =
      since === undefined ? Date.now() - config.payouts.reconcileWindowDays * 86_400_000 : Date.parse(since);
    const report = reconciliationView(
      await reconcilePayouts({
        store: new SqliteCashoutStore(runtime.store),
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
    process.once("SIGINT", stop);
    process.once("SIGTERM", stop);
  });
}

main(process.argv.slice(2)).then(
  (code) => process.exit(code),
  (error: unknown) => {
    if (error instanceof ConfigError) {
      console.error(error.message);
      process.exit(78); // EX_CONFIG
    }
    console.error(error);
    process.exit(1);
  },
);
