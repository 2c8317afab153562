import cluster, { type Worker } from "node:cluster";
import type { Logger } from "pino";
import { type Config, ConfigError, databaseLocation } from "../config/index.js";
import { composeApp } from "./serve.js";

/** A worker that lived this long before dying is restarted at once; sooner, after a backoff. */
const healthyUptimeMs = 5_000;
const restartBackoffMs = { first: 1_000, max: 30_000 };

/**
 * `serve --workers N`: N server processes on one port (node:cluster hands each connection to one
 * of them), sharing one PostgreSQL database. Stateless by construction: every process reads and
 * writes through the database, and tells the others of cache changes through the bus.
 *
 * The primary serves nothing. It first composes the service once and closes it, so that
 * migrations, the first admin key and the first economy version are made by one process rather
 * than raced by N; then it forks the workers, restarts one that crashes (after a backoff, doubling
 * up to 30 s, while they keep dying young: a database that is down for a while must not end the
 * service), and passes SIGTERM and SIGINT on, waiting for every worker to finish its requests.
 */
export async function serveWorkers(config: Config, logger: Logger, workers: number): Promise<number> {
  if (databaseLocation(config).kind !== "postgres") {
    throw new ConfigError([
      `server.workers: ${workers} processes need a shared database: set DATABASE_URL to a postgres:// URL (SQLite has one writer process)`,
    ]);
  }
  const prepared = await composeApp(config, logger);
  await prepared.close();
  const startedAt = new Map<Worker, number>();
  let stopping = false;
  const fork = () => startedAt.set(cluster.fork(), Date.now());
  for (let i = 0; i < workers; i++) fork();
  return new Promise<number>((resolve) => {
    let backoffMs = restartBackoffMs.first;
    const pending = new Set<NodeJS.Timeout>();
    // A worker that did not stop cleanly (its shutdown timed out, say) makes the whole exit 1.
    let unclean = false;
    cluster.on("exit", (worker, code, signal) => {
      const uptimeMs = Date.now() - (startedAt.get(worker) ?? 0);
      startedAt.delete(worker);
      if (!stopping) {
        logger.error({ pid: worker.process.pid, code, signal }, "worker exited");
        if (uptimeMs >= healthyUptimeMs) {
          backoffMs = restartBackoffMs.first;
          fork();
        } else {
          logger.warn({ inMs: backoffMs }, "worker died young; restarting after a backoff");
          const timer = setTimeout(() => {
            pending.delete(timer);
            if (!stopping) fork();
          }, backoffMs);
          pending.add(timer);
          backoffMs = Math.min(backoffMs * 2, restartBackoffMs.max);
        }
      }
      if (stopping && code !== 0) unclean = true;
      if (stopping && startedAt.size === 0) resolve(unclean ? 1 : 0);
    });
    const stop = (signal: NodeJS.Signals) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, "stopping workers");
      for (const timer of pending) clearTimeout(timer);
      if (startedAt.size === 0) resolve(0);
      for (const worker of startedAt.keys()) worker.process.kill(signal);
    };
    // Every signal, not only the first: Ctrl-C and systemd signal the whole process group, and
    // the primary of `--workers` forwards the signal to its workers too. With `once`, a worker's
    // second one found no handler and its default action killed the worker mid-drain. `stop`
    // acts on the first only.
    process.on("SIGINT", stop);
    process.on("SIGTERM", stop);
  });
}

/** Whether this process is a worker `serveWorkers` forked: it serves like a single process. */
export function isWorker(): boolean {
  return cluster.isWorker;
}
