import Type from "typebox";
import type { GiftstreamApp } from "../app.js";

export interface HealthReport {
  ok: boolean;
  details?: Record<string, unknown>;
}

export interface HealthChecks {
  health(): Promise<HealthReport>;
}

const Healthy = Type.Object(
  { status: Type.Literal("ok") },
  { additionalProperties: true, description: "Ready to serve; details from the checks ride along." },
);
const Unavailable = Type.Object(
  { status: Type.Literal("unavailable") },
  { additionalProperties: false, description: "Not ready: a check failed. Details are logged, not shown." },
);

/** `GET /healthz`: 200 while the checks pass, 503 otherwise, for load balancers and orchestrators. */
export function healthRoutes(app: GiftstreamApp, checks: HealthChecks): void {
  app.get(
    "/healthz",
    {
      schema: {
        summary: "Health check",
        tags: ["operations"],
        response: { 200: Healthy, 503: Unavailable },
      },
    },
    async (request, reply) => {
      let report: HealthReport;
      try {
        report = await checks.health();
      } catch (error) {
        request.log.error({ err: error }, "health check failed");
        report = { ok: false };
      }
      if (!report.ok) {
        request.log.warn({ details: report.details }, "unhealthy");
        return reply.code(503).send({ status: "unavailable" as const });
      }
      return reply.code(200).send({ ...report.details, status: "ok" as const });
    },
  );
}
