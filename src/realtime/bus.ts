/**
 * A notice that a stream has new gifts. It carries no state the feed relies on: a subscriber reads
 * the durable gift rows after its cursor, so a notice that is late, repeated or lost (as one sent
 * through Redis or NATS may be) costs latency, never a gift.
 */
export interface LiveNotice {
  type: "gift";
  giftId: string;
}

/** What every bus carries: a tagged object, so a receiver can tell notices apart. */
export type Notice = { type: string };

export type NoticeListener<N extends Notice = LiveNotice> = (notice: N) => void;

export type LiveListener = NoticeListener<LiveNotice>;

/** Fans notices out to the processes following a stream. */
export interface EventBus<N extends Notice = LiveNotice> {
  publish(streamId: string, notice: N): void;
  /** Returns the function that unsubscribes this listener. */
  subscribe(streamId: string, listener: NoticeListener<N>): () => void;
}

/** A bus that holds connections: `ready` resolves once they are up, `close` lets them go. */
export interface OpenBus<N extends Notice = LiveNotice> extends EventBus<N> {
  ready(): Promise<void>;
  close(): Promise<void>;
}

/**
 * The embedded bus: listeners in this process only, called synchronously by `publish`. A listener
 * that throws is reported and skipped, so a publisher (the gift hot path) never sees its failure.
 * The Redis and NATS buses use one to reach their own process's listeners.
 */
export class InProcessBus<N extends Notice = LiveNotice> implements OpenBus<N> {
  private readonly listeners = new Map<string, Set<NoticeListener<N>>>();

  constructor(private readonly onListenerError: (error: unknown) => void) {}

  publish(streamId: string, notice: N): void {
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

  subscribe(streamId: string, listener: NoticeListener<N>): () => void {
    let listeners = this.listeners.get(streamId);
    if (listeners === undefined) {
      listeners = new Set();
      this.listeners.set(streamId, listeners);
    }
    // A listener function may subscribe twice; each subscription gets its own entry.
    const entry: NoticeListener<N> = (notice) => listener(notice);
    listeners.add(entry);
    return () => {
      listeners.delete(entry);
      if (listeners.size === 0 && this.listeners.get(streamId) === listeners) this.listeners.delete(streamId);
    };
  }

  /** Whether the stream has at least one listener here. */
  has(streamId: string): boolean {
    return this.listeners.has(streamId);
  }

  /** The streams with at least one listener. */
  streams(): IterableIterator<string> {
    return this.listeners.keys();
  }

  /** Streams with at least one listener, for tests and metrics. */
  get streamCount(): number {
    return this.listeners.size;
  }

  /** Nothing to connect: present so that every bus `openBus` returns can be used alike. */
  async ready(): Promise<void> {}

  async close(): Promise<void> {}
}

/** A message from another process that is not a notice; it is dropped, and this says why. */
export class MalformedNoticeError extends Error {
  constructor(
    readonly channel: string,
    reason: string,
  ) {
    super(`Dropped a malformed notice on ${channel}: ${reason}`);
    this.name = "MalformedNoticeError";
  }
}

/** A bus asked to follow more streams than its `channelsMax`. */
export class BusChannelsFullError extends Error {
  constructor(readonly channelsMax: number) {
    super(`The bus already follows ${channelsMax} streams (channelsMax); unsubscribe some first`);
    this.name = "BusChannelsFullError";
  }
}

/** Default bound on one notice's encoded size: ours are a few dozen bytes. */
export const noticeBytesMaxDefault = 16_384;

/** Default bound on the streams one process follows through a remote bus at once. */
export const channelsMaxDefault = 100_000;

/**
 * Reads a notice another process sent. Anyone who can reach the server can publish on our
 * channels, so the payload is checked, never trusted: too large, not JSON, or not an object with
 * a string `type`, and it is refused.
 */
export function decodeNotice<N extends Notice>(
  channel: string,
  payload: Uint8Array,
  noticeBytesMax: number,
): N | MalformedNoticeError {
  if (payload.byteLength > noticeBytesMax) {
    return new MalformedNoticeError(channel, `${payload.byteLength} bytes, more than ${noticeBytesMax}`);
  }
  let value: unknown;
  try {
    value = JSON.parse(Buffer.from(payload.buffer, payload.byteOffset, payload.byteLength).toString("utf8"));
  } catch {
    return new MalformedNoticeError(channel, "not JSON");
  }
  if (typeof value !== "object" || value === null || Array.isArray(value)) {
    return new MalformedNoticeError(channel, "not an object");
  }
  if (typeof (value as { type?: unknown }).type !== "string") {
    return new MalformedNoticeError(channel, "no string `type`");
  }
  return value as N;
}

/** Encodes a notice for the wire, refusing one larger than the receivers would accept. */
export function encodeNotice(notice: Notice, noticeBytesMax: number): Buffer {
  const payload = Buffer.from(JSON.stringify(notice), "utf8");
  if (payload.byteLength > noticeBytesMax) {
    throw new RangeError(
      `A notice of ${payload.byteLength} bytes is over noticeBytesMax (${noticeBytesMax})`,
    );
  }
  return payload;
}
