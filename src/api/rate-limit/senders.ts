import type { FastifyReply } from "fastify";
import type { Config } from "../../config/index.js";
import { GiftstreamError } from "../../errors.js";
import type { RateLimitStore } from "./store.js";

/**
 * Gifts per sender per window, on top of the caller's request limit: one operator key sends for
 * every viewer, so only the sender tells one viewer's flood from a busy platform. Each gift of a
 * batch counts; a gift's `quantity` does not (a combo is one ledger transfer).
 */
export class SenderLimits {
  constructor(
    private readonly store: RateLimitStore,
    private readonly limits: Pick<Config["rateLimit"], "senderGiftsMax" | "windowMs">,
  ) {}

  /** Counts the gifts of each sender, or, when one sender would pass the limit, counts none: 429. */
  async take(reply: FastifyReply, senderIds: readonly string[]): Promise<void> {
    const costs = new Map<string, number>();
    for (const id of senderIds) costs.set(`sender:${id}`, (costs.get(`sender:${id}`) ?? 0) + 1);
    const { senderGiftsMax, windowMs } = this.limits;
    const verdict = await this.store.take(costs, senderGiftsMax, windowMs);
    if (verdict.allowed) return;
    reply.header("retry-after", String(Math.ceil(verdict.retryAfterMs / 1000)));
    throw new GiftstreamError(
      "rate_limited",
      `A sender may send at most ${senderGiftsMax} gifts in ${windowMs} ms (rateLimit.senderGiftsMax); nothing was sent.`,
    );
  }
}
