import Type from "typebox";
import { ageOn, displayNameLengthMax, type User, userIdPattern } from "../../economy/users/user.js";
import type { Users } from "../../economy/users/users.js";
import { isoTime } from "../../iso-time.js";
import type { GiftstreamApp } from "../app.js";
import { actorOf } from "../auth.js";
import { errorResponses } from "../problem.js";

export const UserIdParams = Type.Object(
  { userId: Type.String({ pattern: userIdPattern, description: "Chosen by the operator's app." }) },
  { additionalProperties: false },
);

const UserView = Type.Object(
  {
    id: Type.String(),
    country: Type.String(),
    birthDate: Type.String({ format: "date" }),
    birthDateVerified: Type.Boolean({
      description: "True once identity verification replaced birthDate; a PUT no longer changes it.",
    }),
    displayName: Type.String(),
    status: Type.Union([Type.Literal("active"), Type.Literal("restricted"), Type.Literal("blocked")]),
    statusReason: Type.Union([Type.String(), Type.Null()]),
    age: Type.Integer({ description: "Whole years on the service clock's date." }),
    createdAt: Type.String({ format: "date-time" }),
    updatedAt: Type.String({ format: "date-time" }),
  },
  { additionalProperties: false },
);

const authErrors = ["unauthenticated", "forbidden"] as const;

/**
 * Field by field: `{ ...user, age }` took V8 (Node 20) a slow path, over a microsecond a view, and
 * this is the read every authenticated `GET /v1/users/{id}` serves.
 */
export function userView(user: User, now: number) {
  return {
    id: user.id,
    country: user.country,
    birthDate: user.birthDate,
    birthDateVerified: user.birthDateVerified,
    displayName: user.displayName,
    status: user.status,
    statusReason: user.statusReason,
    age: ageOn(user.birthDate, now),
    createdAt: isoTime(user.createdAt),
    updatedAt: isoTime(user.updatedAt),
  };
}

/** `PUT/GET /v1/users/{userId}` and the admin's restrict, block and unblock. */
export function userRoutes(app: GiftstreamApp, users: Users, clock: () => number): void {
  app.put(
    "/v1/users/:userId",
    {
      schema: {
        summary: "Create or update a user",
        tags: ["users"],
        params: UserIdParams,
        body: Type.Object(
          {
            country: Type.String({ pattern: "^[A-Z]{2}$", description: "ISO 3166-1 alpha-2" }),
            birthDate: Type.String({ pattern: "^\\d{4}-\\d{2}-\\d{2}$", description: "YYYY-MM-DD" }),
            displayName: Type.String({ minLength: 1, maxLength: displayNameLengthMax }),
          },
          { additionalProperties: false },
        ),
        response: { 200: UserView, 201: UserView, ...errorResponses("invalid_request", ...authErrors) },
      },
    },
    async (request, reply) => {
      const { user, created } = await users.put(request.params.userId, request.body);
      return reply.code(created ? 201 : 200).send(userView(user, clock()));
    },
  );

  app.get(
    "/v1/users/:userId",
    {
      config: { userToken: "self" },
      schema: {
        summary: "Read a user",
        tags: ["users"],
        params: UserIdParams,
        response: { 200: UserView, ...errorResponses("not_found", ...authErrors) },
      },
    },
    async (request) => userView(await users.get(request.params.userId), clock()),
  );

  for (const [action, status] of [
    ["restrict", "restricted"],
    ["block", "blocked"],
    ["unblock", "active"],
  ] as const) {
    app.post(
      `/v1/admin/users/:userId/${action}`,
      {
        config: { scope: "admin" },
        // The body is optional: a bare POST means no reason.
        preValidation: async (request) => {
          if (request.body === undefined) request.body = {};
        },
        schema: {
          summary: `${action[0]!.toUpperCase()}${action.slice(1)} a user`,
          tags: ["users"],
          params: UserIdParams,
          body: Type.Object(
            { reason: Type.Optional(Type.String({ minLength: 1, maxLength: 200 })) },
            { additionalProperties: false },
          ),
          response: { 200: UserView, ...errorResponses("invalid_request", "not_found", ...authErrors) },
        },
      },
      async (request) => {
        const reason = status === "active" ? null : (request.body.reason ?? null);
        const user = await users.setStatus(request.params.userId, status, reason, actorOf(request.principal));
        return userView(user, clock());
      },
    );
  }
}
