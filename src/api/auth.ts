import type { Access } from "../access/access.js";
import { type ApiKey, grants, type Scope } from "../access/api-keys.js";
import { GiftstreamError } from "../errors.js";
import type { GiftstreamApp } from "./app.js";

/** Who is calling. User tokens join this union when they exist. */
export type Principal = { kind: "api_key"; key: ApiKey };

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
  }
}

const bearerPattern = /^Bearer ([\x21-\x7e]{1,256})$/;

/** The actor recorded in the audit log for a request. */
export function actorOf(principal: Principal | null): string {
  return principal ? principal.key.id : "anonymous";
}

/**
 * Every /v1 route except /v1/webhooks/* needs an operator key (`Authorization: Bearer …`): 401
 * without a valid one, 403 when its scopes do not cover the route's `config.scope`. Provider
 * webhooks carry their own signatures instead.
 */
export function registerAuth(app: GiftstreamApp, access: Access): void {
  app.decorateRequest("principal", null);
  app.addHook("onRequest", async (request, reply) => {
    const route = request.routeOptions.url;
    if (route === undefined || !route.startsWith("/v1/") || route.startsWith("/v1/webhooks/")) return;
    const match = bearerPattern.exec(request.headers.authorization ?? "");
    const key = match ? await access.authenticate(match[1]!) : undefined;
    if (!key) {
      reply.header("www-authenticate", 'Bearer realm="giftstream"');
      throw new GiftstreamError("unauthenticated", "Send a valid API key as `Authorization: Bearer <key>`.");
    }
    const needed = request.routeOptions.config.scope ?? "server";
    if (!grants(key, needed)) {
      throw new GiftstreamError("forbidden", `This route needs the \`${needed}\` scope.`);
    }
    request.principal = { kind: "api_key", key };
  });
}
