import Type from "typebox";
import type { EconomyCatalog } from "../../economy/catalog.js";
import { economyReport, type ReportStore } from "../../economy/report/report.js";
import type { CashValue } from "../../economy/wallet/cash-value.js";
import { GiftstreamError } from "../../errors.js";
import type { GiftstreamApp } from "../app.js";
import { errorResponses } from "../problem.js";

const Cash = Type.Object({
  currency: Type.String(),
  gross: Type.String(),
  commission: Type.String(),
  net: Type.String(),
});
const s = (v: bigint) => v.toString();
const cash = (c: CashValue) => ({
  currency: c.currency,
  gross: s(c.gross),
  commission: s(c.commission),
  net: s(c.net),
});
/** A report covers at most this long a window. */
const windowMsMax = 366 * 86_400_000;

/** `GET /v1/admin/reports/economy?from=&to=`. */
export function reportRoutes(
  app: GiftstreamApp,
  store: ReportStore,
  catalog: EconomyCatalog,
  clock: () => number,
): void {
  app.get(
    "/v1/admin/reports/economy",
    {
      config: { scope: "admin" },
      schema: {
        summary: "The economy report",
        tags: ["economy"],
        querystring: Type.Object(
          { from: Type.String({ format: "date-time" }), to: Type.String({ format: "date-time" }) },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            from: Type.String(),
            to: Type.String(),
            generatedAt: Type.String(),
            currencies: Type.Array(
              Type.Object({
                currency: Type.String(),
                coinsSold: Type.String(),
                revenueMinor: Type.String(),
                refundedMinor: Type.String(),
                chargedBackMinor: Type.String(),
                coinsOutstanding: Type.String(),
              }),
            ),
            bonusCoinsOutstanding: Type.String(),
            sources: Type.Array(
              Type.Object({
                source: Type.String(),
                coinsSpent: Type.String(),
                bonusCoinsSpent: Type.String(),
                diamondsEarned: Type.String(),
                earnedUsd: Cash,
                diamondsPending: Type.String(),
                diamondsWithdrawable: Type.String(),
                diamondsOnHold: Type.String(),
                liabilityUsd: Cash,
                coinRevenueUsdMinor: Type.Union([Type.String(), Type.Null()]),
                marginUsdMinor: Type.Union([Type.String(), Type.Null()]),
              }),
            ),
          }),
          ...errorResponses("invalid_request", "unauthenticated", "forbidden"),
        },
      },
    },
    async (request) => {
      const from = Date.parse(request.query.from);
      const to = Date.parse(request.query.to);
      if (!(from < to) || to - from > windowMsMax) {
        throw new GiftstreamError("invalid_request", "from must be before to, at most 366 days apart");
      }
      const r = await economyReport(store, catalog, { from, to, now: clock() });
      return {
        from: new Date(r.from).toISOString(),
        to: new Date(r.to).toISOString(),
        generatedAt: new Date(r.generatedAt).toISOString(),
        currencies: r.currencies.map((c) => ({
          currency: c.currency,
          coinsSold: s(c.coinsSold),
          revenueMinor: s(c.revenueMinor),
          refundedMinor: s(c.refundedMinor),
          chargedBackMinor: s(c.chargedBackMinor),
          coinsOutstanding: s(c.coinsOutstanding),
        })),
        bonusCoinsOutstanding: s(r.bonusCoinsOutstanding),
        sources: r.sources.map((x) => ({
          source: x.source,
          coinsSpent: s(x.coinsSpent),
          bonusCoinsSpent: s(x.bonusCoinsSpent),
          diamondsEarned: s(x.diamondsEarned),
          earnedUsd: cash(x.earnedUsd),
          diamondsPending: s(x.diamondsPending),
          diamondsWithdrawable: s(x.diamondsWithdrawable),
          diamondsOnHold: s(x.diamondsOnHold),
          liabilityUsd: cash(x.liabilityUsd),
          coinRevenueUsdMinor: x.coinRevenueUsdMinor === null ? null : s(x.coinRevenueUsdMinor),
          marginUsdMinor: x.marginUsdMinor === null ? null : s(x.marginUsdMinor),
        })),
      };
    },
  );
}
