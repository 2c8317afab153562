import { randomUUID } from "node:crypto";
import type { TypeBoxTypeProvider } from "@fastify/type-provider-typebox";
import Fastify, {
  type FastifyBaseLogger,
  type FastifyInstance,
  type FastifyServerOptions,
  LogController,
  type RawReplyDefaultExpression,
  type RawRequestDefaultExpression,
  type RawServerDefault,
} from "fastify";
import type { Logger } from "pino";
import type { Config } from "../config/index.js";
import { clientErrorHandler, errorHandler, notFoundHandler, requestProblem } from "./error-handler.js";
import { useStrictJsonParser } from "./json-body.js";
import { lazyChildLogger } from "./lazy-logger.js";
import { refuseUnstorable } from "./nul-text.js";
import { registerOpenApi } from "./openapi.js";
import { isOperatorRoute } from "./operator-routes.js";
import { sendProblem } from "./problem.js";
import { type HealthChecks, healthRoutes } from "./routes/health.js";
import { refuseUnexpectedBody, refuseUnexpectedQuery } from "./undeclared-input.js";

/** A Fastify instance whose routes infer their request and reply types from TypeBox schemas. */
export type GiftstreamApp = FastifyInstance<
  RawServerDefault,
  RawRequestDefaultExpression,
  RawReplyDefaultExpression,
  FastifyBaseLogger,
  TypeBoxTypeProvider
>;

export type LoggerOption = Logger | FastifyServerOptions["logger"];

export interface BuildAppOptions {
  config: Config;
  /**
   * A pino logger to log through, or Fastify logger options (`false` for silence). By default pino
   * writes JSON to stdout at `config.log.level`. Credentials are redacted either way.
   */
  logger?: LoggerOption;
  checks: HealthChecks;
}

/** Credentials never reach the log, whether headers are logged bare or inside a request or reply. */
export const redactedPaths = ["authorization", "cookie", "set-cookie", "x-api-key"].flatMap((header) => [
  `headers["${header}"]`,
  `*.headers["${header}"]`,
]);

const requestIdPattern = /^[A-Za-z0-9._:-]{1,128}$/;

/** The caller's `X-Request-Id` when it is a sane token, else a fresh UUID. */
function requestId(request: RawRequestDefaultExpression): string {
  const header = request.headers["x-request-id"];
  return typeof header === "string" && requestIdPattern.test(header) ? header : randomUUID();
}

function loggerOptions(
  config: Config,
  logger: LoggerOption,
): Pick<FastifyServerOptions, "logger" | "loggerInstance"> {
  const redact = { paths: redactedPaths, censor: "[redacted]" };
  if (isPinoLogger(logger)) return { loggerInstance: logger.child({}, { redact }) };
  if (logger === false) return { logger: false };
  const options = typeof logger === "object" && logger !== null ? logger : {};
  return { logger: { level: config.log.level, ...options, redact } };
}

function isPinoLogger(logger: LoggerOption): logger is Logger {
  return typeof logger === "object" && logger !== null && typeof (logger as Logger).child === "function";
}

/**
 * Builds the HTTP API: TypeBox-validated routes that reject unknown fields, OpenAPI at
 * `/openapi.json` and `/docs`, RFC 9457 problem+json for every error, and `GET /healthz`.
 * Not yet `ready()`: the composition root adds its routes, then calls `listen`.
 */
export async function buildApp(options: BuildAppOptions): Promise<GiftstreamApp> {
  const { config } = options;
  const app = Fastify({
    ...loggerOptions(config, options.logger),
    bodyLimit: config.server.bodyLimitBytes,
    requestTimeout: config.server.requestTimeoutMs,
    http: {
      // Node enforces no request timeout at all while headersTimeout (60 s by default) exceeds it,
      // and checks only every 30 s by default, which would stretch a short limit.
      headersTimeout: Math.min(60_000, config.server.requestTimeoutMs),
      connectionsCheckingInterval: Math.min(1000, config.server.requestTimeoutMs),
    },
    // Answered below as a problem+json `shutting_down`, rather than Fastify's plain JSON 503.
    return503OnClosing: false,
    genReqId: requestId,
    childLoggerFactory: lazyChildLogger,
    // A live stream's id (a gift's `context.id`) is a path parameter of up to 128 characters.
    routerOptions: { maxParamLength: 128 },
    logController: new LogController({ disableRequestLogging: !config.log.requests }),
    requestIdHeader: false,
    // No HEAD twin for every GET: a HEAD of the live event stream held its headers back until an
    // end that never comes, and hung with a subscriber's slot. HEAD is a 404 like any other method.
    exposeHeadRoutes: false,
    onProtoPoisoning: "error",
    onConstructorPoisoning: "error",
    clientErrorHandler,
    frameworkErrors: (error, request, reply) => {
      errorHandler(error, request, reply);
    },
    ajv: {
      // Fastify strips unknown fields by default and coerces types; money must do neither.
      customOptions: { removeAdditional: false, coerceTypes: false, useDefaults: true, allErrors: false },
    },
  }).withTypeProvider<TypeBoxTypeProvider>();

  // Only JSON bodies: a text/plain body is a 415, not a string handed to a schema.
  app.removeContentTypeParser("text/plain");
  useStrictJsonParser(app);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler(notFoundHandler);

  let closing = false;
  app.addHook("preClose", async () => {
    closing = true;
  });
  // Hooks that do not wait take `done` rather than being async: every request runs them, and an
  // async hook costs a promise and a turn of the microtask queue each.
  app.addHook("onRequest", (request, reply, done) => {
    reply.header("x-request-id", request.id);
    // Every API answer is about someone's money or person, as of now: no cache (a browser's, a
    // proxy's) may keep or replay one. Routes that carry personal data set it themselves too.
    if (request.url.startsWith("/v1/")) reply.header("cache-control", "no-store");
    if (closing) {
      reply.header("connection", "close");
      const detail = "The server is shutting down; retry against another instance.";
      // Answered here, so `done` is not called (Fastify's rule for a hook that replies).
      sendProblem(reply, requestProblem(request, "shutting_down", detail));
      return;
    }
    done();
  });

  // After parsing, before the schemas: a NUL or a lone surrogate anywhere in the request's text is a 400 (nul-text.ts).
  // A throw here reaches the error handler as an async hook's rejection would.
  app.addHook("preValidation", (request, _reply, done) => {
    refuseUnstorable([request.params, request.query, request.body]);
    const schema = request.routeOptions.schema;
    if (schema?.body === undefined) refuseUnexpectedBody(request.body);
    // Provider webhooks are left alone: an operator may register their URL with a parameter.
    if (schema?.querystring === undefined && isOperatorRoute(request.routeOptions.url))
      refuseUnexpectedQuery(request.query);
    done();
  });

  await registerOpenApi(app);
  healthRoutes(app, options.checks);
  return app;
}
