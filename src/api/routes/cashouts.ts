import type { FastifyRequest } from "fastify";
import Type, { type Static } from "typebox";
import {
  type Cashout,
  cashoutStatuses,
  cashoutView,
  type PageStart,
} from "../../economy/cashouts/cashout.js";
import type { Cashouts, QuoteView, Resolution } from "../../economy/cashouts/cashouts.js";
import { GiftstreamError } from "../../errors.js";
import type { GiftstreamApp } from "../app.js";
import { actorOf, assertActsAs } from "../auth.js";
import { type InFlightKeys, idempotencyOf } from "../idempotency.js";
import { errorResponses } from "../problem.js";
import { UserIdParams } from "./users.js";

const Amount = Type.String({ pattern: "^(0|[1-9][0-9]{0,18})$", description: "An integer string." });
const PositiveAmount = Type.String({
  pattern: "^[1-9][0-9]{0,18}$",
  description: "A positive integer string.",
});
const Id = Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$" });
const listLimitMax = 100;
const authErrors = ["unauthenticated", "forbidden", "rate_limited"] as const;

const CashoutView = Type.Object({
  id: Type.String(),
  userId: Type.String(),
  payoutMethodId: Type.String(),
  rail: Type.String(),
  status: Type.Enum([...cashoutStatuses]),
  diamonds: Amount,
  currency: Type.String(),
  gross: Amount,
  commission: Amount,
  net: Amount,
  exchangeRate: Type.String({ description: "Payout currency units per 1 USD, locked at request." }),
  limitDay: Type.String({ description: "The calendar day, in the region's time zone, it counts against." }),
  valuation: Type.Array(
    Type.Object({ diamonds: Amount, valueUsd: Type.String(), commissionRate: Type.String() }),
  ),
  reason: Type.Union([Type.String(), Type.Null()]),
  railRef: Type.Union([Type.String(), Type.Null()]),
  quoteId: Type.Union([Type.String(), Type.Null()]),
  createdAt: Type.String({ format: "date-time" }),
  updatedAt: Type.String({ format: "date-time" }),
});

const QuoteBody = Type.Object(
  {
    userId: UserIdParams.properties.userId,
    diamonds: Type.Optional(PositiveAmount),
    payoutMethodId: Type.Optional(Id),
  },
  { additionalProperties: false },
);

const QuoteResponse = Type.Object({
  quoteId: Type.String(),
  expiresAt: Type.String({ format: "date-time" }),
  userId: Type.String(),
  payoutMethodId: Type.Union([Type.String(), Type.Null()]),
  diamonds: Amount,
  currency: Type.String(),
  gross: Amount,
  commission: Amount,
  net: Amount,
  exchangeRate: Type.String(),
  minimumNet: Amount,
  dailyRemainingNet: Amount,
  capped: Type.Boolean({
    description:
      "Whether the daily maximum, or the most lots one cash-out may draw from (`cashouts.lotsMax`), cut the amount down.",
  }),
  estimatedArrival: Type.Object({
    earliest: Type.String({ format: "date-time" }),
    latest: Type.String({ format: "date-time" }),
  }),
});

function quoteView(q: QuoteView) {
  return {
    quoteId: q.id,
    expiresAt: new Date(q.expiresAt).toISOString(),
    userId: q.userId,
    payoutMethodId: q.payoutMethodId,
    diamonds: q.diamonds.toString(),
    currency: q.currency,
    gross: q.grossMinor.toString(),
    commission: q.commissionMinor.toString(),
    net: q.netMinor.toString(),
    exchangeRate: q.exchangeRate,
    minimumNet: q.minimumNetMinor.toString(),
    dailyRemainingNet: q.dailyRemainingNetMinor.toString(),
    capped: q.capped,
    estimatedArrival: {
      earliest: new Date(q.arrival.earliestAt).toISOString(),
      latest: new Date(q.arrival.latestAt).toISOString(),
    },
  };
}

const RequestBody = Type.Union([
  Type.Object(
    { userId: UserIdParams.properties.userId, payoutMethodId: Id, diamonds: PositiveAmount },
    { additionalProperties: false },
  ),
  Type.Object(
    { userId: UserIdParams.properties.userId, quoteId: Id, payoutMethodId: Type.Optional(Id) },
    { additionalProperties: false },
  ),
]);

const CashoutParams = Type.Object({ id: Id }, { additionalProperties: false });

/** Text an operator writes: at least one character that is not a space. */
const Text = (maxLength: number, description: string) =>
  Type.String({ minLength: 1, maxLength, pattern: "\\S", description });

const ResolveBody = Type.Object(
  {
    outcome: Type.Enum(["paid", "failed"], {
      description: "`paid`: the money reached the creator. `failed`: it never left; the diamonds come back.",
    }),
    reference: Type.Optional(
      Text(
        200,
        "With `paid`, and only then: the payment's reference as the rail or bank shows it (PayPal's transaction id, the Stripe transfer, the bank's reference). It becomes `railRef`.",
      ),
    ),
    reason: Text(
      500,
      "Why it is settled by hand; audited. With `failed` it is also the cash-out's `reason`, shown to the creator.",
    ),
  },
  { additionalProperties: false },
);
const PageQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  limit: Type.Optional(Type.String({ pattern: "^[1-9][0-9]{0,2}$" })),
};
const Page = Type.Object({
  data: Type.Array(CashoutView),
  nextCursor: Type.Union([Type.String(), Type.Null()]),
});

/** Cash-outs: quote, request, read, cancel, and the admin review queue. */
export function cashoutRoutes(app: GiftstreamApp, cashouts: Cashouts, inFlight: InFlightKeys): void {
  app.post(
    "/v1/cashouts/quote",
    {
      config: { userToken: "any" },
      schema: {
        summary: "Price a cash-out",
        description:
          "Values withdrawable diamonds, oldest lot first, exactly and rounded once. Without `diamonds` it quotes all of them, capped to what is left of today's maximum and to the oldest `cashouts.lotsMax` lots. The quote id locks the exchange rate until it expires.",
        tags: ["cashouts"],
        body: QuoteBody,
        response: {
          200: QuoteResponse,
          ...errorResponses(
            "invalid_request",
            "not_found",
            "insufficient_diamonds",
            "too_many_lots",
            "below_minimum",
            "over_daily_limit",
            "kyc_required",
            "name_mismatch",
            "method_not_allowed",
            "underage",
            "user_restricted",
            ...authErrors,
          ),
        },
      },
    },
    async (request) => {
      assertActsAs(request, request.body.userId);
      const { diamonds, payoutMethodId, userId } = request.body;
      const quote = await cashouts.quote({
        userId,
        ...(diamonds !== undefined ? { diamonds: BigInt(diamonds) } : {}),
        ...(payoutMethodId !== undefined ? { payoutMethodId } : {}),
      });
      return quoteView(quote);
    },
  );

  app.post(
    "/v1/cashouts",
    {
      config: { userToken: "any", idempotency: "own" },
      schema: {
        summary: "Request a cash-out",
        description:
          "Needs an `Idempotency-Key`. Takes `{userId, payoutMethodId, diamonds}` or `{userId, quoteId}`. Puts the diamonds on hold, and counts the net against today's maximum, in one transaction.",
        tags: ["cashouts"],
        body: RequestBody,
        response: {
          201: CashoutView,
          ...errorResponses(
            "invalid_request",
            "not_found",
            "idempotency_key_in_use",
            "idempotency_key_reused",
            "insufficient_diamonds",
            "too_many_lots",
            "below_minimum",
            "over_daily_limit",
            "quote_expired",
            "kyc_required",
            "name_mismatch",
            "method_not_allowed",
            "underage",
            "user_restricted",
            ...authErrors,
          ),
        },
      },
    },
    async (request, reply) => {
      assertActsAs(request, request.body.userId);
      const idem = idempotencyOf(request);
      const body = request.body;
      const input =
        "quoteId" in body
          ? {
              userId: body.userId,
              quoteId: body.quoteId,
              ...(body.payoutMethodId ? { payoutMethodId: body.payoutMethodId } : {}),
            }
          : { userId: body.userId, payoutMethodId: body.payoutMethodId, diamonds: BigInt(body.diamonds) };
      const { cashout, replayed } = await inFlight.run(idem.key, () => cashouts.request(input, idem));
      if (replayed) reply.header("idempotent-replayed", "true");
      return reply.code(201).send(cashoutView(cashout));
    },
  );

  app.get(
    "/v1/cashouts/:id",
    {
      config: { userToken: "any" },
      schema: {
        summary: "A cash-out",
        tags: ["cashouts"],
        params: CashoutParams,
        response: { 200: CashoutView, ...errorResponses("not_found", ...authErrors) },
      },
    },
    async (request) => cashoutView(await owned(request, cashouts, request.params.id)),
  );

  app.post(
    "/v1/cashouts/:id/cancel",
    {
      config: { userToken: "any" },
      schema: {
        summary: "Cancel a cash-out before processing starts",
        description:
          "The holds are voided and the diamonds are withdrawable again. Once processing has started: 409.",
        tags: ["cashouts"],
        params: CashoutParams,
        response: {
          200: CashoutView,
          ...errorResponses("not_found", "cashout_not_cancellable", ...authErrors),
        },
      },
    },
    async (request) => {
      await owned(request, cashouts, request.params.id);
      return cashoutView(await cashouts.cancel(request.params.id));
    },
  );

  app.get(
    "/v1/users/:userId/cashouts",
    {
      config: { userToken: "self" },
      schema: {
        summary: "A creator's cash-outs, newest first",
        tags: ["cashouts"],
        params: UserIdParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: { 200: Page, ...errorResponses("invalid_request", ...authErrors) },
      },
    },
    async (request) => {
      const { limit, before } = pageOf(request.query);
      return pageView(await cashouts.listByUser(request.params.userId, before, limit + 1), limit);
    },
  );

  app.get(
    "/v1/admin/cashouts",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Cash-outs by status, newest first: the review queue",
        tags: ["cashouts", "admin"],
        querystring: Type.Object(
          { status: Type.Optional(Type.Enum([...cashoutStatuses])), ...PageQuery },
          { additionalProperties: false },
        ),
        response: { 200: Page, ...errorResponses("invalid_request", ...authErrors) },
      },
    },
    async (request) => {
      const { limit, before } = pageOf(request.query);
      return pageView(await cashouts.listByStatus(request.query.status ?? null, before, limit + 1), limit);
    },
  );

  app.post(
    "/v1/admin/cashouts/:id/approve",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Approve a requested cash-out",
        tags: ["cashouts", "admin"],
        params: CashoutParams,
        response: {
          200: CashoutView,
          ...errorResponses("not_found", "cashout_state_conflict", ...authErrors),
        },
      },
    },
    async (request) => cashoutView(await cashouts.approve(request.params.id, actorOf(request.principal))),
  );

  app.post(
    "/v1/admin/cashouts/:id/reject",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Reject a cash-out before processing",
        description: "The holds are voided and the diamonds are withdrawable again.",
        tags: ["cashouts", "admin"],
        params: CashoutParams,
        body: Type.Object(
          { reason: Text(500, "Shown to the creator: why the cash-out was rejected.") },
          { additionalProperties: false },
        ),
        response: {
          200: CashoutView,
          ...errorResponses("invalid_request", "not_found", "cashout_state_conflict", ...authErrors),
        },
      },
    },
    async (request) =>
      cashoutView(await cashouts.reject(request.params.id, request.body.reason, actorOf(request.principal))),
  );

  app.post(
    "/v1/admin/cashouts/:id/resolve",
    {
      config: { scope: "admin", idempotency: "own" },
      schema: {
        summary: "Settle by hand a cash-out its rail never reported on",
        description:
          "Needs an `Idempotency-Key`. Only a cash-out processing for at least `cashouts.resolveProcessingHoursMin`. Applied as the rail's own report would be: `paid` posts the holds, the commission and the payout; `failed` voids the holds and the diamonds go back to their lots. A later report of the rail changes nothing. Audited.",
        tags: ["cashouts", "admin"],
        params: CashoutParams,
        body: ResolveBody,
        response: {
          200: CashoutView,
          ...errorResponses(
            "invalid_request",
            "not_found",
            "idempotency_key_in_use",
            "idempotency_key_reused",
            "cashout_state_conflict",
            "cashout_resolve_too_early",
            ...authErrors,
          ),
        },
      },
    },
    async (request, reply) => {
      const idem = idempotencyOf(request);
      const resolution = resolutionOf(request.body);
      const { cashout, replayed } = await inFlight.run(idem.key, () =>
        cashouts.resolve(request.params.id, resolution, idem, actorOf(request.principal)),
      );
      if (replayed) reply.header("idempotent-replayed", "true");
      return cashoutView(cashout);
    },
  );
}

/** The body as the service takes it: a reference with `paid`, and never with `failed`. */
function resolutionOf(body: Static<typeof ResolveBody>): Resolution {
  const refused = (detail: string) =>
    new GiftstreamError("invalid_request", `body/reference ${detail}`, {
      errors: [{ in: "body", pointer: "/reference", detail }],
    });
  if (body.outcome === "paid") {
    if (body.reference === undefined) {
      throw refused(
        "is required when outcome is paid: the payment's reference, as the rail or bank shows it",
      );
    }
    return { outcome: "paid", reference: body.reference, reason: body.reason };
  }
  if (body.reference !== undefined) throw refused("goes with outcome paid only: a failed payout has none");
  return { outcome: "failed", reason: body.reason };
}

/** A cash-out the caller may see: any, for an API key; only its own, for a user token. */
async function owned(request: FastifyRequest, cashouts: Cashouts, id: string): Promise<Cashout> {
  const cashout = await cashouts.mustGet(id);
  assertActsAs(request, cashout.userId);
  return cashout;
}

function pageOf(query: { cursor?: string; limit?: string }): { limit: number; before: PageStart | null } {
  const limit = Number(query.limit ?? "20");
  if (limit > listLimitMax) throw new GiftstreamError("invalid_request", `limit is at most ${listLimitMax}`);
  if (query.cursor === undefined) return { limit, before: null };
  const match = /^(\d{1,16}):(co_[A-Za-z0-9_-]{1,40})$/.exec(
    Buffer.from(query.cursor, "base64url").toString(),
  );
  if (!match) throw new GiftstreamError("invalid_request", "cursor is not one this server issued");
  return { limit, before: { createdAt: Number(match[1]), id: match[2]! } };
}

function pageView(rows: Cashout[], limit: number) {
  const page = rows.slice(0, limit);
  const last = page.at(-1);
  return {
    data: page.map(cashoutView),
    nextCursor:
      rows.length > limit && last ? Buffer.from(`${last.createdAt}:${last.id}`).toString("base64url") : null,
  };
}
