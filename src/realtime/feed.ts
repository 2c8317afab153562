import { GiftstreamError } from "../errors.js";
import type { EventBus } from "./bus.js";
import type { LiveStore } from "./live-store.js";
import type { StreakRules } from "./streaks.js";
import { type LiveSink, StreamTracker } from "./stream-tracker.js";

export interface LiveFeedOptions {
  store: LiveStore;
  bus: EventBus;
  rules: StreakRules;
  replayEventsMax: number;
  subscribersMax: number;
  subscribersPerStreamMax: number;
  /** How often new gifts are looked for without a notice: the bound on a lost notice's delay. */
  pollIntervalMs: number;
  onError(error: unknown): void;
}

/** A place held for one subscriber, from before its response starts until it ends. */
export interface LiveSubscription {
  /** Resumes after event id `after` (null: from now) and sends every event to `sink` until released. */
  start(after: bigint | null, sink: LiveSink): Promise<void>;
  /** Idempotent. */
  release(): void;
}

interface StreamEntry {
  streamId: string;
  places: number;
  sinks: Set<LiveSink>;
  tracker: StreamTracker | null;
  unsubscribe: (() => void) | null;
}

/** Most gifts read from the store at once; the pump reads again at once while pages come back full. */
const pageGiftsMax = 1000;

/**
 * The live-room feed of this process. One pump reads every live gift committed after its cursor,
 * in commit order, and hands each to the tracker of its stream, if this process follows that
 * stream. The bus only says when to read: the gifts themselves always come from the store.
 */
export class LiveFeed {
  private readonly streams = new Map<string, StreamEntry>();
  private places = 0;
  private closed = false;
  private cursor = 0n;
  private active = false;
  private activating: Promise<void> | null = null;
  private pumping = false;
  private again = false;
  /** Bumped whenever the pump stops, so that a read already in flight is dropped. */
  private generation = 0;
  private timer: NodeJS.Timeout | null = null;

  constructor(private readonly o: LiveFeedOptions) {}

  /** The newest event id now: a Last-Event-ID beyond it was not issued by this store. */
  headSeq(): Promise<bigint> {
    return this.o.store.headSeq();
  }

  get subscriberCount(): number {
    return this.places;
  }

  /** Holds a place for a subscriber of `streamId`, or refuses with 503 when the limits are reached. */
  reserve(streamId: string): LiveSubscription {
    if (this.closed) throw new GiftstreamError("shutting_down", "The live feed is closing.");
    if (this.places >= this.o.subscribersMax) {
      throw new GiftstreamError(
        "too_many_subscribers",
        `This server already serves ${this.o.subscribersMax} live subscribers (live.subscribersMax).`,
      );
    }
    let entry = this.streams.get(streamId);
    if (entry !== undefined && entry.places >= this.o.subscribersPerStreamMax) {
      throw new GiftstreamError(
        "too_many_subscribers",
        `This server already serves ${this.o.subscribersPerStreamMax} subscribers of this stream (live.subscribersPerStreamMax).`,
      );
    }
    if (entry === undefined) {
      entry = { streamId, places: 0, sinks: new Set(), tracker: null, unsubscribe: null };
      this.streams.set(streamId, entry);
    }
    const held = entry;
    held.places++;
    this.places++;
    let released = false;
    let detach: (() => void) | null = null;
    let sinkOf: LiveSink | null = null;
    return {
      start: async (after, sink) => {
        sinkOf = sink;
        held.sinks.add(sink);
        // "From now" is from this request: a gift committed while the stream is being set up is sent.
        const from = after ?? (await this.o.store.headSeq());
        await this.ensurePumping(() => !released);
        if (released || this.closed) return;
        const tracker = this.trackerOf(held);
        await tracker.ready;
        if (released || this.closed) return;
        // It failed since it was ready: this subscriber reconnects, to a fresh one.
        if (tracker.isClosed) return sink.end();
        detach = tracker.attach(sink, from);
      },
      release: () => {
        if (released) return;
        released = true;
        detach?.();
        if (sinkOf !== null) held.sinks.delete(sinkOf);
        if (this.closed) return;
        held.places--;
        this.places--;
        if (held.places === 0) this.drop(held);
      },
    };
  }

  /** A notice came: read what is new. Reads never overlap; notices during one cause one more. */
  kick(): void {
    if (!this.active) return;
    if (this.pumping) {
      this.again = true;
      return;
    }
    void this.pump();
  }

  /** Ends every subscriber's stream and stops reading; later reservations are refused. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.stopPumping();
    for (const entry of this.streams.values()) {
      entry.unsubscribe?.();
      entry.tracker?.close(false);
      for (const sink of [...entry.sinks]) sink.end();
    }
    this.streams.clear();
    this.places = 0;
  }

  private trackerOf(entry: StreamEntry): StreamTracker {
    if (entry.tracker !== null) return entry.tracker;
    const tracker = new StreamTracker(entry.streamId, this.cursor, {
      store: this.o.store,
      rules: this.o.rules,
      replayEventsMax: this.o.replayEventsMax,
      onFailure: (error) => {
        this.o.onError(error);
        // The next subscriber starts a fresh tracker from the store.
        if (entry.tracker === tracker) {
          entry.tracker = null;
          entry.unsubscribe?.();
          entry.unsubscribe = null;
        }
      },
    });
    entry.tracker = tracker;
    entry.unsubscribe = this.o.bus.subscribe(entry.streamId, () => this.kick());
    return tracker;
  }

  private drop(entry: StreamEntry): void {
    entry.unsubscribe?.();
    entry.tracker?.close(true);
    this.streams.delete(entry.streamId);
    if (this.streams.size === 0) this.stopPumping();
  }

  private async ensurePumping(wanted: () => boolean): Promise<void> {
    while (!this.active) {
      // Closing has ended the subscriber already; its `start` has nothing left to do.
      if (this.closed || !wanted()) return;
      this.activating ??= this.activate();
      await this.activating;
    }
  }

  private async activate(): Promise<void> {
    try {
      // Followed streams start from here; what came before is read per stream, from the store.
      const head = await this.o.store.headSeq();
      if (this.closed) return;
      this.cursor = head;
      this.active = true;
      this.timer = setInterval(() => this.kick(), this.o.pollIntervalMs);
      this.timer.unref();
      // Everyone who wanted it may have left while the head was read.
      if (this.streams.size === 0) this.stopPumping();
    } finally {
      this.activating = null;
    }
  }

  private stopPumping(): void {
    this.generation++;
    this.active = false;
    this.pumping = false;
    this.again = false;
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private async pump(): Promise<void> {
    this.pumping = true;
    const generation = this.generation;
    try {
      do {
        this.again = false;
        const gifts = await this.o.store.liveAfter(this.cursor, pageGiftsMax);
        if (generation !== this.generation) return;
        for (const gift of gifts) {
          this.cursor = gift.seq;
          this.streams.get(gift.streamId)?.tracker?.push(gift);
        }
        if (gifts.length === pageGiftsMax) this.again = true;
      } while (this.again);
    } catch (error) {
      // The cursor did not move: the next notice or poll reads the same gifts again.
      this.o.onError(error);
    } finally {
      if (generation === this.generation) this.pumping = false;
    }
  }
}
