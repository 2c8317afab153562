import Type from "typebox";
import type { ServiceClock } from "../../clock.js";
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
export function testRoutes(app: GiftstreamApp, clock: ServiceClock): void {
  const view = () => ({ now: new Date(clock.now()).toISOString(), frozen: clock.isFrozen });

  app.get(
    "/v1/test/clock",
    {
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
      schema: {
        summary: "Set the service clock (test mode)",
        description: "Freezes every time-based rule at `now`. Time only moves forward.",
        tags: ["test mode"],
        body: Type.Object({ now: Type.String({ format: "date-time" }) }, { additionalProperties: false }),
        response: { 200: ClockView, ...errorResponses("invalid_request", "unauthenticated", "forbidden") },
      },
    },
    async (request) => {
      clock.set(Date.parse(request.body.now));
      return view();
    },
  );
}
