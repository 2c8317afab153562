import { hash } from "node:crypto";
import type { FastifyRequest } from "fastify";
import { configure } from "safe-stable-stringify";
import { GiftstreamError, invariant } from "../errors.js";
import { actorOf } from "./auth.js";

const canonical = configure({ deterministic: true, bigint: true });
const keyPattern = /^[\x21-\x7e]{1,255}$/;

export interface Idempotency {
  /** The caller's key, scoped to the caller and the route. */
  key: string;
  /** What the key is bound to: the route's parameters and body. */
  fingerprint: string;
}

/**
 * Reads the `Idempotency-Key` header of a value-moving request. A key is scoped to its caller and
 * route, so two callers (or two routes) never share one; the same key with a different body or
 * different path parameters is `idempotency_key_reused`.
 */
export function idempotencyOf(request: FastifyRequest): Idempotency {
  // Such a route must say so, or its answers would be kept a second time by replays.ts.
  invariant(request.routeOptions.config.idempotency === "own", "a route keeping its own records declares it");
  const key = scopedKey(
    request,
    "This request moves value: send an Idempotency-Key header (1–255 visible ASCII characters).",
  );
  // One-shot hashes: no Hash object per call, which halves their cost on the hot path.
  const fingerprint = hash(
    "sha256",
    canonical({ params: request.params, body: request.body }) ?? "",
    "base64url",
  );
  return { key, fingerprint };
}

/**
 * The request's `Idempotency-Key`, scoped to its caller and route; `invalid_request` with `detail`
 * when the header is missing or not 1–255 visible ASCII characters.
 */
export function scopedKey(request: FastifyRequest, detail: string): string {
  const header = request.headers["idempotency-key"];
  if (typeof header !== "string" || !keyPattern.test(header)) {
    throw new GiftstreamError("invalid_request", detail);
  }
  // `key_…` for an API key, `user:<id>` for a user token: a user's keys never meet an operator's.
  const caller = actorOf(request.principal);
  const route = `${request.method} ${request.routeOptions.url ?? request.url}`;
  // Hashed, so a key of any legal length leaves room for what the server derives from it.
  const scoped = hash("sha256", `${caller}\u0000${route}\u0000${header}`, "base64url");
  return `http:${scoped}`;
}

/**
 * What a key of a POST that moves no value is bound to: its path and query parameters and its
 * body (a raw body, such as a CSV upload, by its digest).
 */
export function requestFingerprint(request: FastifyRequest): string {
  const body = request.body;
  const bodyValue =
    typeof body === "string" || Buffer.isBuffer(body) ? { digest: hash("sha256", body, "base64url") } : body;
  return hash(
    "sha256",
    canonical({ params: request.params, query: request.query, body: bodyValue }) ?? "",
    "base64url",
  );
}

/**
 * Refuses a second request with a key still in flight in this process (409). Across processes the
 * ledger's unique idempotency record settles the race: one applies, the other replays.
 */
export class InFlightKeys {
  private readonly keys = new Set<string>();
  private readonly max: number;

  constructor(max = 100_000) {
    this.max = max;
  }

  async run<T>(key: string, work: () => Promise<T>): Promise<T> {
    if (this.keys.has(key)) throw new GiftstreamError("idempotency_key_in_use");
    if (this.keys.size >= this.max) throw new GiftstreamError("overloaded", "too many requests in flight");
    this.keys.add(key);
    try {
      return await work();
    } finally {
      this.keys.delete(key);
    }
  }
}
