import Type from "typebox";
import type { Wallets } from "../../economy/wallet/wallets.js";
import type { GiftstreamApp } from "../app.js";
import { errorResponses } from "../problem.js";
import { UserIdParams } from "./users.js";

const Amount = Type.String({ description: "An integer string." });

/** `GET /v1/users/{userId}/wallet`. */
export function walletRoutes(app: GiftstreamApp, wallets: Wallets): void {
  app.get(
    "/v1/users/:userId/wallet",
    {
      config: { userToken: "self" },
      schema: {
        summary: "A user's coins, diamonds and their cash value",
        tags: ["wallet"],
        params: UserIdParams,
        response: {
          200: Type.Object({
            coins: Type.Object({ balance: Amount, paid: Amount, bonus: Amount, debt: Amount }),
            diamonds: Type.Object({ pending: Amount, withdrawable: Amount, onHold: Amount }),
            cash: Type.Object({
              currency: Type.String(),
              gross: Amount,
              commission: Amount,
              net: Amount,
            }),
          }),
          ...errorResponses("not_found", "unauthenticated", "forbidden"),
        },
      },
    },
    async (request) => {
      const w = await wallets.of(request.params.userId);
      const s = (v: bigint) => v.toString();
      return {
        coins: {
          balance: s(w.coins.balance),
          paid: s(w.coins.paid),
          bonus: s(w.coins.bonus),
          debt: s(w.coins.debt),
        },
        diamonds: {
          pending: s(w.diamonds.pending),
          withdrawable: s(w.diamonds.withdrawable),
          onHold: s(w.diamonds.onHold),
        },
        cash: {
          currency: w.cash.currency,
          gross: s(w.cash.gross),
          commission: s(w.cash.commission),
          net: s(w.cash.net),
        },
      };
    },
  );
}
