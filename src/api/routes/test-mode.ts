import Type from "typebox";
import type { ServiceClock } from "../../clock.js";
import type { Purchases } from "../../economy/purchases/purchases.js";
import { GiftstreamError } from "../../errors.js";
import type { GiftstreamApp } from "../app.js";
import { errorResponses } from "../problem.js";

const ClockView = Type.Object(
  {
    now: Type.String({ format: "date-time" }),
    frozen: Type.Boolean({ description: "True once set: the clock then stays until set again." }),
  },
  { additionalProperties: false },
);

/**
 * Test mode only (`testMode: true`, refused in production): routes that simulate what takes time
 * or a provider in real life. Registered only when test mode is on, so they do not exist otherwise.
 */
export function testRoutes(
  app: GiftstreamApp,
  clock: ServiceClock,
  purchases: Purchases,
  /** Sets the clock of every process on the database (src/cli/shared-state.ts). */
  setClock: (ms: number) => Promise<void> = async (ms) => clock.set(ms),
): void {
  const view = () => ({ now: new Date(clock.now()).toISOString(), frozen: clock.isFrozen });

  app.get(
    "/v1/test/clock",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Read the service clock (test mode)",
        tags: ["test mode"],
        response: { 200: ClockView, ...errorResponses("unauthenticated", "forbidden") },
      },
    },
    async () => view(),
  );

  app.post(
    "/v1/test/clock",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Set the service clock (test mode)",
        description: "Freezes every time-based rule at `now`. Time only moves forward.",
        tags: ["test mode"],
        body: Type.Object({ now: Type.String({ format: "date-time" }) }, { additionalProperties: false }),
        response: { 200: ClockView, ...errorResponses("invalid_request", "unauthenticated", "forbidden") },
      },
    },
    async (request) => {
      await setClock(Date.parse(request.body.now));
      return view();
    },
  );

  // What a card network or the provider does on its own, for purchases with the test provider.
  const simulations = {
    refund: (id: string) => purchases.chargeback(id, "test_refund"),
    dispute: (id: string) => purchases.chargeback(id, "test_dispute"),
    "dispute-won": (id: string) => purchases.disputeWon(id, "test_dispute"),
  } as const;
  for (const [action, simulate] of Object.entries(simulations)) {
    app.post(
      `/v1/test/purchases/:purchaseId/${action}`,
      {
        config: { scope: "admin" },
        schema: {
          summary: `Simulate a provider ${action} (test mode)`,
          tags: ["test mode"],
          params: Type.Object(
            { purchaseId: Type.String({ maxLength: 64 }) },
            { additionalProperties: false },
          ),
          response: {
            200: Type.Object({ id: Type.String(), status: Type.String() }),
            ...errorResponses("invalid_request", "not_found", "unauthenticated", "forbidden"),
          },
        },
      },
      async (request) => {
        const purchase = await purchases.get(request.params.purchaseId);
        if (purchase.provider !== "test") {
          throw new GiftstreamError(
            "invalid_request",
            "only purchases of the test provider can be simulated",
          );
        }
        await simulate(purchase.id);
        const after = await purchases.get(purchase.id);
        return { id: after.id, status: after.status };
      },
    );
  }
}
