import type { FastifyReply, FastifyRequest } from "fastify";
import type { Access } from "../access/access.js";
import { type ApiKey, grants, type Scope } from "../access/api-keys.js";
import type { UserTokens } from "../access/user-tokens.js";
import { GiftstreamError, isGiftstreamError } from "../errors.js";
import type { GiftstreamApp } from "./app.js";
import { isOperatorRoute } from "./operator-routes.js";

/** Who is calling: an operator key, or a user token that acts only as its user. */
export type Principal =
  | { kind: "api_key"; key: ApiKey }
  | { kind: "user"; userId: string; tokenId: string; expiresAt: number };

declare module "fastify" {
  interface FastifyContextConfig {
    /** The scope a route needs; `server` by default under /v1. */
    scope?: Scope;
    /**
     * Whether a user token may call the route: absent refuses user tokens (403); "any" lets any
     * user's token in; "self" lets in only the token of the user named by the `userId` path param.
     */
    userToken?: "any" | "self";
  }
  interface FastifyRequest {
    principal: Principal | null;
    /**
     * Whether the request's credential would still be let in now: a long-lived response (the
     * live event stream) asks again as it goes, and ends once a token expires, its signing key is
     * retired, or an API key is revoked.
     */
    stillAuthenticated: (() => Promise<boolean>) | null;
  }
}

/** A JWT's compact form is longer than any API key; 4 KiB bounds what is handed to a verifier. */
// The scheme is case-insensitive (RFC 9110 §11.1): `bearer …` is as good as `Bearer …`.
const bearerPattern = /^Bearer ([\x21-\x7e]{1,4096})$/i;
/** Three base64url parts with a JSON header (`{"` is `eyJ`): a user token, not an API key. */
const jwtPattern = /^eyJ[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*\.[A-Za-z0-9_-]*$/;

/** The actor recorded in the audit log for a request, and the caller an idempotency key belongs to. */
export function actorOf(principal: Principal | null): string {
  if (principal === null) return "anonymous";
  return principal.kind === "api_key" ? principal.key.id : `user:${principal.userId}`;
}

/**
 * For checks the route config cannot make (a user named in the body, or the owner of a resource):
 * a user token may act only as its own user; an operator key may act as anyone.
 */
export function assertActsAs(request: FastifyRequest, userId: string): void {
  const principal = request.principal;
  if (principal?.kind === "user" && principal.userId !== userId) {
    throw new GiftstreamError("forbidden", `This user token acts only as ${principal.userId}.`);
  }
}

/**
 * Every /v1 route except /v1/webhooks/* needs an operator key or a user token (`Authorization:
 * Bearer …`): 401 without a valid one; 403 when a key's scopes do not cover the route's
 * `config.scope`, or when the route does not let this user token in (`config.userToken`). Provider
 * webhooks carry their own signatures instead.
 */
export function registerAuth(app: GiftstreamApp, access: Access, tokens: UserTokens): void {
  app.decorateRequest("principal", null);
  app.decorateRequest("stillAuthenticated", null);
  app.addHook("onRoute", (route) => {
    // An admin route open to user tokens would be a hole; refuse to start with one.
    if (route.config?.scope === "admin" && route.config.userToken !== undefined) {
      throw new Error(`${route.method} ${route.url}: admin routes cannot let user tokens in`);
    }
    if (route.config?.userToken === "self" && !route.url.includes("/:userId")) {
      throw new Error(`${route.method} ${route.url}: "self" needs a userId path parameter`);
    }
  });
  app.addHook("onRequest", async (request, reply) => {
    const route = request.routeOptions.url;
    if (!isOperatorRoute(route)) return;
    const credential = bearerPattern.exec(request.headers.authorization ?? "")?.[1];
    if (credential !== undefined && jwtPattern.test(credential)) {
      const principal = await userPrincipal(tokens, credential, reply);
      admitUser(request, principal);
      request.principal = principal;
      request.stillAuthenticated = () =>
        tokens.verify(credential).then(
          (claims) => claims.userId === principal.userId,
          () => false,
        );
      return;
    }
    const key = credential === undefined ? undefined : await access.authenticate(credential);
    if (!key) {
      reply.header("www-authenticate", 'Bearer realm="giftstream"');
      throw new GiftstreamError(
        "unauthenticated",
        "Send a valid API key or user token as `Authorization: Bearer <credential>`.",
      );
    }
    const needed = request.routeOptions.config.scope ?? "server";
    if (!grants(key, needed)) {
      throw new GiftstreamError("forbidden", `This route needs the \`${needed}\` scope.`);
    }
    request.principal = { kind: "api_key", key };
    // By the key's id: no secret is kept for the lifetime of a long response.
    request.stillAuthenticated = () =>
      access.activeKey(key.id).then(
        (again) => again !== undefined && grants(again, needed),
        () => false,
      );
  });
}

async function userPrincipal(
  tokens: UserTokens,
  token: string,
  reply: FastifyReply,
): Promise<Principal & { kind: "user" }> {
  try {
    const claims = await tokens.verify(token);
    return { kind: "user", userId: claims.userId, tokenId: claims.tokenId, expiresAt: claims.expiresAt };
  } catch (error) {
    // RFC 6750: `invalid_token` tells the client to get a new token rather than retry this one.
    if (isGiftstreamError(error))
      reply.header("www-authenticate", 'Bearer realm="giftstream", error="invalid_token"');
    throw error;
  }
}

function admitUser(request: FastifyRequest, principal: Principal & { kind: "user" }): void {
  const allowed = request.routeOptions.config.userToken;
  if (allowed === undefined) throw new GiftstreamError("forbidden", "User tokens may not call this route.");
  if (allowed === "self") {
    const userId = (request.params as { userId?: unknown } | undefined)?.userId;
    if (userId !== principal.userId) {
      throw new GiftstreamError("forbidden", `This user token acts only as ${principal.userId}.`);
    }
  }
}
