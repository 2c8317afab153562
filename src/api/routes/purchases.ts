import Type from "typebox";
import { purchaseDocument, purchaseView } from "../../economy/purchases/purchase.js";
import type { Purchases } from "../../economy/purchases/purchases.js";
import { GiftstreamError } from "../../errors.js";
import type { GiftstreamApp } from "../app.js";
import { assertActsAs } from "../auth.js";
import { type InFlightKeys, idempotencyOf } from "../idempotency.js";
import { errorResponses } from "../problem.js";
import { UserIdParams } from "./users.js";

const PurchaseView = Type.Object(
  {
    id: Type.String(),
    userId: Type.String(),
    packId: Type.String(),
    coins: Type.String(),
    priceMinor: Type.String({
      description: "What was paid, in minor units of `currency`, at the price in force then.",
    }),
    currency: Type.String(),
    provider: Type.String(),
    status: Type.String({ description: "pending, completed, declined, failed, refunded or disputed" }),
    checkoutUrl: Type.Union([Type.String(), Type.Null()], {
      description: "Where to send the buyer to pay (Stripe).",
    }),
    economyVersion: Type.String(),
    channel: Type.String(),
    country: Type.String(),
    refundedCoins: Type.String(),
    refundedMinor: Type.String(),
    createdAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
  },
  { additionalProperties: false },
);

const authErrors = ["unauthenticated", "forbidden"] as const;
const listLimitMax = 100;

/** Buying coins: `POST /v1/purchases`, and reading purchases back. */
export function purchaseRoutes(
  app: GiftstreamApp,
  purchases: Purchases,
  inFlight: InFlightKeys,
  testMode: boolean,
): void {
  app.post(
    "/v1/purchases",
    {
      // A user token buys only for itself (checked against the body's userId).
      config: { userToken: "any", idempotency: "own" },
      schema: {
        summary: "Buy a coin pack",
        description:
          "Needs an `Idempotency-Key` header. Only packs of the user's own country, at the price in force now. `test` completes at once (test mode only); `stripe` returns a `checkoutUrl` and credits coins when Stripe confirms payment.",
        tags: ["purchases"],
        body: Type.Object(
          {
            userId: UserIdParams.properties.userId,
            packId: Type.String({ minLength: 1, maxLength: 64 }),
            provider: Type.Union([Type.Literal("test"), Type.Literal("stripe")]),
            channel: Type.Optional(Type.Union([Type.Literal("web"), Type.Literal("app")])),
            testOutcome: Type.Optional(
              Type.Union([Type.Literal("succeed"), Type.Literal("decline"), Type.Literal("pending")], {
                description: "Test mode only: how the test provider answers.",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          201: PurchaseView,
          ...errorResponses(
            "invalid_request",
            "not_found",
            "idempotency_key_in_use",
            "user_restricted",
            "underage",
            "pack_not_available_here",
            "provider_not_available",
            "idempotency_key_reused",
            ...authErrors,
          ),
        },
      },
    },
    async (request, reply) => {
      assertActsAs(request, request.body.userId);
      if (request.body.testOutcome !== undefined && !testMode) {
        throw new GiftstreamError("invalid_request", "testOutcome needs test mode");
      }
      const idem = idempotencyOf(request);
      const { purchase, replayed } = await inFlight.run(idem.key, () => purchases.create(request.body, idem));
      if (replayed) reply.header("idempotent-replayed", "true");
      return reply.code(201).send(purchaseView(purchase));
    },
  );

  app.post(
    "/v1/purchases/:purchaseId/refund",
    {
      config: { idempotency: "own" },
      schema: {
        summary: "Refund the unused coins of a purchase",
        description:
          "Needs an `Idempotency-Key` header. Only web purchases in a region that allows it (EEA, UK), within the refund window (14 days), pro rata for the unused coins, rounded half-even.",
        tags: ["purchases"],
        params: Type.Object({ purchaseId: Type.String({ maxLength: 64 }) }, { additionalProperties: false }),
        response: {
          200: PurchaseView,
          ...errorResponses(
            "invalid_request",
            "not_found",
            "idempotency_key_in_use",
            "coins_non_refundable",
            "provider_not_available",
            "idempotency_key_reused",
            "provider_error",
            ...authErrors,
          ),
        },
      },
    },
    async (request, reply) => {
      const idem = idempotencyOf(request);
      const { purchase, replayed } = await inFlight.run(idem.key, () =>
        purchases.refund(request.params.purchaseId, idem),
      );
      if (replayed) reply.header("idempotent-replayed", "true");
      return purchaseView(purchase);
    },
  );

  app.get(
    "/v1/purchases/:purchaseId",
    {
      // Any user token gets in; only the buyer's reads the purchase.
      config: { userToken: "any" },
      schema: {
        summary: "Read a purchase",
        tags: ["purchases"],
        params: Type.Object({ purchaseId: Type.String({ maxLength: 64 }) }, { additionalProperties: false }),
        response: { 200: PurchaseView, ...errorResponses("not_found", ...authErrors) },
      },
    },
    async (request) => {
      const purchase = await purchases.get(request.params.purchaseId);
      assertActsAs(request, purchase.userId);
      return purchaseView(purchaseDocument(purchase));
    },
  );

  app.get(
    "/v1/users/:userId/purchases",
    {
      config: { userToken: "self" },
      schema: {
        summary: "A user's purchases, newest first",
        tags: ["purchases"],
        params: UserIdParams,
        querystring: Type.Object(
          {
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
            limit: Type.Optional(Type.String({ pattern: "^[1-9][0-9]{0,2}$" })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            data: Type.Array(PurchaseView),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses("invalid_request", ...authErrors),
        },
      },
    },
    async (request) => {
      const limit = Number(request.query.limit ?? "20");
      if (limit > listLimitMax)
        throw new GiftstreamError("invalid_request", `limit is at most ${listLimitMax}`);
      const before = request.query.cursor === undefined ? null : decodePurchaseCursor(request.query.cursor);
      const rows = await purchases.listByUser(request.params.userId, before, limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        data: page.map((p) => purchaseView(purchaseDocument(p))),
        nextCursor:
          rows.length > limit && last
            ? Buffer.from(`${last.createdAt}:${last.id}`).toString("base64url")
            : null,
      };
    },
  );
}

function decodePurchaseCursor(cursor: string): { createdAt: number; id: string } {
  const match = /^(\d{1,16}):(pur_[A-Za-z0-9_-]{1,40})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!match) throw new GiftstreamError("invalid_request", "cursor is not one this server issued");
  return { createdAt: Number(match[1]), id: match[2]! };
}
