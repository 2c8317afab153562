import { STATUS_CODES } from "node:http";
import type { Socket } from "node:net";
import type { FastifyError, FastifyReply, FastifyRequest, FastifySchemaValidationError } from "fastify";
import { type ErrorCode, InvariantViolation, isGiftstreamError } from "../errors.js";
import { isPostgresUnavailable } from "../store/postgres/unavailable.js";
import { type Problem, problemContentType, problemOf, sendProblem } from "./problem.js";

/** Longest request path echoed back in `instance` and `detail`. */
const pathLengthMax = 256;

/** The request's path without its query string (which may hold anything), cut to a sane length. */
export function requestPath(request: FastifyRequest): string {
  const url = request.url;
  const end = url.indexOf("?");
  const path = end === -1 ? url : url.slice(0, end);
  return path.length > pathLengthMax ? `${path.slice(0, pathLengthMax)}…` : path;
}

/** Builds a problem about `request`, carrying its path and id. */
export function requestProblem(
  request: FastifyRequest,
  code: ErrorCode,
  detail: string,
  extra?: Record<string, unknown>,
): Problem {
  return problemOf(code, detail, {
    instance: requestPath(request),
    extra: { ...extra, requestId: request.id },
  });
}

interface Mapped {
  code: ErrorCode;
  detail: string;
  extra?: Record<string, unknown>;
}

const fastifyCodes: Readonly<Record<string, Mapped>> = {
  FST_ERR_CTP_BODY_TOO_LARGE: { code: "payload_too_large", detail: "The request body is too large." },
  FST_ERR_CTP_INVALID_MEDIA_TYPE: {
    code: "unsupported_media_type",
    detail: "The request body must be application/json.",
  },
  FST_ERR_CTP_INVALID_JSON_BODY: { code: "invalid_request", detail: "The request body is not valid JSON." },
  FST_ERR_CTP_EMPTY_JSON_BODY: {
    code: "invalid_request",
    detail: "The request body is empty but its content type is application/json.",
  },
  FST_ERR_CTP_INVALID_CONTENT_LENGTH: {
    code: "invalid_request",
    detail: "The request body's size does not match its Content-Length.",
  },
  FST_ERR_BAD_URL: { code: "invalid_request", detail: "The request URL is malformed." },
  FST_ERR_MAX_PARAM_LENGTH: { code: "invalid_request", detail: "A path parameter is too long." },
};

/**
 * Decides what the client is told about an error. Only GiftstreamErrors and Fastify's own request
 * errors say what went wrong; anything else is an internal error whose message stays in the log.
 */
export function mapError(error: unknown): Mapped {
  if (isGiftstreamError(error)) {
    return error.extra === undefined
      ? { code: error.code, detail: error.message }
      : { code: error.code, detail: error.message, extra: { ...error.extra } };
  }
  if (!(error instanceof Error) || error instanceof InvariantViolation) return internal;
  if (isPostgresUnavailable(error)) return unavailable;
  const fastifyError = error as FastifyError;
  if (fastifyError.validation !== undefined) {
    return describeValidation(fastifyError.validationContext ?? "request", fastifyError.validation);
  }
  const known = typeof fastifyError.code === "string" ? fastifyCodes[fastifyError.code] : undefined;
  if (known !== undefined) return known;
  // Fastify's and its plugins' other client errors (bad Content-Type header, proto poisoning...).
  const status = fastifyError.statusCode;
  if (typeof status === "number" && status >= 400 && status < 500) {
    if (status === 404) return { code: "not_found", detail: "No such resource." };
    return { code: "invalid_request", detail: "The request is malformed." };
  }
  return internal;
}

const internal: Mapped = { code: "internal_error", detail: "An unexpected error occurred." };
const unavailable: Mapped = {
  code: "database_unavailable",
  detail: "The database refused the work for now and nothing was done; retry with the same idempotency key.",
};

function describeValidation(where: string, errors: readonly FastifySchemaValidationError[]): Mapped {
  const first = errors[0];
  if (first === undefined) return { code: "invalid_request", detail: `The ${where} is invalid.` };
  let pointer = first.instancePath;
  let message = first.message ?? "is invalid";
  if (first.keyword === "additionalProperties") {
    pointer += `/${String(first.params.additionalProperty)}`;
    message = "is not allowed (unknown field)";
  } else if (first.keyword === "required") {
    pointer += `/${String(first.params.missingProperty)}`;
    message = "is required";
  }
  return {
    code: "invalid_request",
    detail: `${where}${pointer} ${message}`,
    extra: { errors: [{ in: where, pointer, detail: message }] },
  };
}

/** Fastify's error handler: every error becomes a problem+json response. */
export function errorHandler(error: unknown, request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const mapped = mapError(error);
  const problem = requestProblem(request, mapped.code, mapped.detail, mapped.extra);
  if (error instanceof InvariantViolation) request.log.fatal({ err: error }, "invariant violated");
  else if (mapped.code === "internal_error" || mapped.code === "database_unavailable")
    request.log.error({ err: error }, "failed");
  else request.log.info({ code: problem.code, status: problem.status }, problem.detail);
  return sendProblem(reply, problem);
}

/** No route matches: 404 `not_found`. */
export function notFoundHandler(request: FastifyRequest, reply: FastifyReply): FastifyReply {
  const detail = `No route ${request.method} ${requestPath(request)}.`;
  return sendProblem(reply, requestProblem(request, "not_found", detail));
}

/**
 * Errors Node's HTTP parser raises before a request exists (malformed request line, headers too
 * large, request timeout). Answered with problem+json on the raw socket, then the socket is closed.
 */
export function clientErrorHandler(error: NodeJS.ErrnoException, socket: Socket): void {
  if (error.code === "ECONNRESET" || socket.destroyed) return;
  const problem =
    error.code === "ERR_HTTP_REQUEST_TIMEOUT"
      ? problemOf("request_timeout", "The request was not received in time.")
      : error.code === "HPE_HEADER_OVERFLOW"
        ? problemOf("invalid_request", "The request headers are too large.")
        : problemOf("invalid_request", "The request is not valid HTTP.");
  const body = JSON.stringify(problem);
  if (socket.writable) {
    socket.write(
      `HTTP/1.1 ${problem.status} ${STATUS_CODES[problem.status]}\r\nConnection: close\r\nContent-Type: ${problemContentType}\r\nContent-Length: ${Buffer.byteLength(body)}\r\n\r\n${body}`,
    );
  }
  socket.destroy(error);
}
