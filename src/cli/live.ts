import type { Logger } from "pino";
import type { GiftReceipt } from "../economy/gifts/gifts.js";
import type { Users } from "../economy/users/users.js";
import { type EventBus, InProcessBus } from "../realtime/bus.js";
import { LiveFeed } from "../realtime/feed.js";
import { giftNotices } from "../realtime/gift-notices.js";
import { Leaderboards } from "../realtime/leaderboards.js";
import { SqliteLeaderboardStore } from "../store/sqlite/leaderboard-store.js";
import { SqliteLiveStore } from "../store/sqlite/live-store.js";
import type { Runtime } from "./runtime.js";

export interface Live {
  bus: EventBus;
  feed: LiveFeed;
  leaderboards: Leaderboards;
  /** The gift service's `onSent` hook. */
  onSent: (receipt: GiftReceipt) => void;
}

/** Live rooms on the runtime's store: the in-process bus, the SSE feed and the leaderboards. */
export function openLive(o: { runtime: Runtime; users: Users; clock: () => number; logger: Logger }): Live {
  const config = o.runtime.config.live;
  const report = (what: string) => (error: unknown) => o.logger.error({ err: error }, what);
  const bus = new InProcessBus(report("live bus listener failed"));
  const feed = new LiveFeed({
    store: new SqliteLiveStore(o.runtime.store),
    bus,
    rules: { windowMs: config.streakWindowMs, periodMs: config.streakPeriodMs },
    replayEventsMax: config.replayEventsMax,
    subscribersMax: config.subscribersMax,
    subscribersPerStreamMax: config.subscribersPerStreamMax,
    pollIntervalMs: config.pollIntervalMs,
    onError: report("live feed failed"),
  });
  const leaderboards = new Leaderboards({
    store: new SqliteLeaderboardStore(o.runtime.store),
    userExists: (userId) => o.users.get(userId),
    clock: o.clock,
    sizeMax: config.leaderboardSizeMax,
  });
  return { bus, feed, leaderboards, onSent: giftNotices(bus, report("live gift notice failed")) };
}
