import Type from "typebox";
import type { Access } from "../../access/access.js";
import type { TokenKeyView, UserTokens } from "../../access/user-tokens.js";
import type { Users } from "../../economy/users/users.js";
import { GiftstreamError } from "../../errors.js";
import type { GiftstreamApp } from "../app.js";
import { actorOf } from "../auth.js";
import { errorResponses } from "../problem.js";
import { UserIdParams } from "./users.js";

/** The schema's bound on a requested lifetime; `auth.userTokenTtlMs` bounds it further. */
const ttlMsMax = 86_400_000;
const authErrors = ["unauthenticated", "forbidden"] as const;

const MintedView = Type.Object(
  {
    token: Type.String({ description: "The JWT, sent as `Authorization: Bearer <token>`." }),
    tokenType: Type.Literal("Bearer"),
    userId: Type.String(),
    tokenId: Type.String({ description: "The token's `jti`." }),
    issuedAt: Type.String({ format: "date-time" }),
    expiresAt: Type.String({ format: "date-time" }),
  },
  { additionalProperties: false },
);

const KeysView = Type.Object(
  {
    source: Type.Union([Type.Literal("file"), Type.Literal("env")], {
      description: "`file`: generated into the data directory; `env`: GIFTSTREAM_TOKEN_SECRET.",
    }),
    data: Type.Array(
      Type.Object(
        {
          kid: Type.String(),
          createdAt: Type.String({ format: "date-time" }),
          retiresAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()], {
            description: "When it stops verifying; null while it signs (or comes from the environment).",
          }),
          signing: Type.Boolean({ description: "Whether it signs new tokens; exactly one does." }),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);

const iso = (ms: number) => new Date(ms).toISOString();

function keysView(tokens: UserTokens, keys: TokenKeyView[]) {
  return {
    source: tokens.sourceKind,
    data: keys.map((k) => ({
      kid: k.kid,
      createdAt: iso(k.createdAt),
      retiresAt: k.retiresAt === null ? null : iso(k.retiresAt),
      signing: k.signing,
    })),
  };
}

/** An optional JSON body: a bare POST means the defaults. */
async function emptyBodyIsDefaults(request: { body: unknown }): Promise<void> {
  if (request.body === undefined) request.body = {};
}

/** Minting user tokens, and the admin's view and rotation of the keys that sign them. */
export function userTokenRoutes(app: GiftstreamApp, tokens: UserTokens, users: Users, access: Access): void {
  app.post(
    "/v1/users/:userId/tokens",
    {
      preValidation: emptyBodyIsDefaults,
      schema: {
        summary: "Mint a user token",
        description:
          "Needs a `server` or `admin` key (never a user token). The token acts only as this user; see docs/auth.md.",
        tags: ["access"],
        params: UserIdParams,
        body: Type.Object(
          {
            ttlMs: Type.Optional(
              Type.Integer({
                minimum: 1000,
                maximum: ttlMsMax,
                description: "Shorter than the default `auth.userTokenTtlMs`, never longer.",
              }),
            ),
          },
          { additionalProperties: false },
        ),
        response: { 201: MintedView, ...errorResponses("invalid_request", "not_found", ...authErrors) },
      },
    },
    async (request, reply) => {
      const ttlMs = request.body.ttlMs ?? tokens.ttlMs;
      if (ttlMs > tokens.ttlMs) {
        throw new GiftstreamError(
          "invalid_request",
          `ttlMs is at most ${tokens.ttlMs} (auth.userTokenTtlMs)`,
        );
      }
      const user = await users.get(request.params.userId);
      const minted = await tokens.mint(user.id, ttlMs);
      // A bearer credential: no cache may keep it (RFC 6749 §5.1).
      reply.header("cache-control", "no-store");
      return reply.code(201).send({
        token: minted.token,
        tokenType: "Bearer" as const,
        userId: minted.userId,
        tokenId: minted.tokenId,
        issuedAt: iso(minted.issuedAt),
        expiresAt: iso(minted.expiresAt),
      });
    },
  );

  app.get(
    "/v1/admin/token-keys",
    {
      config: { scope: "admin" },
      schema: {
        summary: "List the keys that sign user tokens (never their secrets)",
        tags: ["access"],
        response: { 200: KeysView, ...errorResponses(...authErrors) },
      },
    },
    async () => keysView(tokens, tokens.view()),
  );

  app.post(
    "/v1/admin/token-keys/rotate",
    {
      config: { scope: "admin" },
      preValidation: emptyBodyIsDefaults,
      schema: {
        summary: "Rotate the user-token signing key",
        description:
          "A fresh key signs from now on; the previous ones verify until the tokens they signed expire, or stop at once with `retirePrevious`. Audited.",
        tags: ["access"],
        body: Type.Object(
          {
            retirePrevious: Type.Optional(
              Type.Boolean({ description: "For a leaked key: every token signed before now stops working." }),
            ),
          },
          { additionalProperties: false },
        ),
        response: {
          200: KeysView,
          ...errorResponses("invalid_request", "token_keys_from_env", ...authErrors),
        },
      },
    },
    async (request) => {
      const { before, after } = tokens.rotate(request.body.retirePrevious ?? false);
      // Key ids and times only: the audit log never holds a secret.
      await access.audit(actorOf(request.principal), "token_key.rotate", after[0]!.kid, before, after);
      return keysView(tokens, after);
    },
  );
}
