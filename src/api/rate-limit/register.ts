import rateLimit, { normalizeIP } from "@fastify/rate-limit";
import type { FastifyRequest } from "fastify";
import type { Config } from "../../config/index.js";
import { GiftstreamError } from "../../errors.js";
import type { GiftstreamApp } from "../app.js";
import type { Principal } from "../auth.js";
import { type RateLimitStore, storeConstructor } from "./store.js";

/**
 * Whose count a request adds to: its API key, its user, or else its address (an IPv6 address by its
 * /64, which one client can fill with addresses).
 */
export function rateLimitKey(principal: Principal | null, ip: string): string {
  if (principal === null) return `ip:${normalizeIP(ip)}`;
  return principal.kind === "api_key" ? `key:${principal.key.id}` : `user:${principal.userId}`;
}

/**
 * Limits every route registered after this call, per API key, per user token or (without
 * credentials) per IP address, in windows of `rateLimit.windowMs`. It runs after authentication,
 * which names the caller; requests refused there are not counted. Past the limit: 429
 * `rate_limited` with `Retry-After`. Health and the OpenAPI document, registered earlier, are not
 * limited.
 */
export async function registerRateLimits(
  app: GiftstreamApp,
  limits: Config["rateLimit"],
  store: RateLimitStore,
): Promise<void> {
  const maxOf = (request: FastifyRequest): number => {
    const principal = request.principal;
    if (principal === null) return limits.anonymousRequestsMax;
    return principal.kind === "api_key" ? limits.apiKeyRequestsMax : limits.userRequestsMax;
  };
  await app.register(rateLimit, {
    global: true,
    hook: "onRequest",
    timeWindow: limits.windowMs,
    max: maxOf,
    keyGenerator: (request) => rateLimitKey(request.principal, request.ip),
    store: storeConstructor(store),
    // Headers only on a 429: three more headers on every gift would cost the hot path for nothing.
    addHeadersOnExceeding: {
      "x-ratelimit-limit": false,
      "x-ratelimit-remaining": false,
      "x-ratelimit-reset": false,
    },
    errorResponseBuilder: (_request, context) =>
      new GiftstreamError(
        "rate_limited",
        `More than ${context.max} requests in ${limits.windowMs} ms; retry in ${context.after}.`,
      ),
  });
}
