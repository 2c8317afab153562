import type { SwaggerTransform } from "@fastify/swagger";
import type {
  FastifyReply,
  FastifyRequest,
  onSendHookHandler,
  preHandlerHookHandler,
  RouteOptions,
} from "fastify";
import type { Logger } from "pino";
import Type from "typebox";
import { type Sealer, sealContext } from "../crypto/sealed.js";
import { type ErrorCode, GiftstreamError } from "../errors.js";
import type { GiftstreamApp } from "./app.js";
import { requestFingerprint, scopedKey } from "./idempotency.js";
import { isOperatorRoute } from "./operator-routes.js";
import { errorResponses, problemContentType } from "./problem.js";

declare module "fastify" {
  interface FastifyContextConfig {
    /**
     * `own`: the route's service keeps its own idempotency record, in the same transaction as the
     * value it moves (purchases, refunds, bonus coins, gifts, cash-outs), and needs the key.
     * Every other POST under /v1 takes an optional key, and its answer is kept here for replay.
     */
    idempotency?: "own";
  }
  interface FastifyRequest {
    /** The key this request holds while it runs, once its answer is to be kept. */
    replayClaim: Claim | null;
  }
}

/** A held key: named with its lease, so a holder whose lease was taken over can no longer finish it. */
export interface Claim {
  key: string;
  leaseUntilMs: number;
}

/** A key as stored: its request's sealed fingerprint, and its answer once it has one. */
export interface HeldKey {
  fingerprint: Uint8Array;
  /** null while its request runs. */
  status: number | null;
  /** The sealed answer; null while its request runs. */
  reply: Uint8Array | null;
  leaseUntilMs: number;
}

export interface ReplyStore {
  /** Takes a key no one holds; false if it is held or answered already. */
  insert(claim: Claim, fingerprint: Uint8Array, createdAtMs: number): Promise<boolean>;
  get(key: string): Promise<HeldKey | undefined>;
  /** Takes a key whose lease ran out at `heldUntilMs`, if no one else took it first. */
  takeOver(claim: Claim, heldUntilMs: number): Promise<boolean>;
  /** Keeps the answer; false if the claim was lost (its lease taken over). */
  finish(claim: Claim, status: number, reply: Uint8Array): Promise<boolean>;
  /** Gives the key back unanswered, so a retry runs the request. */
  release(claim: Claim): Promise<void>;
  /** Removes up to `rowsMax` keys created before `beforeMs`; how many went. */
  purge(beforeMs: number, rowsMax: number): Promise<number>;
}

type ClaimOutcome =
  | { kind: "claimed"; claim: Claim }
  /** Answered before: its status and its sealed answer. */
  | { kind: "replay"; status: number; reply: Uint8Array }
  /** Held by a request still running (its lease has not run out). */
  | { kind: "in_use" }
  /** Used before with another request. */
  | { kind: "reused" };

export interface ReplayOptions {
  store: ReplyStore;
  sealer: Sealer;
  /** The service clock: when a key was taken, for its retention (as the ledger's keys). */
  clock: () => number;
  /**
   * The real clock, for leases: a test clock may stand still or jump, which would hold a key
   * for good or free every key at once.
   */
  realClock?: () => number;
  /** `server.replayLeaseMs` */
  leaseMs: number;
  /** `server.replayBytesMax` */
  bytesMax: number;
  logger: Logger;
}

/** What a kept answer holds besides its status. */
interface KeptReply {
  headers: Record<string, string>;
  body: string;
  /** A binary answer's body is kept in base64. */
  base64?: true;
}

/** Headers an answer is replayed with; the rest (request id, caching) belong to the retry. */
const keptHeaders = ["content-type", "location"] as const;

/** An answer's sealing context: a kept answer copied to another key does not open. */
export function replyContext(key: string): string {
  return sealContext("http_replies", "reply", key);
}

/** A fingerprint's sealing context. */
export function fingerprintContext(key: string): string {
  return sealContext("http_replies", "fingerprint", key);
}

/**
 * DESIGN §5: "Other POSTs accept [an Idempotency-Key]. A replay returns the first response." For
 * every POST under /v1 that does not keep its own records (`config.idempotency: "own"`) and is not
 * a provider's webhook, a request with the header:
 * - takes its key (scoped to the caller and route) before its handler runs;
 * - with a key answered before for the same request, gets that answer again, with
 *   `Idempotent-Replayed: true`, and nothing runs;
 * - with a key answered for another request (other path, query or body), gets 422
 *   `idempotency_key_reused`; with one whose request still runs, 409 `idempotency_key_in_use`.
 * The answer is kept, sealed, before it is sent, unless it is a 5xx or a 429: those change nothing
 * to replay, and the key is given back so that a retry runs. Call before the routes are added: it
 * hooks each route as it is added, so the routes it does not cover pay nothing.
 */
export function registerReplays(app: GiftstreamApp, o: ReplayOptions): void {
  app.decorateRequest("replayClaim", null);
  app.addHook("onRoute", (route) => {
    if (!takesKey(route)) return;
    const own = route.config?.idempotency === "own";
    // The OpenAPI document shows the header on every POST, required where the route keeps its
    // own records; validation is left as it is (the routes and the hook below check the key).
    route.config = { ...route.config, swaggerTransform: documentKey(own) };
    if (own) return;
    route.preHandler = [...hooksOf(route.preHandler), claimHook(o) as preHandlerHookHandler];
    route.onSend = [keepHook(o) as onSendHookHandler, ...hooksOf(route.onSend)];
  });
}

/** A POST under /v1 that is not a provider's webhook: every such route takes a key. */
function takesKey(route: RouteOptions): boolean {
  const methods = Array.isArray(route.method) ? route.method : [route.method];
  if (!methods.includes("POST")) return false;
  return isOperatorRoute(route.url);
}

const keyDescription = {
  own: "Required: this request moves value. 1–255 visible ASCII characters; a retry with the same key and body gets the first answer (docs/api.md#idempotency).",
  replayed:
    "Optional. 1–255 visible ASCII characters; a retry with the same key and request gets the first answer, with Idempotent-Replayed: true (docs/api.md#idempotency).",
};

/** The codes a route's documented problem answers of `status` list. */
function documentedCodes(response: Record<string, unknown>, status: number): ErrorCode[] {
  const entry = response[status] as {
    content?: Record<string, { schema?: { properties?: { code?: { enum?: unknown } } } }>;
  };
  const codes = entry?.content?.[problemContentType]?.schema?.properties?.code?.enum;
  return Array.isArray(codes) ? (codes as ErrorCode[]) : [];
}

function documentKey(own: boolean): SwaggerTransform {
  return ({ schema, url }) => {
    const key = Type.String({
      minLength: 1,
      maxLength: 255,
      description: own ? keyDescription.own : keyDescription.replayed,
    });
    const headers = Type.Object({ "idempotency-key": own ? key : Type.Optional(key) });
    if (own) return { url, schema: { ...schema, headers } };
    // What a key can answer besides the route's own problems: a malformed key, a key in use, a key
    // used with another request.
    const response = { ...(schema.response as Record<string, unknown> | undefined) };
    const added: Record<number, ErrorCode> = {
      400: "invalid_request",
      409: "idempotency_key_in_use",
      422: "idempotency_key_reused",
    };
    for (const [status, code] of Object.entries(added)) {
      const codes = new Set([...documentedCodes(response, Number(status)), code]);
      Object.assign(response, errorResponses(...codes));
    }
    return { url, schema: { ...schema, headers, response } };
  };
}

function hooksOf<T>(hooks: T | T[] | undefined): T[] {
  if (hooks === undefined) return [];
  return Array.isArray(hooks) ? hooks : [hooks];
}

function claimHook(o: ReplayOptions) {
  return async (request: FastifyRequest, reply: FastifyReply): Promise<FastifyReply | undefined> => {
    // A route may list other methods beside POST; only its POSTs are covered.
    if (request.method !== "POST" || request.headers["idempotency-key"] === undefined) return undefined;
    const key = scopedKey(request, "An Idempotency-Key header must be 1–255 visible ASCII characters.");
    const outcome = await claimKey(o, key, Buffer.from(requestFingerprint(request), "utf8"));
    switch (outcome.kind) {
      case "claimed":
        request.replayClaim = outcome.claim;
        return undefined;
      case "in_use":
        throw new GiftstreamError("idempotency_key_in_use");
      case "reused":
        throw new GiftstreamError(
          "idempotency_key_reused",
          "This Idempotency-Key was used with another request (path, query or body).",
        );
      case "replay": {
        const kept = JSON.parse(
          o.sealer.open(outcome.reply, replyContext(key)).toString("utf8"),
        ) as KeptReply;
        reply.code(outcome.status).headers(kept.headers).header("idempotent-replayed", "true");
        return reply.send(kept.base64 ? Buffer.from(kept.body, "base64") : kept.body);
      }
    }
  };
}

async function claimKey(o: ReplayOptions, key: string, fingerprint: Buffer): Promise<ClaimOutcome> {
  const now = (o.realClock ?? Date.now)();
  const claim: Claim = { key, leaseUntilMs: now + o.leaseMs };
  const sealed = o.sealer.seal(fingerprint, fingerprintContext(key));
  if (await o.store.insert(claim, sealed, o.clock())) return { kind: "claimed", claim };
  const held = await o.store.get(key);
  // Purged between the two statements: its request is older than the retention. Rare; retry.
  if (held === undefined) return { kind: "in_use" };
  if (!o.sealer.open(held.fingerprint, fingerprintContext(key)).equals(fingerprint))
    return { kind: "reused" };
  if (held.status !== null && held.reply !== null) {
    return { kind: "replay", status: held.status, reply: held.reply };
  }
  if (held.leaseUntilMs > now) return { kind: "in_use" };
  return (await o.store.takeOver(claim, held.leaseUntilMs)) ? { kind: "claimed", claim } : { kind: "in_use" };
}

function keepHook(o: ReplayOptions) {
  return async (request: FastifyRequest, reply: FastifyReply, payload: unknown): Promise<unknown> => {
    const claim = request.replayClaim;
    if (claim === null) return payload;
    request.replayClaim = null;
    const status = reply.statusCode;
    const body = bodyOf(payload);
    // A failure or a rate limit is not this request's answer for good; a retry should run.
    const keep = status < 500 && status !== 429 && body !== undefined && body.bytes <= o.bytesMax;
    try {
      if (!keep) {
        await o.store.release(claim);
        return payload;
      }
      const headers: Record<string, string> = {};
      for (const name of keptHeaders) {
        const value = reply.getHeader(name);
        if (value !== undefined) headers[name] = String(value);
      }
      const kept: KeptReply = body.base64
        ? { headers, body: body.text, base64: true }
        : { headers, body: body.text };
      const sealed = o.sealer.seal(Buffer.from(JSON.stringify(kept), "utf8"), replyContext(claim.key));
      if (!(await o.store.finish(claim, status, sealed))) {
        request.log.warn({ status }, "an answer was not kept: its Idempotency-Key's lease ran out first");
      }
    } catch (error) {
      // The answer goes out anyway: the request ran. Its key stays held until its lease runs out,
      // and a retry after that runs it again.
      o.logger.error({ err: error }, "could not keep the answer to an Idempotency-Key");
    }
    return payload;
  };
}

/** A serialized answer's body as kept; undefined for a stream, which is not kept. */
function bodyOf(payload: unknown): { text: string; base64: boolean; bytes: number } | undefined {
  if (payload === undefined || payload === null) return { text: "", base64: false, bytes: 0 };
  if (typeof payload === "string") return { text: payload, base64: false, bytes: Buffer.byteLength(payload) };
  if (Buffer.isBuffer(payload))
    return { text: payload.toString("base64"), base64: true, bytes: payload.length };
  return undefined;
}
