import type { Logger } from "pino";
import type { GiftReceipt } from "../economy/gifts/gifts.js";
import type { Users } from "../economy/users/users.js";
import type { EventBus } from "../realtime/bus.js";
import { LiveFeed } from "../realtime/feed.js";
import { giftNotices } from "../realtime/gift-notices.js";
import { Leaderboards } from "../realtime/leaderboards.js";
import { SqlLeaderboardStore } from "../store/sql/leaderboard-store.js";
import { SqlLiveStore } from "../store/sql/live-store.js";
import type { Runtime } from "./runtime.js";

export interface Live {
  bus: EventBus;
  feed: LiveFeed;
  leaderboards: Leaderboards;
  /** The gift service's `onSent` hook. */
  onSent: (receipt: GiftReceipt) => void;
}

/** Live rooms on the runtime's store: the bus, the SSE feed and the leaderboards. */
export function openLive(o: {
  runtime: Runtime;
  users: Users;
  clock: () => number;
  logger: Logger;
  /** Where gift notices travel: this process only, or Redis/NATS to every process (fanout.ts). */
  bus: EventBus;
}): Live {
  const config = o.runtime.config.live;
  const report = (what: string) => (error: unknown) => o.logger.error({ err: error }, what);
  const bus = o.bus;
  const feed = new LiveFeed({
    store: new SqlLiveStore(o.runtime.store),
    bus,
    rules: { windowMs: config.streakWindowMs, periodMs: config.streakPeriodMs },
    replayEventsMax: config.replayEventsMax,
    subscribersMax: config.subscribersMax,
    subscribersPerStreamMax: config.subscribersPerStreamMax,
    pollIntervalMs: config.pollIntervalMs,
    onError: report("live feed failed"),
  });
  const leaderboards = new Leaderboards({
    store: new SqlLeaderboardStore(o.runtime.store),
    userExists: (userId) => o.users.get(userId),
    clock: o.clock,
    sizeMax: config.leaderboardSizeMax,
  });
  return { bus, feed, leaderboards, onSent: giftNotices(bus, report("live gift notice failed")) };
}
