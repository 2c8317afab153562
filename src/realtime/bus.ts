/**
 * A notice that a stream has new gifts. It carries no state the feed relies on: a subscriber reads
 * the durable gift rows after its cursor, so a notice that is late, repeated or lost (as one sent
 * through Redis or NATS may be) costs latency, never a gift.
 */
export interface LiveNotice {
  type: "gift";
  giftId: string;
}

export type LiveListener = (notice: LiveNotice) => void;

/** Fans notices out to the processes following a stream. */
export interface EventBus {
  publish(streamId: string, notice: LiveNotice): void;
  /** Returns the function that unsubscribes this listener. */
  subscribe(streamId: string, listener: LiveListener): () => void;
}

/**
 * The embedded bus: listeners in this process only, called synchronously by `publish`. A listener
 * that throws is reported and skipped, so a publisher (the gift hot path) never sees its failure.
 */
export class InProcessBus implements EventBus {
  private readonly listeners = new Map<string, Set<LiveListener>>();

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  publish(streamId: string, notice: LiveNotice): void {
    const listeners = this.listeners.get(streamId);
    if (listeners === undefined) return;
    for (const listener of listeners) {
      try {
        listener(notice);
      } catch (error) {
        this.onListenerError(error);
      }
    }
  }

  subscribe(streamId: string, listener: LiveListener): () => void {
    let listeners = this.listeners.get(streamId);
    if (listeners === undefined) {
      listeners = new Set();
      this.listeners.set(streamId, listeners);
    }
    // A listener function may subscribe twice; each subscription gets its own entry.
    const entry: LiveListener = (notice) => listener(notice);
    listeners.add(entry);
    return () => {
      listeners.delete(entry);
      if (listeners.size === 0 && this.listeners.get(streamId) === listeners) this.listeners.delete(streamId);
    };
  }

  /** Streams with at least one listener, for tests and metrics. */
  get streamCount(): number {
    return this.listeners.size;
  }
}
