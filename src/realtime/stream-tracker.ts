import { invariant } from "../errors.js";
import type { LiveGift, LiveStore } from "./live-store.js";
import { giftFrame, truncatedFrame } from "./sse.js";
import { StreakBook, type StreakRules } from "./streaks.js";

/** Where one subscriber's events go. */
export interface LiveSink {
  send(frame: string): void;
  /** Ends the subscriber's stream; its client resumes with the last id it received. */
  end(): void;
}

export interface StreamTrackerOptions {
  store: LiveStore;
  rules: StreakRules;
  /** Most recent events kept for resuming subscribers; older ones are reported as truncated. */
  replayEventsMax: number;
  /** Called once if the tracker fails; its subscribers have been ended. */
  onFailure(error: unknown): void;
}

interface Attached {
  sink: LiveSink;
  /** The id of the last event this subscriber was sent (or resumed after). */
  lastSeq: bigint;
}

/**
 * One stream as this process follows it. It starts at `startSeq`, from the newest stored events at
 * or before it, then every later gift of the stream must be pushed to it in `seq` order. Each
 * event is rendered once, with its streak, and kept in a ring of the newest `replayEventsMax` for
 * subscribers that resume, so that all of them, first or resumed, see the same frames.
 */
export class StreamTracker {
  readonly ready: Promise<void>;
  private readonly attached = new Set<Attached>();
  private readonly ring: { seq: bigint; frame: string }[] = [];
  /** Every event of the stream with a larger `seq` is in the ring, or still to come. */
  private floor = 0n;
  /** The newest event rendered. */
  private cursor: bigint;
  /** The newest event pushed; `push` ignores anything at or before it. */
  private pushed: bigint;
  private readonly queue: LiveGift[] = [];
  private loaded = false;
  private draining = false;
  private closed = false;
  private readonly streaks: StreakBook;

  constructor(
    readonly streamId: string,
    startSeq: bigint,
    private readonly o: StreamTrackerOptions,
  ) {
    this.cursor = startSeq;
    this.pushed = startSeq;
    this.streaks = new StreakBook(o.rules);
    this.ready = this.prefill(startSeq).then(
      () => {
        this.loaded = true;
        void this.drain();
      },
      (error: unknown) => {
        this.fail(error);
        throw error;
      },
    );
    // Whoever awaits `ready` sees a failure; nobody awaiting it is not an unhandled rejection.
    this.ready.catch(() => undefined);
  }

  get isClosed(): boolean {
    return this.closed;
  }

  /** The next gift of this stream, in `seq` order after every gift pushed before. */
  push(gift: LiveGift): void {
    if (this.closed || gift.seq <= this.pushed) return;
    invariant(gift.streamId === this.streamId, "a tracker is pushed only its own stream's gifts");
    this.pushed = gift.seq;
    this.queue.push(gift);
    void this.drain();
  }

  /**
   * Replays to `sink` the kept events after `after` (all of them, after a `truncated` event, when
   * `after` is older than the oldest kept), then sends it each new event. Synchronous, so that no
   * event falls between the replay and the live ones.
   */
  attach(sink: LiveSink, after: bigint): () => void {
    invariant(this.loaded && !this.closed, "subscribers attach to a ready tracker");
    const subscriber: Attached = { sink, lastSeq: after };
    if (subscriber.lastSeq < this.floor) {
      sink.send(truncatedFrame(subscriber.lastSeq, this.floor));
      subscriber.lastSeq = this.floor;
    }
    for (let i = this.firstAfter(subscriber.lastSeq); i < this.ring.length; i++) {
      const event = this.ring[i]!;
      sink.send(event.frame);
      subscriber.lastSeq = event.seq;
    }
    this.attached.add(subscriber);
    return () => {
      this.attached.delete(subscriber);
    };
  }

  /** Stops; subscribers still attached are ended when `endSubscribers`. */
  close(endSubscribers: boolean): void {
    if (this.closed) return;
    this.closed = true;
    this.queue.length = 0;
    const attached = [...this.attached];
    this.attached.clear();
    if (endSubscribers) for (const subscriber of attached) subscriber.sink.end();
  }

  private async prefill(atMost: bigint): Promise<void> {
    const max = this.o.replayEventsMax;
    let gifts = await this.o.store.streamLatest(this.streamId, atMost, max + 1);
    if (gifts.length > max) {
      // The oldest one read is the newest one not kept: a resume from before it has missed it.
      this.floor = gifts[0]!.seq;
      gifts = gifts.slice(1);
    }
    for (const gift of gifts) await this.render(gift);
  }

  private async drain(): Promise<void> {
    if (!this.loaded || this.draining) return;
    this.draining = true;
    try {
      while (this.queue.length > 0 && !this.closed) await this.render(this.queue.shift()!);
    } catch (error) {
      this.fail(error);
    } finally {
      this.draining = false;
    }
  }

  private async render(gift: LiveGift): Promise<void> {
    const period = this.streaks.periodOf(gift.createdAt);
    if (!this.streaks.has(period)) {
      const { windowMs, periodMs } = this.o.rules;
      const stored = await this.o.store.periodStreaks(
        this.streamId,
        { fromMs: period, toMs: period + periodMs },
        gift.seq,
        windowMs,
      );
      if (this.closed) return;
      this.streaks.load(period, stored);
    }
    const frame = giftFrame(gift, this.streaks.fold(gift));
    this.ring.push({ seq: gift.seq, frame });
    if (this.ring.length > this.o.replayEventsMax) this.floor = this.ring.shift()!.seq;
    if (gift.seq > this.cursor) this.cursor = gift.seq;
    for (const subscriber of this.attached) {
      if (gift.seq <= subscriber.lastSeq) continue;
      subscriber.lastSeq = gift.seq;
      subscriber.sink.send(frame);
    }
  }

  /** Index of the first kept event with a `seq` above `seq`. */
  private firstAfter(seq: bigint): number {
    let low = 0;
    let high = this.ring.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if (this.ring[middle]!.seq <= seq) low = middle + 1;
      else high = middle;
    }
    return low;
  }

  private fail(error: unknown): void {
    if (this.closed) return;
    this.close(true);
    this.o.onFailure(error);
  }
}
