import { afterEach, describe, expect, it } from "vitest";
import type { RateLimitStore } from "./store.js";

export type Count = { current: number; ttl: number };

/** `incr` as a promise. */
export function incr(store: RateLimitStore, key: string, windowMs: number): Promise<Count> {
  return new Promise((resolve, reject) => {
    store.incr(key, (error, result) => (error ? reject(error) : resolve(result!)), windowMs, 0);
  });
}

/** `read` as a promise. */
export function read(store: RateLimitStore, key: string): Promise<Count> {
  return new Promise((resolve, reject) => {
    store.read(key, (error, result) => (error ? reject(error) : resolve(result!)));
  });
}

export const costs = (entries: [string, number][]): Map<string, number> => new Map(entries);

/** A window short enough to wait out in a test, long enough to outlast a few commands. */
const shortWindowMs = 200;
/** A window no test outlasts. */
const longWindowMs = 60_000;

/**
 * The behaviours every rate-limit store shares, on the real clock: windows that end are waited
 * out with `expect.poll` on `read`, and time is only ever compared with bounds, never measured.
 * `open` gives a store whose keys no other test sees.
 */
export function describeRateLimitStore(name: string, open: () => Promise<RateLimitStore>): void {
  describe(`${name}: rate-limit store behaviours`, () => {
    const opened: RateLimitStore[] = [];
    const fresh = async () => {
      const store = await open();
      opened.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(opened.splice(0).map((store) => store.close?.()));
    });

    it("counts in fixed windows that reset when they end", async () => {
      const store = await fresh();
      expect(await incr(store, "k", shortWindowMs)).toEqual({ current: 1, ttl: shortWindowMs });
      const second = await incr(store, "k", shortWindowMs);
      expect(second.current).toBe(2);
      expect(second.ttl).toBeGreaterThan(0);
      expect(second.ttl).toBeLessThanOrEqual(shortWindowMs);
      expect(await incr(store, "other", shortWindowMs)).toEqual({ current: 1, ttl: shortWindowMs });
      await expect.poll(async () => (await read(store, "k")).current).toBe(0);
      expect(await incr(store, "k", shortWindowMs)).toEqual({ current: 1, ttl: shortWindowMs });
    });

    it("keeps the window of the first count: later counts do not extend it", async () => {
      const store = await fresh();
      await incr(store, "k", shortWindowMs);
      // Counting on, with a longer window asked, must not push the end out.
      const later = await incr(store, "k", longWindowMs);
      expect(later.current).toBe(2);
      expect(later.ttl).toBeLessThanOrEqual(shortWindowMs);
    });

    it("reads without counting", async () => {
      const store = await fresh();
      expect(await read(store, "k")).toEqual({ current: 0, ttl: 0 });
      await incr(store, "k", shortWindowMs);
      const first = await read(store, "k");
      const again = await read(store, "k");
      expect(first.current).toBe(1);
      expect(again.current).toBe(1);
      expect(first.ttl).toBeGreaterThan(0);
      expect(again.ttl).toBeLessThanOrEqual(first.ttl);
      await expect.poll(() => read(store, "k")).toEqual({ current: 0, ttl: 0 });
    });

    it("takes costs all or nothing, and says when the fullest window resets", async () => {
      const store = await fresh();
      expect(
        await store.take(
          costs([
            ["a", 2],
            ["b", 1],
          ]),
          3,
          longWindowMs,
        ),
      ).toEqual({ allowed: true });
      // b fits, a does not: neither is counted.
      const refused = await store.take(
        costs([
          ["b", 1],
          ["a", 2],
        ]),
        3,
        longWindowMs,
      );
      expect(refused.allowed).toBe(false);
      if (!refused.allowed) {
        expect(refused.retryAfterMs).toBeGreaterThan(0);
        expect(refused.retryAfterMs).toBeLessThanOrEqual(longWindowMs);
      }
      expect((await read(store, "a")).current).toBe(2);
      expect((await read(store, "b")).current).toBe(1);
      expect(
        await store.take(
          costs([
            ["a", 1],
            ["b", 2],
          ]),
          3,
          longWindowMs,
        ),
      ).toEqual({ allowed: true });
      expect((await store.take(costs([["b", 1]]), 3, longWindowMs)).allowed).toBe(false);
      expect((await read(store, "a")).current).toBe(3);
      expect((await read(store, "b")).current).toBe(3);
      // More than a whole window allows: never, so a full window is the honest wait.
      expect(await store.take(costs([["c", 4]]), 3, longWindowMs)).toEqual({
        allowed: false,
        retryAfterMs: longWindowMs,
      });
      expect(await read(store, "c")).toEqual({ current: 0, ttl: 0 });
    });

    it("answers the longest wait among the keys that are full", async () => {
      const store = await fresh();
      await store.take(costs([["long", 3]]), 3, longWindowMs);
      await store.take(costs([["short", 3]]), 3, shortWindowMs);
      const refused = await store.take(
        costs([
          ["short", 1],
          ["long", 1],
          ["free", 1],
        ]),
        3,
        shortWindowMs,
      );
      expect(refused.allowed).toBe(false);
      if (!refused.allowed) expect(refused.retryAfterMs).toBeGreaterThan(shortWindowMs);
      expect(await read(store, "free")).toEqual({ current: 0, ttl: 0 });
    });

    it("takes again once the windows have ended", async () => {
      const store = await fresh();
      const both = costs([
        ["a", 3],
        ["b", 3],
      ]);
      expect(await store.take(both, 3, shortWindowMs)).toEqual({ allowed: true });
      expect((await store.take(both, 3, shortWindowMs)).allowed).toBe(false);
      await expect
        .poll(async () => (await read(store, "a")).current + (await read(store, "b")).current)
        .toBe(0);
      expect(await store.take(both, 3, shortWindowMs)).toEqual({ allowed: true });
      const a = await read(store, "a");
      expect(a.current).toBe(3);
      expect(a.ttl).toBeLessThanOrEqual(shortWindowMs);
    });

    it("shares one window between incr and take on the same key", async () => {
      const store = await fresh();
      await incr(store, "k", longWindowMs);
      await incr(store, "k", longWindowMs);
      expect((await store.take(costs([["k", 2]]), 3, longWindowMs)).allowed).toBe(false);
      expect(await store.take(costs([["k", 1]]), 3, longWindowMs)).toEqual({ allowed: true });
      expect((await incr(store, "k", longWindowMs)).current).toBe(4);
    });

    it("lets exactly max / cost of 50 concurrent takes through", async () => {
      const store = await fresh();
      const max = 20;
      const cost = 2;
      const verdicts = await Promise.all(
        Array.from({ length: 50 }, (_, i) =>
          store.take(
            costs([
              ["shared", cost],
              [`own${i}`, 1],
            ]),
            max,
            longWindowMs,
          ),
        ),
      );
      const allowed = verdicts.flatMap((v, i) => (v.allowed ? [i] : []));
      expect(allowed).toHaveLength(max / cost);
      expect((await read(store, "shared")).current).toBe(max);
      // All or nothing: only the takes that passed counted their own key.
      for (let i = 0; i < 50; i++) {
        expect((await read(store, `own${i}`)).current).toBe(allowed.includes(i) ? 1 : 0);
      }
    });

    it("is its own child: every route counts in one store", async () => {
      const store = await fresh();
      expect(store.child({} as never)).toBe(store);
    });
  });
}
