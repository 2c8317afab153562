import { InProcessBus, type LiveNotice, type Notice, type OpenBus } from "./bus.js";
import { NatsBus } from "./nats-bus.js";
import { RedisBus } from "./redis-bus.js";

export interface OpenBusOptions {
  redisUrl?: string;
  natsUrl?: string;
  /** Channel or subject prefix; for NATS, dot-separated tokens ending in a dot. */
  prefix: string;
  onError: (error: unknown) => void;
  channelsMax?: number;
}

/**
 * The one place that picks how notices cross processes: Redis when a Redis URL is set, else NATS
 * when a NATS URL is set, else this process only (one process needs no broker). When both are set
 * Redis wins: it is the broker the shared rate limits already need, so one dependency serves both.
 */
export function openBus<N extends Notice = LiveNotice>(o: OpenBusOptions): OpenBus<N> {
  const limits = o.channelsMax === undefined ? {} : { channelsMax: o.channelsMax };
  if (o.redisUrl)
    return new RedisBus<N>({ url: o.redisUrl, prefix: o.prefix, onError: o.onError, ...limits });
  if (o.natsUrl) return new NatsBus<N>({ url: o.natsUrl, prefix: o.prefix, onError: o.onError, ...limits });
  return new InProcessBus<N>(o.onError);
}
