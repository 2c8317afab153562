import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import type { LiveNotice, OpenBus } from "../realtime/bus.js";
import { openBus } from "../realtime/open-bus.js";
import type { ChangeNotice } from "./shared-state.js";

export interface Fanout {
  /** Gift notices for the live rooms. */
  live: OpenBus<LiveNotice>;
  /** Change notices for caches and the test clock (shared-state.ts). */
  changes: OpenBus<ChangeNotice>;
  close(): Promise<void>;
}

/**
 * The buses between processes: Redis when `fanout.redisUrl` is set, else NATS when
 * `fanout.natsUrl` is, else this process only. Startup waits until they are connected, so a
 * wrong URL stops the start instead of leaving a process that hears nobody.
 */
export async function openFanout(config: Config, logger: Logger): Promise<Fanout> {
  const { redisUrl, natsUrl } = config.fanout;
  // Redis channels are free text; NATS subjects are dot-separated tokens.
  const prefix = (name: string) => (redisUrl ? `gs:${name}:` : `gs.${name}.`);
  const report = (what: string) => (error: unknown) => logger.error({ err: error }, what);
  const common = { ...(redisUrl ? { redisUrl } : {}), ...(natsUrl ? { natsUrl } : {}) };
  const live = openBus<LiveNotice>({ ...common, prefix: prefix("live"), onError: report("live bus failed") });
  const changes = openBus<ChangeNotice>({
    ...common,
    prefix: prefix("changes"),
    onError: report("change bus failed"),
  });
  const close = async () => {
    await Promise.allSettled([live.close(), changes.close()]);
  };
  try {
    await Promise.all([live.ready(), changes.ready()]);
  } catch (error) {
    await close();
    throw error;
  }
  return { live, changes, close };
}
