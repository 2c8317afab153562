import Type from "typebox";
import type { PayoutReconciliation } from "../../economy/cashouts/payout-reconciler.js";
import { type PayoutSide, payoutDifferenceKinds } from "../../economy/cashouts/reconcile-payouts.js";
import type { GiftstreamApp } from "../app.js";
import { errorResponses } from "../problem.js";
import { dateTimeMs } from "../query-values.js";

const Side = Type.Union([
  Type.Object({ status: Type.String(), currency: Type.String(), net: Type.String() }),
  Type.Null(),
]);

const ReconciliationView = Type.Object({
  ok: Type.Boolean({ description: "True when no difference was found." }),
  since: Type.String({ format: "date-time" }),
  cashoutsChecked: Type.Integer(),
  railRecordsChecked: Type.Integer(),
  differences: Type.Array(
    Type.Object({
      kind: Type.Enum([...payoutDifferenceKinds]),
      rail: Type.String(),
      cashoutId: Type.Union([Type.String(), Type.Null()]),
      ours: Side,
      atRail: Side,
      detail: Type.String(),
    }),
  ),
});

const side = (s: PayoutSide | null) =>
  s === null ? null : { status: s.status, currency: s.currency, net: s.netMinor.toString() };

/** The reconciliation as the API and the CLI show it: amounts as integer strings. */
export function reconciliationView(r: PayoutReconciliation) {
  return {
    ok: r.ok,
    since: new Date(r.sinceMs).toISOString(),
    cashoutsChecked: r.cashoutsChecked,
    railRecordsChecked: r.railRecordsChecked,
    differences: r.differences.map((d) => ({
      kind: d.kind,
      rail: d.rail,
      cashoutId: d.cashoutId,
      ours: side(d.ours),
      atRail: side(d.atRail),
      detail: d.detail,
    })),
  };
}

/**
 * `GET /v1/admin/reconciliation/payouts?since=`: every cash-out past `approved` against what its
 * rail holds (docs/payouts.md#reconciliation). `since` defaults to `payouts.reconcileWindowDays`
 * back on the service clock.
 */
export function payoutReconciliationRoutes(
  app: GiftstreamApp,
  reconcile: (sinceMs: number) => Promise<PayoutReconciliation>,
  defaultSince: () => number,
): void {
  app.get(
    "/v1/admin/reconciliation/payouts",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Payout reconciliation: cash-outs against the rails' records",
        tags: ["cashouts", "admin"],
        querystring: Type.Object(
          {
            since: Type.Optional(
              Type.String({
                format: "date-time",
                description: "Cash-outs created from then on are compared.",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: ReconciliationView,
          ...errorResponses(
            "invalid_request",
            "reconciliation_too_large",
            "unauthenticated",
            "forbidden",
            "rate_limited",
          ),
        },
      },
    },
    async (request, reply) => {
      const since = request.query.since;
      const sinceMs = since === undefined ? defaultSince() : dateTimeMs(since, "since");
      const report = await reconcile(sinceMs);
      return reply.header("cache-control", "no-store").send(reconciliationView(report));
    },
  );
}
