import { afterEach, describe, expect, it } from "vitest";
import { InProcessBus } from "./bus.js";
import { LiveFeed, type LiveSubscription } from "./feed.js";
import type { LiveGift, LiveStore } from "./live-store.js";
import { giftFrame } from "./sse.js";
import { foldPeriod, StreakBook } from "./streaks.js";
import { type LiveSink, StreamTracker } from "./stream-tracker.js";

const rules = { windowMs: 3000, periodMs: 60_000 };

function prng(seed: number) {
  let s = seed;
  return () => {
    s = (s * 1_103_515_245 + 12_345) % 2 ** 31;
    return s / 2 ** 31;
  };
}

/**
 * The port in memory. Each read takes its snapshot when called and answers a few turns of the
 * event loop later, as a database on another thread or machine would: the races the feed must
 * survive.
 */
class MemoryLiveStore implements LiveStore {
  readonly gifts: LiveGift[] = [];
  private seq = 0n;
  reads = 0;

  constructor(private readonly random: () => number) {}

  commit(gift: Omit<LiveGift, "seq" | "id" | "recipientId" | "coins" | "diamonds">): LiveGift {
    // Other streams' video gifts take ids too.
    this.seq += 1n + BigInt(Math.floor(this.random() * 3));
    const full = {
      ...gift,
      seq: this.seq,
      id: `gft_${this.seq}`,
      recipientId: "creator",
      coins: BigInt(gift.quantity),
      diamonds: BigInt(gift.quantity * 2),
    };
    this.gifts.push(full);
    return full;
  }

  private async later<T>(value: T): Promise<T> {
    this.reads++;
    for (let i = Math.floor(this.random() * 4); i > 0; i--) await new Promise((r) => setImmediate(r));
    return value;
  }

  headSeq() {
    return this.later(this.seq);
  }

  liveAfter(after: bigint, limit: number) {
    return this.later(this.gifts.filter((g) => g.seq > after).slice(0, limit));
  }

  streamLatest(streamId: string, atMost: bigint, limit: number) {
    const mine = this.gifts.filter((g) => g.streamId === streamId && g.seq <= atMost);
    return this.later(mine.slice(Math.max(0, mine.length - limit)));
  }

  periodStreaks(
    streamId: string,
    period: { fromMs: number; toMs: number },
    before: bigint,
    windowMs: number,
  ) {
    const gifts = this.gifts.filter(
      (g) =>
        g.streamId === streamId &&
        g.createdAt >= period.fromMs &&
        g.createdAt < period.toMs &&
        g.seq < before,
    );
    return this.later(foldPeriod(gifts, windowMs));
  }
}

/** Every frame of a stream, rendered from its whole history at once. */
function expectedFrames(store: MemoryLiveStore, streamId: string): { seq: bigint; frame: string }[] {
  const book = new StreakBook(rules, Number.POSITIVE_INFINITY);
  return store.gifts
    .filter((g) => g.streamId === streamId)
    .map((g) => {
      if (!book.has(book.periodOf(g.createdAt))) book.load(book.periodOf(g.createdAt), []);
      return { seq: g.seq, frame: giftFrame(g, book.fold(g)) };
    });
}

class RecordingSink implements LiveSink {
  readonly frames: string[] = [];
  ended = false;
  send(frame: string) {
    expect(this.ended).toBe(false);
    this.frames.push(frame);
  }
  end() {
    this.ended = true;
  }
}

const feeds: LiveFeed[] = [];
afterEach(() => {
  for (const feed of feeds.splice(0)) feed.close();
});

function open(store: LiveStore, options: Partial<ConstructorParameters<typeof LiveFeed>[0]> = {}) {
  const bus = new InProcessBus((e) => {
    throw e;
  });
  const feed = new LiveFeed({
    store,
    bus,
    rules,
    replayEventsMax: 1000,
    subscribersMax: 1000,
    subscribersPerStreamMax: 1000,
    pollIntervalMs: 5,
    onError: (e) => {
      throw e;
    },
    ...options,
  });
  feeds.push(feed);
  return { feed, bus };
}

async function until(done: () => boolean, what: string) {
  const deadline = Date.now() + 10_000;
  while (!done()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 5));
  }
}

describe("LiveFeed", () => {
  for (const seed of [1, 2, 3, 4, 5]) {
    it(`gives every subscriber its stream's events in order, without gaps or repeats, whatever the timing (seed ${seed})`, async () => {
      const random = prng(seed);
      const store = new MemoryLiveStore(random);
      const { feed, bus } = open(store);
      const streams = ["s1", "s2", "s3"];
      const subscribers: {
        streamId: string;
        after: bigint | null;
        sink: RecordingSink;
        subscription: LiveSubscription;
        left: boolean;
        /** The newest id when it asked: one that starts from now gets every gift after it. */
        joinedAt: bigint;
      }[] = [];
      let at = 1_000_000;
      for (let step = 0; step < 300; step++) {
        const roll = random();
        if (roll < 0.6) {
          at += Math.floor(random() * 2500) - 200;
          const gift = store.commit({
            streamId: streams[Math.floor(random() * 3)]!,
            senderId: `v${Math.floor(random() * 3)}`,
            giftId: random() < 0.7 ? "rose" : "lion",
            quantity: 1 + Math.floor(random() * 3),
            createdAt: at,
          });
          // Some notices are lost, as they may be across processes: the poll must make up for them.
          if (random() < 0.7) bus.publish(gift.streamId, { type: "gift", giftId: gift.id });
        } else if (roll < 0.8) {
          const streamId = streams[Math.floor(random() * 3)]!;
          const mine = store.gifts.filter((g) => g.streamId === streamId);
          const after =
            random() < 0.3 || mine.length === 0 ? null : mine[Math.floor(random() * mine.length)]!.seq;
          const sink = new RecordingSink();
          const subscription = feed.reserve(streamId);
          const joinedAt = store.gifts.at(-1)?.seq ?? 0n;
          subscribers.push({ streamId, after, sink, subscription, left: false, joinedAt });
          void subscription.start(after, sink);
        } else if (roll < 0.85 && subscribers.length > 0) {
          const leaving = subscribers[Math.floor(random() * subscribers.length)]!;
          leaving.subscription.release();
          leaving.left = true;
        }
        if (random() < 0.5) await new Promise((r) => setImmediate(r));
      }
      const expected = new Map(streams.map((s) => [s, expectedFrames(store, s)]));
      const staying = subscribers.filter((s) => !s.left);
      const lastSeq = (streamId: string) => expected.get(streamId)!.at(-1)?.seq ?? 0n;
      const caughtUp = (s: (typeof subscribers)[number]) =>
        s.sink.frames.length === 0
          ? // Nothing to send: it resumed at the end, or joined (from now) after the last gift.
            (s.after ?? s.joinedAt) >= lastSeq(s.streamId)
          : s.sink.frames.at(-1) === expected.get(s.streamId)!.at(-1)?.frame;
      await until(() => staying.every(caughtUp), "every subscriber to catch up");
      for (const s of subscribers) {
        const all = expected.get(s.streamId)!;
        const got = s.sink.frames;
        if (got.length === 0) continue;
        const first = all.findIndex((e) => e.frame === got[0]);
        expect(first, "the first frame is one of the stream's").toBeGreaterThanOrEqual(0);
        expect(got).toEqual(all.slice(first, first + got.length).map((e) => e.frame));
        // A resume starts right after its id; one from now, right after the newest gift when it asked.
        const from = s.after ?? s.joinedAt;
        expect(all[first]!.seq > from).toBe(true);
        expect(first === 0 || all[first - 1]!.seq <= from).toBe(true);
        if (!s.left) expect(first + got.length).toBe(all.length);
      }
    });
  }

  it("refuses places past its limits, and frees them on release", () => {
    const { feed } = open(new MemoryLiveStore(prng(1)), { subscribersMax: 3, subscribersPerStreamMax: 2 });
    const a = feed.reserve("s1");
    feed.reserve("s1");
    expect(() => feed.reserve("s1")).toThrow(expect.objectContaining({ code: "too_many_subscribers" }));
    feed.reserve("s2");
    expect(() => feed.reserve("s3")).toThrow(expect.objectContaining({ code: "too_many_subscribers" }));
    a.release();
    a.release();
    expect(feed.subscriberCount).toBe(2);
    feed.reserve("s1");
  });

  it("ends every subscriber on close, and refuses new ones", async () => {
    const store = new MemoryLiveStore(prng(1));
    const { feed } = open(store);
    const sink = new RecordingSink();
    const starting = new RecordingSink();
    await feed.reserve("s1").start(null, sink);
    void feed.reserve("s2").start(null, starting);
    feed.close();
    expect(sink.ended).toBe(true);
    expect(starting.ended).toBe(true);
    expect(() => feed.reserve("s1")).toThrow(expect.objectContaining({ code: "shutting_down" }));
  });

  it("stops reading once nobody follows a stream", async () => {
    const store = new MemoryLiveStore(prng(1));
    const { feed } = open(store);
    const subscription = feed.reserve("s1");
    await subscription.start(null, new RecordingSink());
    await until(() => store.reads > 3, "some polls");
    subscription.release();
    await new Promise((r) => setTimeout(r, 20));
    const reads = store.reads;
    await new Promise((r) => setTimeout(r, 50));
    expect(store.reads).toBe(reads);
  });

  it("ends the subscribers of a stream whose reads fail, and starts afresh for the next one", async () => {
    const store = new MemoryLiveStore(prng(1));
    const errors: unknown[] = [];
    const { feed, bus } = open(store, { onError: (e) => errors.push(e) });
    const failing = { prefill: true, streaks: false };
    const streamLatest = store.streamLatest.bind(store);
    const periodStreaks = store.periodStreaks.bind(store);
    store.streamLatest = async (...args) => {
      if (failing.prefill) throw new Error("disk on fire");
      return streamLatest(...args);
    };
    store.periodStreaks = async (...args) => {
      if (failing.streaks) throw new Error("disk on fire again");
      return periodStreaks(...args);
    };
    const first = new RecordingSink();
    const subscription = feed.reserve("s1");
    await expect(subscription.start(null, first)).rejects.toThrow("disk on fire");
    subscription.release();
    expect(errors).toHaveLength(1);
    failing.prefill = false;
    const second = new RecordingSink();
    const again = feed.reserve("s1");
    await again.start(null, second);
    // A gift in a period not yet loaded needs a read, which fails: its subscribers are ended.
    failing.streaks = true;
    const gift = store.commit({ streamId: "s1", senderId: "v", giftId: "rose", quantity: 1, createdAt: 5 });
    bus.publish("s1", { type: "gift", giftId: gift.id });
    await until(() => second.ended, "the subscriber to be ended");
    expect(errors).toHaveLength(2);
    again.release();
    failing.streaks = false;
    const third = new RecordingSink();
    await feed.reserve("s1").start(gift.seq - 1n, third);
    expect(third.frames).toEqual([expectedFrames(store, "s1")[0]!.frame]);
  });

  it("replays at most replayEventsMax events, after a truncated event", async () => {
    const store = new MemoryLiveStore(prng(1));
    for (let i = 0; i < 5; i++) {
      store.commit({ streamId: "s1", senderId: "v", giftId: "rose", quantity: 1, createdAt: 1000 * i });
    }
    const { feed } = open(store, { replayEventsMax: 2 });
    const sink = new RecordingSink();
    await feed.reserve("s1").start(0n, sink);
    const all = expectedFrames(store, "s1");
    expect(sink.frames[0]).toBe(`event: truncated\ndata: {"after":"0","resumedAfter":"${all[2]!.seq}"}\n\n`);
    expect(sink.frames.slice(1)).toEqual(all.slice(3).map((e) => e.frame));
  });
});

describe("StreamTracker", () => {
  it("renders each gift once: a push at or before the newest one pushed is ignored", async () => {
    const store = new MemoryLiveStore(prng(1));
    const commit = (createdAt: number) =>
      store.commit({ streamId: "s1", senderId: "v", giftId: "rose", quantity: 1, createdAt });
    const known = commit(1000);
    const tracker = new StreamTracker("s1", known.seq, {
      store,
      rules,
      replayEventsMax: 10,
      onFailure: (e) => {
        throw e;
      },
    });
    await tracker.ready;
    const sink = new RecordingSink();
    tracker.attach(sink, known.seq);
    const [first, second] = [commit(2000), commit(3000)];
    // Its starting gift, and the first new one twice, as a read repeated after a lost answer would.
    tracker.push(known);
    tracker.push(first);
    tracker.push(first);
    tracker.push(second);
    const frames = expectedFrames(store, "s1").map((e) => e.frame);
    await until(() => sink.frames.includes(frames[2]!) || sink.frames.length > 2, "the second gift");
    expect(sink.frames).toEqual(frames.slice(1));
    tracker.close(true);
  });
});
