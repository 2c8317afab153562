import { connect, type NatsConnection, type Subscription } from "nats";
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

export interface NatsBusOptions {
  /** `nats://…` of the server (or cluster entry) every process shares. */
  url: string;
  /** Subject tokens put before each stream's token, ending in a dot, e.g. "gs.live.". */
  prefix: string;
  /** Hears every failure: connection errors, lost publishes, malformed messages, listener throws. */
  onError: (error: unknown) => void;
  /** Most streams this process follows at once (one NATS subscription each). */
  channelsMax?: number;
  /** Largest notice sent or accepted, in bytes of JSON. */
  noticeBytesMax?: number;
  /** Longest stream id accepted, in UTF-8 bytes. */
  streamIdBytesMax?: number;
}

/**
 * A subject travels in a protocol line that the server caps (4 KiB by default) and answers by
 * closing the connection: a bound well below that keeps one odd id from cutting every stream off.
 */
const streamIdBytesMaxDefault = 1024;

/** `.`, `*`, `>` and whitespace are not allowed in a subject token. */
const prefixPattern = /^([^\s.*>]+\.)*$/;

/**
 * The one subject token for a stream id. Ids may hold characters a token may not, so the id's
 * UTF-8 is written in base64url (letters, digits, `-`, `_`); the leading letter keeps the token of
 * the empty id from being empty.
 */
export function streamToken(streamId: string): string {
  return `s${Buffer.from(streamId, "utf8").toString("base64url")}`;
}

/**
 * Notices between processes over NATS core pub/sub: one connection, one subscription per stream
 * that this process has a listener on. Core NATS delivers at most once, which the notices allow
 * (see `LiveNotice`). The client reconnects without end and subscribes again by itself; what is
 * published meanwhile waits in its bounded reconnect buffer.
 */
export class NatsBus<N extends Notice = LiveNotice> implements OpenBus<N> {
  private readonly local: InProcessBus<N>;
  private readonly subscriptions = new Map<string, Subscription>();
  private readonly connecting: Promise<NatsConnection>;
  private connection: NatsConnection | undefined;
  private readonly prefix: string;
  private readonly onError: (error: unknown) => void;
  private readonly channelsMax: number;
  private readonly noticeBytesMax: number;
  private readonly streamIdBytesMax: number;
  private closed = false;

  constructor(o: NatsBusOptions) {
    if (!prefixPattern.test(o.prefix)) {
      throw new RangeError(
        `A NATS bus prefix is dot-separated tokens ending in a dot, not ${JSON.stringify(o.prefix)}`,
      );
    }
    this.prefix = o.prefix;
    this.onError = o.onError;
    this.channelsMax = o.channelsMax ?? channelsMaxDefault;
    this.noticeBytesMax = o.noticeBytesMax ?? noticeBytesMaxDefault;
    this.streamIdBytesMax = o.streamIdBytesMax ?? streamIdBytesMaxDefault;
    if (!Number.isSafeInteger(this.channelsMax) || this.channelsMax < 1) {
      throw new RangeError(`channelsMax must be a positive integer, not ${this.channelsMax}`);
    }
    this.local = new InProcessBus<N>(o.onError);
    this.connecting = connect({ servers: o.url, maxReconnectAttempts: -1, name: "giftstream-bus" }).then(
      (connection) => this.opened(connection),
    );
    // `ready` hands the failure to whoever waits; this keeps it from going unhandled meanwhile.
    this.connecting.catch((e: unknown) => this.report(e));
  }

  /**
   * Resolves once connected. Rejects if the first connection fails, and then the bus stays down:
   * at start-up that should stop the process.
   */
  async ready(): Promise<void> {
    await this.connecting;
  }

  publish(streamId: string, notice: N): void {
    try {
      if (this.closed) throw new Error("The NATS bus is closed");
      if (this.connection === undefined) throw new Error("The NATS bus is not connected yet");
      const subject = this.subject(streamId);
      this.connection.publish(subject, encodeNotice(notice, this.noticeBytesMax));
    } catch (error) {
      this.onError(error);
    }
  }

  subscribe(streamId: string, listener: NoticeListener<N>): () => void {
    if (this.closed) throw new Error("The NATS bus is closed");
    this.subject(streamId);
    const first = !this.local.has(streamId);
    if (first && this.local.streamCount >= this.channelsMax) throw new BusChannelsFullError(this.channelsMax);
    const off = this.local.subscribe(streamId, listener);
    // Before the connection is up, `opened` subscribes every stream that has listeners by then.
    if (first && this.connection !== undefined) this.follow(this.connection, streamId);
    let subscribed = true;
    return () => {
      if (!subscribed) return;
      subscribed = false;
      off();
      if (!this.local.has(streamId)) this.unfollow(streamId);
    };
  }

  /** Resolves once the server has taken every subscribe, unsubscribe and publish made so far. */
  async flush(): Promise<void> {
    const connection = await this.connecting;
    await connection.flush();
  }

  /** Streams with a listener here, i.e. subjects subscribed. */
  get channelCount(): number {
    return this.local.streamCount;
  }

  /** Drains: what was published reaches the server before the connection closes. */
  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    const connection = await this.connecting.catch(() => undefined);
    if (connection === undefined || connection.isClosed()) return;
    try {
      await connection.drain();
    } catch {
      await connection.close();
    }
  }

  private opened(connection: NatsConnection): NatsConnection {
    this.connection = connection;
    if (this.closed) return connection;
    for (const streamId of this.local.streams()) this.follow(connection, streamId);
    connection.closed().then(
      (error) => {
        if (error) this.report(error);
      },
      (error: unknown) => this.report(error),
    );
    return connection;
  }

  private follow(connection: NatsConnection, streamId: string): void {
    const subject = this.subject(streamId);
    try {
      const subscription = connection.subscribe(subject, {
        callback: (error, message) => {
          if (error) this.report(error);
          else this.receive(streamId, subject, message.data);
        },
      });
      this.subscriptions.set(streamId, subscription);
    } catch (error) {
      this.report(error);
    }
  }

  private unfollow(streamId: string): void {
    const subscription = this.subscriptions.get(streamId);
    this.subscriptions.delete(streamId);
    if (subscription === undefined || this.closed) return;
    try {
      subscription.unsubscribe();
    } catch (error) {
      this.report(error);
    }
  }

  private receive(streamId: string, subject: string, data: Uint8Array): void {
    const notice = decodeNotice<N>(subject, data, this.noticeBytesMax);
    if (notice instanceof Error) this.onError(notice);
    else this.local.publish(streamId, notice);
  }

  private subject(streamId: string): string {
    const bytes = Buffer.byteLength(streamId, "utf8");
    if (bytes > this.streamIdBytesMax) {
      throw new RangeError(
        `A stream id of ${bytes} bytes is over streamIdBytesMax (${this.streamIdBytesMax})`,
      );
    }
    return this.prefix + streamToken(streamId);
  }

  /** Errors after `close` are the connection going away as asked, not news. */
  private report(error: unknown): void {
    if (!this.closed) this.onError(error);
  }
}
