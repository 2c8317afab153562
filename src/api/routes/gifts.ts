import type { FastifyReply } from "fastify";
import Type from "typebox";
import { assertBatchIds, type Gifts, giftsPerBatchMax, giftView } from "../../economy/gifts/gifts.js";
import type { GiftstreamApp } from "../app.js";
import { assertActsAs } from "../auth.js";
import { type InFlightKeys, idempotencyOf } from "../idempotency.js";
import { errorResponses } from "../problem.js";
import type { SenderLimits } from "../rate-limit/senders.js";
import { UserIdParams } from "./users.js";

const Context = Type.Object(
  {
    type: Type.Union([Type.Literal("live"), Type.Literal("video")]),
    id: Type.String({ minLength: 1, maxLength: 128, description: "The live stream's or video's id." }),
  },
  { additionalProperties: false },
);

const Receipt = Type.Object(
  {
    id: Type.String(),
    senderId: Type.String(),
    recipientId: Type.String(),
    giftId: Type.String(),
    quantity: Type.Integer(),
    coinsSpent: Type.String(),
    diamondsEarned: Type.String(),
    context: Context,
    economyVersion: Type.String(),
    createdAt: Type.String({ format: "date-time" }),
    maturesAt: Type.String({ format: "date-time", description: "When the diamonds become withdrawable." }),
  },
  { additionalProperties: false },
);

const GiftBody = {
  senderId: UserIdParams.properties.userId,
  recipientId: UserIdParams.properties.userId,
  giftId: Type.String({ minLength: 1, maxLength: 64 }),
  quantity: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
  context: Context,
};

/** `POST /v1/gifts/send` and `send-batch`: a viewer's coins become a creator's diamonds. */
export function giftRoutes(
  app: GiftstreamApp,
  gifts: Gifts,
  inFlight: InFlightKeys,
  senders: SenderLimits,
): void {
  app.post(
    "/v1/gifts/send-batch",
    {
      // A user token sends only as itself: one gift of another sender refuses the whole batch.
      config: { userToken: "any", idempotency: "own" },
      schema: {
        summary: "Send up to 1,000 independent gifts",
        description:
          "Needs one `Idempotency-Key` for the batch, bound to its whole body; each gift has its own client `id` and its own result. A replay answers every gift that was sent as first answered, and tries again one that was refused.",
        tags: ["gifts"],
        body: Type.Object(
          {
            gifts: Type.Array(
              Type.Object(
                { id: Type.String({ pattern: "^[A-Za-z0-9_.:-]{1,64}$" }), ...GiftBody },
                { additionalProperties: false },
              ),
              { minItems: 1, maxItems: giftsPerBatchMax },
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            results: Type.Array(
              Type.Object({
                id: Type.String(),
                ok: Type.Boolean(),
                gift: Type.Optional(Receipt),
                code: Type.Optional(Type.String()),
                detail: Type.Optional(Type.String()),
              }),
            ),
          }),
          ...errorResponses(
            "invalid_request",
            "batch_too_large",
            "idempotency_key_in_use",
            "idempotency_key_reused",
            "unauthenticated",
            "forbidden",
            "rate_limited",
          ),
        },
      },
    },
    async (request, reply) => {
      const senderIds = request.body.gifts.map((g) => g.senderId);
      for (const senderId of senderIds) assertActsAs(request, senderId);
      // Before the senders' rate limits are taken: a malformed batch changes nothing.
      assertBatchIds(request.body.gifts);
      const idem = idempotencyOf(request);
      const { results } = await senders.take(reply, senderIds).then(
        () => inFlight.run(idem.key, () => gifts.sendBatch(request.body.gifts, idem)),
        // The retry of a batch whose every gift was sent gets its answers, not a 429.
        (error: unknown) =>
          withoutRetryAfter(reply, error, () => gifts.replayBatchInstead(error, request.body.gifts, idem)),
      );
      return { results: results.map((r) => (r.ok ? { id: r.id, ok: true, gift: giftView(r.gift) } : r)) };
    },
  );

  app.post(
    "/v1/gifts/send",
    {
      config: { userToken: "any", idempotency: "own" },
      schema: {
        summary: "Send a gift",
        description:
          "Needs an `Idempotency-Key` header. Spends bonus coins first, then paid coins oldest purchase first; the recipient earns diamonds at the rate in force, pending until they mature.",
        tags: ["gifts"],
        body: Type.Object(GiftBody, { additionalProperties: false }),
        response: {
          201: Receipt,
          ...errorResponses(
            "invalid_request",
            "not_found",
            "idempotency_key_in_use",
            "insufficient_coins",
            "unknown_gift",
            "gift_not_available_here",
            "self_gift_forbidden",
            "user_restricted",
            "underage",
            "quantity_too_large",
            "idempotency_key_reused",
            "unauthenticated",
            "forbidden",
            "rate_limited",
          ),
        },
      },
    },
    async (request, reply) => {
      assertActsAs(request, request.body.senderId);
      const idem = idempotencyOf(request);
      const { receipt, replayed } = await senders.take(reply, [request.body.senderId]).then(
        () => inFlight.run(idem.key, () => gifts.send(request.body, idem)),
        // The retry of a gift already sent gets its receipt, not a 429 saying nothing was sent.
        (error: unknown) => withoutRetryAfter(reply, error, () => gifts.replayInstead(error, idem)),
      );
      if (replayed) reply.header("idempotent-replayed", "true");
      return reply.code(201).send(giftView(receipt));
    },
  );
}

/**
 * Answers a refusal with `replay` when that succeeds; Retry-After belongs to the 429 only, not
 * to the replay nor to the reuse of a key with another body.
 */
async function withoutRetryAfter<T>(
  reply: FastifyReply,
  refusal: unknown,
  replay: () => Promise<T>,
): Promise<T> {
  try {
    const answer = await replay();
    reply.removeHeader("retry-after");
    return answer;
  } catch (error) {
    if (error !== refusal) reply.removeHeader("retry-after");
    throw error;
  }
}
