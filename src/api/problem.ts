import type { FastifyReply } from "fastify";
import Type from "typebox";
import { type ErrorCode, errorCatalogue, errorCodes } from "../errors.js";

/** RFC 9457 media type of every error response. */
export const problemContentType = "application/problem+json";

/**
 * `type` of a problem: this prefix and the code. It identifies the error and names its row in
 * docs/errors.md; clients branch on `code`, which holds the same word.
 */
export const problemTypeBase = "https://giftstream.dev/errors/";

/** An RFC 9457 problem with Giftstream's stable `code`. Extra members carry machine-readable facts. */
export interface Problem {
  type: string;
  title: string;
  status: number;
  detail: string;
  code: ErrorCode;
  instance?: string;
  [extra: string]: unknown;
}

export interface ProblemOptions {
  /** The request path the problem is about. */
  instance?: string;
  /** Extension members, e.g. `requestId`, `errors`. They never replace the standard members. */
  extra?: Readonly<Record<string, unknown>>;
}

const standardMembers = new Set(["type", "title", "status", "detail", "code", "instance"]);

export function problemOf(code: ErrorCode, detail: string, options: ProblemOptions = {}): Problem {
  const entry = errorCatalogue[code];
  const problem: Problem = {
    type: `${problemTypeBase}${code}`,
    title: entry.title,
    status: entry.status,
    detail,
    code,
  };
  if (options.instance !== undefined) problem.instance = options.instance;
  for (const [name, value] of Object.entries(options.extra ?? {})) {
    if (!standardMembers.has(name)) problem[name] = value;
  }
  return problem;
}

/** Sends a problem. Bigints in extension members go out as strings, as every amount does. */
export function sendProblem(reply: FastifyReply, problem: Problem): FastifyReply {
  const body = JSON.stringify(problem, (_key, value) =>
    typeof value === "bigint" ? value.toString() : value,
  );
  return reply.code(problem.status).type(problemContentType).send(body);
}

/** The schema of a problem whose `code` is one of `codes`. */
export function problemSchema(codes: readonly ErrorCode[] = errorCodes) {
  return Type.Object(
    {
      type: Type.String({ description: `${problemTypeBase}<code>` }),
      title: Type.String(),
      status: Type.Integer({ minimum: 400, maximum: 599 }),
      detail: Type.String(),
      code: Type.Enum([...codes], { description: "Stable error code; see docs/errors.md." }),
      instance: Type.Optional(Type.String({ description: "The request path." })),
      requestId: Type.Optional(Type.String({ description: "The request id, as logged." })),
    },
    { additionalProperties: true, description: "RFC 9457 problem details" },
  );
}

/**
 * Response entries documenting the errors a route can answer with, grouped by status, for a route's
 * `schema.response`: `response: { 200: Ok, ...errorResponses("invalid_request", "not_found") }`.
 */
export function errorResponses(...codes: ErrorCode[]) {
  const byStatus = new Map<number, ErrorCode[]>();
  for (const code of codes) {
    const status = errorCatalogue[code].status;
    byStatus.set(status, [...(byStatus.get(status) ?? []), code]);
  }
  const responses: Record<number, unknown> = {};
  for (const [status, statusCodes] of byStatus) {
    responses[status] = {
      description: statusCodes.map((code) => `\`${code}\`: ${errorCatalogue[code].title}`).join("; "),
      content: { [problemContentType]: { schema: problemSchema(statusCodes) } },
    };
  }
  return responses;
}
