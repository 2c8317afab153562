#!/usr/bin/env -S node --max-semi-space-size=64
import { parseArgs } from "node:util";
import { pino } from "pino";
import { ConfigError, loadConfig } from "../config/index.js";
import { reconcile } from "../ledger/index.js";
import { openRuntime } from "./runtime.js";
import { startServer } from "./serve.js";

const usage = `Usage: giftstream <command>

Commands:
  serve       serve the HTTP API (the default for npm start)
  migrate     bring the database schema up to date, then exit
  reconcile   check every account against its entries and every unit sums to zero;
              exits 1 if anything is off

Configuration comes from GIFTSTREAM_CONFIG (a JSON or YAML file) and the environment
(PORT, GIFTSTREAM_DATA_DIR, DATABASE_URL, GIFTSTREAM_API_KEY, LOG_LEVEL); see docs/configuration.md.`;

async function main(argv: string[]): Promise<number> {
  const { positionals, values } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: { help: { type: "boolean", short: "h" } },
  });
  const command = positionals[0];
  if (values.help || command === undefined || command === "help") {
    console.log(usage);
    return command === undefined && !values.help ? 2 : 0;
  }
  if (positionals.length > 1) {
    console.error(`unexpected argument ${positionals[1]}\n\n${usage}`);
    return 2;
  }
  const config = loadConfig();
  const logger = pino({ level: config.log.level });
  switch (command) {
    case "serve":
      return serve(config, logger);
    case "migrate": {
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
