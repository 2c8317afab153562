export {
  type BuildAppOptions,
  buildApp,
  type GiftstreamApp,
  type LoggerOption,
  redactedPaths,
} from "./app.js";
export { mapError, requestPath, requestProblem } from "./error-handler.js";
export {
  errorResponses,
  type Problem,
  problemContentType,
  problemOf,
  problemSchema,
  problemTypeBase,
  sendProblem,
} from "./problem.js";
export type { HealthChecks, HealthReport } from "./routes/health.js";
