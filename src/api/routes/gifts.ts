import Type from "typebox";
import type { GiftReceipt, Gifts } from "../../economy/gifts/gifts.js";
import type { GiftstreamApp } from "../app.js";
import { type InFlightKeys, idempotencyOf } from "../idempotency.js";
import { errorResponses } from "../problem.js";
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

function receiptView(r: GiftReceipt) {
  return {
    ...r,
    createdAt: new Date(r.createdAt).toISOString(),
    maturesAt: new Date(r.maturesAt).toISOString(),
  };
}

/** `POST /v1/gifts/send`: a viewer's coins become a creator's diamonds. */
export function giftRoutes(app: GiftstreamApp, gifts: Gifts, inFlight: InFlightKeys): void {
  app.post(
    "/v1/gifts/send",
    {
      schema: {
        summary: "Send a gift",
        description:
          "Needs an `Idempotency-Key` header. Spends bonus coins first, then paid coins oldest purchase first; the recipient earns diamonds at the rate in force, pending until they mature.",
        tags: ["gifts"],
        body: Type.Object(
          {
            senderId: UserIdParams.properties.userId,
            recipientId: UserIdParams.properties.userId,
            giftId: Type.String({ minLength: 1, maxLength: 64 }),
            quantity: Type.Integer({ minimum: 1, maximum: 1_000_000 }),
            context: Context,
          },
          { additionalProperties: false },
        ),
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
          ),
        },
      },
    },
    async (request, reply) => {
      const idem = idempotencyOf(request);
      const { receipt, replayed } = await inFlight.run(idem.key, () => gifts.send(request.body, idem));
      if (replayed) reply.header("idempotent-replayed", "true");
      return reply.code(201).send(receiptView(receipt));
    },
  );
}
