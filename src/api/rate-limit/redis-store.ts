import { Redis } from "ioredis";
import type { RateLimitStore, TakeVerdict } from "./store.js";

/**
 * One fixed window: INCR, and PEXPIRE only when the key has no expiry yet (it is new). A key left
 * without an expiry, which only a foreign write could do, gets one too rather than counting forever.
 * KEYS[1] the counter; ARGV[1] the window in ms. Returns {count, ms left}.
 */
const incrLua = `
local count = redis.call('INCR', KEYS[1])
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then
  redis.call('PEXPIRE', KEYS[1], ARGV[1])
  ttl = tonumber(ARGV[1])
end
return {count, ttl}
`;

/** KEYS[1] the counter. Returns {count, ms left}, or {0, 0} when no window is open. */
const readLua = `
local count = redis.call('GET', KEYS[1])
if not count then return {0, 0} end
local ttl = redis.call('PTTL', KEYS[1])
if ttl < 0 then return {0, 0} end
return {tonumber(count), ttl}
`;

/**
 * All or nothing across keys, as `MemoryRateLimitStore.take`: if any key's count plus its cost
 * would pass max, nothing is counted and the answer is the longest wait among those keys (a whole
 * window for a key with no open window: its cost alone is over max). Otherwise every cost is added,
 * and new keys get the window.
 * KEYS the counters; ARGV[1] max, ARGV[2] window in ms, ARGV[2 + i] the cost of KEYS[i].
 * Returns {1, 0} when taken, else {0, wait in ms}.
 */
const takeLua = `
local max = tonumber(ARGV[1])
local window = tonumber(ARGV[2])
local wait = 0
for i, key in ipairs(KEYS) do
  local value = redis.call('GET', key)
  local count = 0
  if value then count = tonumber(value) end
  if count + tonumber(ARGV[2 + i]) > max then
    local left = redis.call('PTTL', key)
    if left <= 0 then left = window end
    if left > wait then wait = left end
  end
end
if wait > 0 then return {0, wait} end
for i, key in ipairs(KEYS) do
  redis.call('INCRBY', key, ARGV[2 + i])
  if redis.call('PTTL', key) < 0 then redis.call('PEXPIRE', key, window) end
end
return {1, 0}
`;

interface Scripts {
  gsRateIncr(key: string, windowMs: number): Promise<[number, number]>;
  gsRateRead(key: string): Promise<[number, number]>;
  gsRateTake(...keysThenArgs: (string | number)[]): Promise<[number, number]>;
}

export interface RedisRateLimitStoreOptions {
  /** `redis://…` of the server every process shares. */
  url: string;
  /** Put before every key, so that limits share a server with other data. */
  prefix?: string;
  /** How long one operation may take before it fails (and the request with it). */
  commandTimeoutMs?: number;
  /** Hears connection errors; each caller also gets its own command's failure. */
  onError?: (error: unknown) => void;
}

type Callback = (error: Error | null, result?: { current: number; ttl: number }) => void;

/**
 * Counts in Redis, so that every process of a deployment adds to the same windows. Each operation
 * is one Lua script, so concurrent requests from any process cannot both pass the last free slot.
 * Keys expire with their window: what Redis holds is bounded by the callers seen in one window
 * (its `maxmemory` is the hard bound, where `keysTrackedMax` bounds the memory store). Windows are
 * timed by the Redis server's clock, so the processes' clocks need not agree.
 *
 * The scripts touch several keys at once: that needs one Redis server (or primary), not a cluster.
 */
export class RedisRateLimitStore implements RateLimitStore {
  private readonly redis: Redis & Scripts;
  private readonly prefix: string;

  constructor(o: RedisRateLimitStoreOptions) {
    this.prefix = o.prefix ?? "gs:rl:";
    // A request waits for at most one reconnection attempt, then fails, instead of piling up
    // behind an outage. A command that timed out may still count later: it errs towards refusing.
    const redis = new Redis(o.url, {
      maxRetriesPerRequest: 1,
      commandTimeout: o.commandTimeoutMs ?? 2_000,
      connectionName: "giftstream-rate-limits",
    });
    // Without a listener ioredis would print each failed reconnection attempt itself.
    redis.on("error", o.onError ?? (() => undefined));
    redis.defineCommand("gsRateIncr", { numberOfKeys: 1, lua: incrLua });
    redis.defineCommand("gsRateRead", { numberOfKeys: 1, lua: readLua, readOnly: true });
    redis.defineCommand("gsRateTake", { lua: takeLua });
    this.redis = redis as Redis & Scripts;
  }

  incr(key: string, callback: Callback, windowMs: number): void {
    if (!Number.isSafeInteger(windowMs) || windowMs < 1) {
      callback(new RangeError(`windowMs must be a positive integer, not ${windowMs}`));
      return;
    }
    this.redis.gsRateIncr(this.prefix + key, windowMs).then(
      ([current, ttl]) => callback(null, { current, ttl }),
      (error: Error) => callback(error),
    );
  }

  read(key: string, callback: Callback): void {
    this.redis.gsRateRead(this.prefix + key).then(
      ([current, ttl]) => callback(null, { current, ttl }),
      (error: Error) => callback(error),
    );
  }

  /** One store for every route: keys already say whose count they are. */
  child(): this {
    return this;
  }

  async take(costs: ReadonlyMap<string, number>, max: number, windowMs: number): Promise<TakeVerdict> {
    assertWindow(windowMs);
    if (!Number.isSafeInteger(max) || max < 0) throw new RangeError(`max must be an integer ≥ 0, not ${max}`);
    if (costs.size === 0) return { allowed: true };
    const keys: string[] = [];
    const args: number[] = [max, windowMs];
    for (const [key, cost] of costs) {
      if (!Number.isSafeInteger(cost) || cost < 0)
        throw new RangeError(`A cost must be an integer ≥ 0, not ${cost}`);
      keys.push(this.prefix + key);
      args.push(cost);
    }
    const [allowed, retryAfterMs] = await this.redis.gsRateTake(keys.length, ...keys, ...args);
    return allowed === 1 ? { allowed: true } : { allowed: false, retryAfterMs };
  }

  /** Resolves once connected; for start-up checks and tests. */
  async ready(): Promise<void> {
    await this.redis.ping();
  }

  async close(): Promise<void> {
    if (this.redis.status === "end") return;
    try {
      await this.redis.quit();
    } catch {
      this.redis.disconnect();
    }
  }
}

function assertWindow(windowMs: number): void {
  if (!Number.isSafeInteger(windowMs) || windowMs < 1) {
    throw new RangeError(`windowMs must be a positive integer, not ${windowMs}`);
  }
}
