import type { Logger } from "pino";
import { purgePass, purging } from "./drain.js";
import type { Runtime } from "./runtime.js";

/**
 * The periodic work: voiding expired holds, purging old idempotency records, and the economy's
 * jobs. Each job runs at most once at a time, in this process and across the processes sharing a
 * database (`Coordination.exclusive`); `stop` waits for a run in progress.
 */
export function startJobs(
  runtime: Runtime,
  logger: Logger,
  extra: readonly [name: string, job: () => Promise<number>, intervalMs?: number][] = [],
): { stop(): Promise<void> } {
  const running = new Set<Promise<unknown>>();
  const every = (name: string, intervalMs: number, job: () => Promise<number>) => {
    let busy = false;
    const timer = setInterval(() => {
      if (busy) return;
      busy = true;
      // One pass at a time across every process on the database: a pass another process is
      // running is skipped here, not run twice.
      const run = runtime.store
        .exclusive(name, job)
        .then((count) => count ?? 0)
        .then((count) => {
          if (count > 0) logger.info({ job: name, count }, "job done");
        })
        .catch((error: unknown) => logger.error({ err: error, job: name }, "job failed"))
        .finally(() => {
          busy = false;
          running.delete(run);
        });
      running.add(run);
    }, intervalMs);
    timer.unref();
    return timer;
  };
  const timers = [
    every("expire-pending", runtime.config.ledger.pendingExpiryIntervalMs, () =>
      runtime.ledger.expirePending(),
    ),
    every(
      "purge-idempotency",
      purgePass.intervalMs,
      purging((pageRows) =>
        runtime.ledger.purgeIdempotency(runtime.config.ledger.idempotencyRetentionMs, pageRows),
      ),
    ),
    // The economy's periodic work (maturing diamonds) runs as often as holds expire, unless it says.
    ...extra.map(([name, job, intervalMs]) =>
      every(name, intervalMs ?? runtime.config.ledger.pendingExpiryIntervalMs, job),
    ),
  ];
  return {
    async stop() {
      for (const timer of timers) clearInterval(timer);
      await Promise.allSettled([...running]);
    },
  };
}
