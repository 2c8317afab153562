import { describe, expect, it } from "vitest";
import { MemoryRateLimitStore } from "./store.js";
import { describeRateLimitStore } from "./store.testkit.js";

describeRateLimitStore("memory", async () => new MemoryRateLimitStore(1000));

function counted(store: MemoryRateLimitStore, key: string, windowMs: number) {
  let result: { current: number; ttl: number } | undefined;
  store.incr(
    key,
    (_error, r) => {
      result = r;
    },
    windowMs,
  );
  return result!;
}

describe("MemoryRateLimitStore", () => {
  it("counts in fixed windows that reset when they end", () => {
    let now = 1000;
    const store = new MemoryRateLimitStore(1000, () => now);
    expect(counted(store, "k", 100)).toEqual({ current: 1, ttl: 100 });
    now += 40;
    expect(counted(store, "k", 100)).toEqual({ current: 2, ttl: 60 });
    now += 60;
    expect(counted(store, "k", 100)).toEqual({ current: 1, ttl: 100 });
    expect(counted(store, "other", 100)).toEqual({ current: 1, ttl: 100 });
  });

  it("reads without counting", () => {
    let now = 0;
    const store = new MemoryRateLimitStore(1000, () => now);
    const read = () => {
      let result: unknown;
      store.read("k", (_e, r) => {
        result = r;
      });
      return result;
    };
    expect(read()).toEqual({ current: 0, ttl: 0 });
    counted(store, "k", 100);
    now = 30;
    expect(read()).toEqual({ current: 1, ttl: 70 });
    expect(read()).toEqual({ current: 1, ttl: 70 });
    now = 100;
    expect(read()).toEqual({ current: 0, ttl: 0 });
  });

  it("takes costs all or nothing, and says when the fullest window resets", async () => {
    let now = 0;
    const store = new MemoryRateLimitStore(1000, () => now);
    const costs = (entries: [string, number][]) => new Map(entries);
    expect(
      await store.take(
        costs([
          ["a", 2],
          ["b", 1],
        ]),
        3,
        100,
      ),
    ).toEqual({ allowed: true });
    now = 20;
    // b fits, a does not: neither is counted.
    expect(
      await store.take(
        costs([
          ["b", 1],
          ["a", 2],
        ]),
        3,
        100,
      ),
    ).toEqual({ allowed: false, retryAfterMs: 80 });
    expect(
      await store.take(
        costs([
          ["a", 1],
          ["b", 2],
        ]),
        3,
        100,
      ),
    ).toEqual({ allowed: true });
    expect(await store.take(costs([["b", 1]]), 3, 100)).toEqual({ allowed: false, retryAfterMs: 80 });
    now = 100;
    expect(
      await store.take(
        costs([
          ["a", 3],
          ["b", 3],
        ]),
        3,
        100,
      ),
    ).toEqual({ allowed: true });
    // More than a whole window allows: never, so a full window is the honest wait.
    expect(await store.take(costs([["c", 4]]), 3, 100)).toEqual({ allowed: false, retryAfterMs: 100 });
  });

  it("holds at most keysMax keys, dropping expired windows first, then the oldest", () => {
    let now = 0;
    const store = new MemoryRateLimitStore(1000, () => now);
    for (let i = 0; i < 1000; i++) counted(store, `old${i}`, 10);
    expect(store.size).toBe(1000);
    now = 20;
    // Every `old` window has ended: the sweep frees them all.
    counted(store, "new", 1000);
    expect(store.size).toBe(1);
    for (let i = 0; i < 2000; i++) counted(store, `busy${i}`, 1000);
    expect(store.size).toBeLessThanOrEqual(1000);
    expect(store.size).toBeGreaterThanOrEqual(900);
  });
});
