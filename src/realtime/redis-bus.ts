import { Redis } from "ioredis";
import {
  BusChannelsFullError,
  channelsMaxDefault,
  decodeNotice,
  encodeNotice,
  InProcessBus,
  type LiveNotice,
  type Notice,
  type NoticeListener,
  noticeBytesMaxDefault,
  type OpenBus,
} from "./bus.js";

export interface RedisBusOptions {
  /** `redis://…` of the server every process shares. */
  url: string;
  /** Put before each stream id to make its channel, e.g. "gs:live:". */
  prefix: string;
  /** Hears every failure: connection errors, lost publishes, malformed messages, listener throws. */
  onError: (error: unknown) => void;
  /** Most streams this process follows at once (one Redis channel each). */
  channelsMax?: number;
  /** Largest notice sent or accepted, in bytes of JSON. */
  noticeBytesMax?: number;
}

/**
 * Notices between processes over Redis pub/sub: one connection publishes, one subscribes, and a
 * channel is subscribed while this process has a listener on its stream. Redis delivers at most
 * once, which the notices allow (see `LiveNotice`).
 *
 * Reconnection is ioredis's: it retries without end and, with `autoResubscribe` (its default),
 * subscribes the new connection to the channels the old one had.
 */
export class RedisBus<N extends Notice = LiveNotice> implements OpenBus<N> {
  private readonly publisher: Redis;
  private readonly subscriber: Redis;
  private readonly local: InProcessBus<N>;
  private readonly prefix: string;
  private readonly onError: (error: unknown) => void;
  private readonly channelsMax: number;
  private readonly noticeBytesMax: number;
  private closed = false;
  /** The latest SUBSCRIBE or UNSUBSCRIBE; one connection answers them in order. */
  private lastChange: Promise<unknown> = Promise.resolve();

  constructor(o: RedisBusOptions) {
    this.prefix = o.prefix;
    this.onError = o.onError;
    this.channelsMax = o.channelsMax ?? channelsMaxDefault;
    this.noticeBytesMax = o.noticeBytesMax ?? noticeBytesMaxDefault;
    if (!Number.isSafeInteger(this.channelsMax) || this.channelsMax < 1) {
      throw new RangeError(`channelsMax must be a positive integer, not ${this.channelsMax}`);
    }
    this.local = new InProcessBus<N>(o.onError);
    // Without an offline queue a publish while Redis is away fails at once and is reported,
    // instead of piling up in memory behind the gift hot path: a lost notice costs only latency.
    this.publisher = new Redis(o.url, { enableOfflineQueue: false, connectionName: "giftstream-bus-pub" });
    // The subscriber keeps its queue and waits through outages, so that a SUBSCRIBE issued while
    // Redis is away still lands; the queue grows only with listeners coming and going meanwhile.
    this.subscriber = new Redis(o.url, { maxRetriesPerRequest: null, connectionName: "giftstream-bus-sub" });
    for (const client of [this.publisher, this.subscriber]) client.on("error", (e) => this.report(e));
    this.subscriber.on("messageBuffer", (channel: Buffer, message: Buffer) => this.receive(channel, message));
  }

  /**
   * Resolves once both connections are up. Rejects with the error of a failed attempt before that:
   * at start-up that should stop the process (ioredis goes on retrying, so a later call may resolve).
   */
  async ready(): Promise<void> {
    await Promise.all([whenReady(this.publisher), whenReady(this.subscriber)]);
  }

  publish(streamId: string, notice: N): void {
    try {
      if (this.closed) throw new Error("The Redis bus is closed");
      const payload = encodeNotice(notice, this.noticeBytesMax);
      this.publisher.publish(this.prefix + streamId, payload).catch((e: unknown) => this.report(e));
    } catch (error) {
      this.onError(error);
    }
  }

  subscribe(streamId: string, listener: NoticeListener<N>): () => void {
    if (this.closed) throw new Error("The Redis bus is closed");
    const channel = this.prefix + streamId;
    const first = !this.local.has(streamId);
    if (first && this.local.streamCount >= this.channelsMax) throw new BusChannelsFullError(this.channelsMax);
    const off = this.local.subscribe(streamId, listener);
    // One connection carries these in order, so subscribe, unsubscribe, subscribe ends subscribed.
    if (first) this.change(this.subscriber.subscribe(channel));
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      off();
      if (!this.local.has(streamId) && !this.closed) {
        this.change(this.subscriber.unsubscribe(channel));
      }
    };
  }

  /** Resolves once Redis has answered every subscribe and unsubscribe made so far. */
  async flush(): Promise<void> {
    await this.lastChange;
  }

  /** Streams with a listener here, i.e. channels subscribed. */
  get channelCount(): number {
    return this.local.streamCount;
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([shut(this.publisher), shut(this.subscriber)]);
  }

  private change(command: Promise<unknown>): void {
    this.lastChange = command.catch((e: unknown) => this.report(e));
  }

  private receive(channelBytes: Buffer, message: Buffer): void {
    const channel = channelBytes.toString("utf8");
    if (!channel.startsWith(this.prefix)) return;
    const notice = decodeNotice<N>(channel, message, this.noticeBytesMax);
    if (notice instanceof Error) this.onError(notice);
    else this.local.publish(channel.slice(this.prefix.length), notice);
  }

  /** Errors after `close` are the connections going away as asked, not news. */
  private report(error: unknown): void {
    if (!this.closed) this.onError(error);
  }
}

function whenReady(client: Redis): Promise<void> {
  if (client.status === "ready") return Promise.resolve();
  return new Promise((resolve, reject) => {
    const settle = () => {
      client.off("ready", onReady);
      client.off("error", onError);
      client.off("end", onEnd);
    };
    const onReady = () => {
      settle();
      resolve();
    };
    const onError = (error: Error) => {
      settle();
      reject(error);
    };
    const onEnd = () => onError(new Error("The Redis connection ended before it was ready"));
    client.on("ready", onReady);
    client.on("error", onError);
    client.on("end", onEnd);
  });
}

/** QUIT when connected, so that sent commands finish; otherwise just drop the connection. */
async function shut(client: Redis): Promise<void> {
  if (client.status === "ready") {
    try {
      await client.quit();
      return;
    } catch {
      // Fall through: the connection went away while quitting.
    }
  }
  client.disconnect();
}
