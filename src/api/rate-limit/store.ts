import type { FastifyRateLimitStore, FastifyRateLimitStoreCtor } from "@fastify/rate-limit";
import type { Config } from "../../config/index.js";
import { RedisRateLimitStore } from "./redis-store.js";

export type TakeVerdict = { allowed: true } | { allowed: false; retryAfterMs: number };

/**
 * Counts per caller and per sender in fixed windows. The Fastify plugin drives it through `incr`
 * and `read`; gift limits through `take`. One store serves both, so moving it (to Redis, for
 * several processes) moves every limit at once.
 */
export interface RateLimitStore extends FastifyRateLimitStore {
  /** The key's count and the ms left in its window, without counting; {0, 0} when none is open. */
  read(key: string, callback: (error: Error | null, result?: { current: number; ttl: number }) => void): void;
  /**
   * Adds each cost to its key's window, unless one of them would take its key past `max`: then
   * nothing is counted, and the verdict says when the fullest window resets.
   */
  take(costs: ReadonlyMap<string, number>, max: number, windowMs: number): Promise<TakeVerdict>;
  /** Lets go of the connection of a store that has one; the memory store has none. */
  close?(): Promise<void>;
}

interface Counter {
  count: number;
  resetAt: number;
}

/**
 * In process memory: each process counts on its own, so N processes together allow N times the
 * limits. At most `keysMax` keys are held; past that, expired windows go first, then the oldest.
 */
export class MemoryRateLimitStore implements RateLimitStore {
  private readonly counters = new Map<string, Counter>();

  constructor(
    private readonly keysMax: number,
    private readonly now: () => number = Date.now,
  ) {}

  incr(
    key: string,
    callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
    windowMs: number,
  ): void {
    const now = this.now();
    const counter = this.open(key, windowMs, now);
    counter.count += 1;
    callback(null, { current: counter.count, ttl: counter.resetAt - now });
  }

  read(
    key: string,
    callback: (error: Error | null, result?: { current: number; ttl: number }) => void,
  ): void {
    const now = this.now();
    const counter = this.counters.get(key);
    if (counter === undefined || counter.resetAt <= now) callback(null, { current: 0, ttl: 0 });
    else callback(null, { current: counter.count, ttl: counter.resetAt - now });
  }

  /** One store for every route: keys already say whose count they are. */
  child(): this {
    return this;
  }

  async take(costs: ReadonlyMap<string, number>, max: number, windowMs: number): Promise<TakeVerdict> {
    const now = this.now();
    let retryAfterMs = 0;
    for (const [key, cost] of costs) {
      const counter = this.counters.get(key);
      const live = counter !== undefined && counter.resetAt > now;
      if ((live ? counter.count : 0) + cost > max) {
        retryAfterMs = Math.max(retryAfterMs, live ? counter.resetAt - now : windowMs);
      }
    }
    if (retryAfterMs > 0) return { allowed: false, retryAfterMs };
    for (const [key, cost] of costs) this.open(key, windowMs, now).count += cost;
    return { allowed: true };
  }

  /** Keys currently held, for tests of the bound. */
  get size(): number {
    return this.counters.size;
  }

  private open(key: string, windowMs: number, now: number): Counter {
    let counter = this.counters.get(key);
    if (counter === undefined) {
      if (this.counters.size >= this.keysMax) this.evict(now);
      counter = { count: 0, resetAt: now + windowMs };
      this.counters.set(key, counter);
    } else if (counter.resetAt <= now) {
      counter.count = 0;
      counter.resetAt = now + windowMs;
    }
    return counter;
  }

  /** Frees a tenth of the room at once, so that a full store does not sweep on every new key. */
  private evict(now: number): void {
    for (const [key, counter] of this.counters) if (counter.resetAt <= now) this.counters.delete(key);
    const target = Math.floor(this.keysMax * 0.9);
    for (const key of this.counters.keys()) {
      if (this.counters.size <= target) break;
      this.counters.delete(key);
    }
  }
}

/**
 * The one place that picks where rate limits are counted: in Redis when a URL is given, so that
 * several processes share each limit, else in this process's memory. Close it with its `close`.
 */
export function rateLimitStore(config: Config["rateLimit"], redisUrl?: string): RateLimitStore {
  if (redisUrl) return new RedisRateLimitStore({ url: redisUrl });
  return new MemoryRateLimitStore(config.keysTrackedMax);
}

/** The plugin builds its store with `new`; this hands it ours. */
export function storeConstructor(store: RateLimitStore): FastifyRateLimitStoreCtor {
  return function sharedStore() {
    return store;
  } as unknown as FastifyRateLimitStoreCtor;
}
