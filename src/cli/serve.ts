import type { Logger } from "pino";
import { buildApp, type GiftstreamApp } from "../api/index.js";
import type { Config } from "../config/index.js";
import { startJobs } from "./jobs.js";
import { openRuntime, type Runtime } from "./runtime.js";

export interface Server {
  app: GiftstreamApp;
  runtime: Runtime;
  /** The address it listens on, e.g. http://127.0.0.1:8080. */
  url: string;
  /** Stops accepting, lets requests in flight finish, commits queued batches, then closes the database. */
  close(): Promise<void>;
}

/** The composition root: wires the store, the ledger, the jobs and the HTTP API, and listens. */
export async function startServer(config: Config, logger: Logger): Promise<Server> {
  const runtime = openRuntime(config, logger);
  const jobs = startJobs(runtime, logger);
  const app = await buildApp({
    config,
    logger,
    checks: {
      async health() {
        // A read through the store proves the database answers.
        await runtime.store.getAccounts(["healthz"]);
        return { ok: true };
      },
    },
  });
  let closing: Promise<void> | null = null;
  const close = (): Promise<void> => {
    closing ??= (async () => {
      await app.close();
      await jobs.stop();
      await runtime.close();
    })();
    return closing;
  };
  try {
    const url = await app.listen({ host: config.server.host, port: config.server.port });
    return { app, runtime, url, close };
  } catch (error) {
    await close();
    throw error;
  }
}
