import Type from "typebox";
import type { ActivityStore } from "../../economy/history/activity.js";
import { historyCursorCharsMax, historyCursorOf, historyPositionOf } from "../../economy/history/cursor.js";
import type { Users } from "../../economy/users/users.js";
import { GiftstreamError } from "../../errors.js";
import { isoTime } from "../../iso-time.js";
import type { GiftstreamApp } from "../app.js";
import { errorResponses } from "../problem.js";
import { UserIdParams } from "./users.js";

const pageMax = 200;

const Entry = Type.Object(
  {
    id: Type.String({
      description:
        "Unique within the user's history: a number for most entries, the gift's id for gift_sent and gift_received.",
    }),
    kind: Type.String({
      description: "purchase, bonus, gift_sent, gift_received, maturation, refund, chargeback or cashout",
    }),
    at: Type.String({ format: "date-time" }),
    amounts: Type.Record(Type.String(), Type.String(), {
      description: "Integer strings: coins, diamonds, moneyMinor, …",
    }),
    counterparty: Type.Union([Type.String(), Type.Null()]),
    context: Type.Union([Type.Object({ type: Type.String(), id: Type.String() }), Type.Null()]),
    economyVersion: Type.Union([Type.String(), Type.Null()]),
    ref: Type.Union([Type.String(), Type.Null()], { description: "The purchase or gift it belongs to." }),
  },
  { additionalProperties: false },
);

/** `GET /v1/users/{userId}/transactions`: a user's history, newest first. */
export function transactionRoutes(app: GiftstreamApp, activity: ActivityStore, users: Users): void {
  app.get(
    "/v1/users/:userId/transactions",
    {
      config: { userToken: "self" },
      schema: {
        summary: "A user's history, newest first",
        tags: ["wallet"],
        params: UserIdParams,
        querystring: Type.Object(
          {
            cursor: Type.Optional(
              Type.String({ pattern: "^[A-Za-z0-9_-]+$", maxLength: historyCursorCharsMax }),
            ),
            limit: Type.Optional(Type.String({ pattern: "^[1-9][0-9]{0,2}$" })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ data: Type.Array(Entry), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
          ...errorResponses("invalid_request", "not_found", "unauthenticated", "forbidden"),
        },
      },
    },
    async (request) => {
      await users.get(request.params.userId);
      const limit = Number(request.query.limit ?? "50");
      if (limit > pageMax) throw new GiftstreamError("invalid_request", `limit is at most ${pageMax}`);
      const cursor = request.query.cursor;
      const before = cursor === undefined ? null : historyPositionOf(cursor);
      const rows = await activity.list(request.params.userId, before, limit + 1);
      const page = rows.slice(0, limit);
      return {
        data: page.map((a) => ({
          id: a.id,
          kind: a.kind,
          at: isoTime(a.at),
          amounts: a.amounts,
          counterparty: a.counterparty,
          context: a.context,
          economyVersion: a.economyVersion,
          ref: a.ref,
        })),
        nextCursor: rows.length > limit ? historyCursorOf(page.at(-1)!.position) : null,
      };
    },
  );
}
