import Type from "typebox";
import type { Access } from "../../access/access.js";
import { type ApiKey, apiKeyNameLengthMax, scopes } from "../../access/api-keys.js";
import type { GiftstreamApp } from "../app.js";
import { actorOf } from "../auth.js";
import { errorResponses } from "../problem.js";

const ScopeSchema = Type.Union([Type.Literal("admin"), Type.Literal("server")], {
  description: "`admin` may do everything; `server` everything but /v1/admin.",
});

const ApiKeyView = Type.Object(
  {
    id: Type.String(),
    name: Type.String(),
    scopes: Type.Array(ScopeSchema),
    prefix: Type.String({ description: "The first characters of the secret, to tell keys apart." }),
    createdAt: Type.String({ format: "date-time" }),
    revokedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  },
  { additionalProperties: false },
);

const CreatedKey = Type.Object(
  {
    ...ApiKeyView.properties,
    key: Type.String({ description: "The secret. Shown only in this response; store it now." }),
  },
  { additionalProperties: false },
);

const authErrors = ["unauthenticated", "forbidden"] as const;

export function viewOf(key: ApiKey) {
  return {
    id: key.id,
    name: key.name,
    scopes: key.scopes,
    prefix: key.prefix,
    createdAt: new Date(key.createdAt).toISOString(),
    revokedAt: key.revokedAt === null ? null : new Date(key.revokedAt).toISOString(),
  };
}

/** `POST/GET/DELETE /v1/admin/api-keys`: operator keys, hashed at rest, shown once. */
export function apiKeyRoutes(app: GiftstreamApp, access: Access): void {
  app.post(
    "/v1/admin/api-keys",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Create an API key",
        tags: ["access"],
        body: Type.Object(
          {
            name: Type.String({ minLength: 1, maxLength: apiKeyNameLengthMax }),
            scopes: Type.Array(ScopeSchema, { minItems: 1, maxItems: scopes.length, uniqueItems: true }),
          },
          { additionalProperties: false },
        ),
        response: { 201: CreatedKey, ...errorResponses("invalid_request", ...authErrors) },
      },
    },
    async (request, reply) => {
      const created = await access.createKey(request.body, actorOf(request.principal));
      return reply.code(201).send({ ...viewOf(created.key), key: created.secret });
    },
  );

  app.get(
    "/v1/admin/api-keys",
    {
      config: { scope: "admin" },
      schema: {
        summary: "List API keys (never their secrets)",
        tags: ["access"],
        response: { 200: Type.Object({ data: Type.Array(ApiKeyView) }), ...errorResponses(...authErrors) },
      },
    },
    async () => ({ data: (await access.listKeys()).map(viewOf) }),
  );

  app.delete(
    "/v1/admin/api-keys/:id",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Revoke an API key",
        tags: ["access"],
        params: Type.Object({ id: Type.String({ maxLength: 64 }) }, { additionalProperties: false }),
        response: { 200: ApiKeyView, ...errorResponses("not_found", "last_admin_key", ...authErrors) },
      },
    },
    async (request) => viewOf(await access.revokeKey(request.params.id, actorOf(request.principal))),
  );
}
