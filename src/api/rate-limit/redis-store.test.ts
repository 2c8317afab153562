import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { requireRedis, testRedisUrl } from "../../realtime/fanout.testkit.js";
import { RedisRateLimitStore } from "./redis-store.js";
import { costs, describeRateLimitStore, incr, read } from "./store.testkit.js";

const available = await requireRedis();

/** A prefix no other test or run shares: every test counts from zero. */
const freshPrefix = () => `gs:test:${randomBytes(6).toString("hex")}:rl:`;

describe.skipIf(!available)("RedisRateLimitStore", () => {
  describeRateLimitStore(
    "redis",
    async () => new RedisRateLimitStore({ url: testRedisUrl, prefix: freshPrefix() }),
  );

  /** Two stores on one prefix, as two server processes would have. */
  async function twoProcesses() {
    const prefix = freshPrefix();
    const one = new RedisRateLimitStore({ url: testRedisUrl, prefix });
    const two = new RedisRateLimitStore({ url: testRedisUrl, prefix });
    await Promise.all([one.ready(), two.ready()]);
    return { one, two, close: () => Promise.all([one.close(), two.close()]) };
  }

  it("shares one count between processes", async () => {
    const { one, two, close } = await twoProcesses();
    try {
      expect((await incr(one, "k", 60_000)).current).toBe(1);
      expect((await incr(two, "k", 60_000)).current).toBe(2);
      expect((await read(one, "k")).current).toBe(2);
      expect(await two.take(costs([["k", 1]]), 3, 60_000)).toEqual({ allowed: true });
      expect((await one.take(costs([["k", 1]]), 3, 60_000)).allowed).toBe(false);
    } finally {
      await close();
    }
  });

  it("lets exactly max / cost of 50 concurrent takes through, across processes", async () => {
    const { one, two, close } = await twoProcesses();
    try {
      const verdicts = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          (i % 2 === 0 ? one : two).take(
            costs([
              ["sender:a", 3],
              [`sender:b${i % 5}`, 1],
            ]),
            30,
            60_000,
          ),
        ),
      );
      expect(verdicts.filter((v) => v.allowed)).toHaveLength(10);
      expect((await read(one, "sender:a")).current).toBe(30);
      let others = 0;
      for (let i = 0; i < 5; i++) others += (await read(two, `sender:b${i}`)).current;
      expect(others).toBe(10);
    } finally {
      await close();
    }
  });

  it("keeps its keys apart from other prefixes", async () => {
    const a = new RedisRateLimitStore({ url: testRedisUrl, prefix: freshPrefix() });
    const b = new RedisRateLimitStore({ url: testRedisUrl, prefix: freshPrefix() });
    try {
      await incr(a, "k", 60_000);
      expect(await read(b, "k")).toEqual({ current: 0, ttl: 0 });
    } finally {
      await Promise.all([a.close(), b.close()]);
    }
  });

  it("refuses costs and windows that are not counts, and counts nothing", async () => {
    const store = new RedisRateLimitStore({ url: testRedisUrl, prefix: freshPrefix() });
    try {
      for (const bad of [-1, 1.5, Number.NaN, Number.POSITIVE_INFINITY]) {
        await expect(store.take(costs([["k", bad]]), 3, 60_000)).rejects.toThrow(RangeError);
        await expect(store.take(costs([["k", 1]]), 3, bad)).rejects.toThrow(RangeError);
        await expect(incr(store, "k", bad)).rejects.toThrow(RangeError);
      }
      await expect(store.take(costs([["k", 1]]), -1, 60_000)).rejects.toThrow(RangeError);
      expect(await read(store, "k")).toEqual({ current: 0, ttl: 0 });
      expect(await store.take(new Map(), 3, 60_000)).toEqual({ allowed: true });
    } finally {
      await store.close();
    }
  });

  it("fails each operation, rather than hanging, when Redis cannot be reached", async () => {
    const store = new RedisRateLimitStore({ url: "redis://127.0.0.1:1", commandTimeoutMs: 500 });
    try {
      await expect(store.take(costs([["k", 1]]), 3, 60_000)).rejects.toThrow();
      await expect(incr(store, "k", 60_000)).rejects.toThrow();
    } finally {
      await store.close();
    }
  });
});
