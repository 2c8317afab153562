import type { Logger } from "pino";
import { WebhookDelivery } from "../jobs/webhook-delivery.js";
import { SqlWebhookStore } from "../store/sql/webhook-store.js";
import { WebhookEndpoints } from "../webhooks/endpoints.js";
import { purgePass, purging } from "./drain.js";
import type { Runtime } from "./runtime.js";

export interface Webhooks {
  /** Endpoints and their delivery log; also the filter the economy asks before writing an event. */
  endpoints: WebhookEndpoints;
  delivery: WebhookDelivery;
  /** The delivery job and the hourly purge, for `startJobs`. */
  jobs: [name: string, job: () => Promise<number>, intervalMs: number][];
}

/** Outbound webhooks wired onto the runtime's store: endpoints, the delivery job and its purge. */
export async function openWebhooks(o: {
  runtime: Runtime;
  clock: () => number;
  logger: Logger;
}): Promise<Webhooks> {
  const config = o.runtime.config.webhooks;
  const store = new SqlWebhookStore(o.runtime.store);
  const endpoints = await WebhookEndpoints.open({
    store,
    clock: o.clock,
    endpointsMax: config.endpointsMax,
  });
  const delivery = new WebhookDelivery({ ...config, store, clock: o.clock, logger: o.logger });
  return {
    endpoints,
    delivery,
    jobs: [
      ["deliver-webhooks", () => delivery.deliverDue(), config.pollIntervalMs],
      [
        "purge-webhooks",
        purging((pageRows) => store.purge(o.clock() - config.retentionMs, pageRows)),
        purgePass.intervalMs,
      ],
    ],
  };
}
