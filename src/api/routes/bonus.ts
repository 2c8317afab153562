import Type from "typebox";
import type { Bonuses } from "../../economy/bonus.js";
import { parseMinor } from "../../money/index.js";
import type { GiftstreamApp } from "../app.js";
import { actorOf } from "../auth.js";
import { type InFlightKeys, idempotencyOf } from "../idempotency.js";
import { errorResponses } from "../problem.js";
import { UserIdParams } from "./users.js";

/** `POST /v1/admin/users/{userId}/bonus`: bonus coins for a promotion. */
export function bonusRoutes(
  app: GiftstreamApp,
  bonuses: Bonuses,
  inFlight: InFlightKeys,
  amountMax: bigint,
): void {
  app.post(
    "/v1/admin/users/:userId/bonus",
    {
      config: { scope: "admin", idempotency: "own" },
      schema: {
        summary: "Grant bonus coins",
        description: "Needs an `Idempotency-Key` header. Booked as promotion expense; audited.",
        tags: ["purchases"],
        params: UserIdParams,
        body: Type.Object(
          {
            coins: Type.String({ description: "A positive integer string.", maxLength: 40 }),
            reason: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })),
          },
          { additionalProperties: false },
        ),
        response: {
          201: Type.Object({
            userId: Type.String(),
            coins: Type.String(),
            reason: Type.Union([Type.String(), Type.Null()]),
            transferId: Type.String(),
            createdAt: Type.String({ format: "date-time" }),
          }),
          ...errorResponses(
            "invalid_request",
            "invalid_amount",
            "not_found",
            "idempotency_key_in_use",
            "idempotency_key_reused",
            "unauthenticated",
            "forbidden",
          ),
        },
      },
    },
    async (request, reply) => {
      const coins = parseMinor(request.body.coins, { max: amountMax, field: "coins" });
      const idem = idempotencyOf(request);
      const { grant, replayed } = await inFlight.run(idem.key, () =>
        bonuses.grant(
          request.params.userId,
          coins,
          request.body.reason ?? null,
          actorOf(request.principal),
          idem,
        ),
      );
      if (replayed) reply.header("idempotent-replayed", "true");
      return reply.code(201).send({ ...grant, createdAt: new Date(grant.createdAt).toISOString() });
    },
  );
}
