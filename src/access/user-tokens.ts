import { randomBytes, webcrypto } from "node:crypto";
import { errors, jwtVerify, SignJWT } from "jose";
import { userIdPattern } from "../economy/users/user.js";
import { GiftstreamError, invariant, isGiftstreamError } from "../errors.js";
import type { TokenKeySource } from "./token-key-source.js";
import { rotated, signingKey, type TokenKey, verifyingKey } from "./token-keys.js";

/** HS256: the server that mints a token is the only one that verifies it, and HMAC is the fastest check. */
const algorithm = "HS256";
const issuer = "giftstream";
/**
 * How often the keys are read again, so that a process sees a rotation made by another process
 * sharing the data directory. A rotated-out key stays valid this much longer to cover the gap.
 */
export const keysReloadIntervalMs = 5000;
/** A token naming an unknown key reads the keys again at most this often. */
const unknownKidReloadMs = 1000;
/**
 * Tokens remembered once verified. A token is sent again and again for its whole life, and a
 * WebCrypto HMAC check costs about a hundred times more than a map lookup, on the gift path.
 */
const verifiedCacheMax = 10_000;

type CryptoKey = webcrypto.CryptoKey;

const userIdRegExp = new RegExp(userIdPattern);

export interface UserTokenClaims {
  userId: string;
  /** The token's `jti`. */
  tokenId: string;
  /** The token's `iat` and `exp`, in ms. */
  issuedAt: number;
  expiresAt: number;
}

export interface MintedToken extends UserTokenClaims {
  token: string;
}

export interface TokenKeyView {
  kid: string;
  createdAt: number;
  retiresAt: number | null;
  signing: boolean;
}

export interface UserTokensOptions {
  source: TokenKeySource;
  /** The service clock: `iat`, `exp` and expiry checks follow it, so test mode can expire tokens. */
  clock: () => number;
  /** The lifetime of a token, and the longest a mint may ask for. Whole seconds count. */
  ttlMs: number;
  /** When to read the keys again; real time, not the service clock. */
  monotonic?: () => number;
}

/**
 * Short-lived JWTs that let a user's own app act as that user: `sub` is the user, `jti` the token,
 * `iat` and `exp` its lifetime, and the `kid` header the key that signed it.
 */
export class UserTokens {
  private keys: TokenKey[] = [];
  private loadedAt = 0;
  private readonly cryptoKeys = new Map<string, Promise<CryptoKey>>();
  /** By the whole token, signature included: only the exact token verified before can hit. */
  private readonly verified = new Map<string, { claims: UserTokenClaims; kid: string }>();
  private readonly monotonic: () => number;

  constructor(private readonly options: UserTokensOptions) {
    this.monotonic = options.monotonic ?? (() => performance.now());
    this.reload();
  }

  get ttlMs(): number {
    return this.options.ttlMs;
  }

  async mint(userId: string, ttlMs: number = this.options.ttlMs): Promise<MintedToken> {
    invariant(
      ttlMs >= 1000 && ttlMs <= this.options.ttlMs,
      "a token's lifetime is within the configured one",
    );
    const key = signingKey(this.current());
    // JWT times are whole seconds; the lifetime is rounded down so it never exceeds what was asked.
    const issuedS = Math.floor(this.options.clock() / 1000);
    const expiresS = issuedS + Math.floor(ttlMs / 1000);
    const tokenId = `utk_${randomBytes(12).toString("base64url")}`;
    const token = await new SignJWT({})
      .setProtectedHeader({ alg: algorithm, typ: "JWT", kid: key.kid })
      .setIssuer(issuer)
      .setSubject(userId)
      .setJti(tokenId)
      .setIssuedAt(issuedS)
      .setExpirationTime(expiresS)
      .sign(await this.cryptoKey(key));
    return { token, userId, tokenId, issuedAt: issuedS * 1000, expiresAt: expiresS * 1000 };
  }

  /** The claims of a valid token; `unauthenticated` for anything else, saying why. */
  async verify(token: string): Promise<UserTokenClaims> {
    const now = this.options.clock();
    const known = this.verified.get(token);
    if (known !== undefined) {
      // Still unexpired, and its key not retired since: the same answer as a full check.
      if (now < known.claims.expiresAt && verifyingKey(this.current(), known.kid, now)) return known.claims;
      // Otherwise the full check below says exactly why it fails.
      this.verified.delete(token);
    }
    const entry = await this.verifyFully(token, now);
    if (this.verified.size >= verifiedCacheMax) this.verified.delete(this.verified.keys().next().value!);
    this.verified.set(token, entry);
    return entry.claims;
  }

  private async verifyFully(token: string, now: number): Promise<{ claims: UserTokenClaims; kid: string }> {
    let kid = "";
    let payload: Awaited<ReturnType<typeof jwtVerify>>["payload"];
    try {
      ({ payload } = await jwtVerify(
        token,
        (header) => {
          kid = header.kid ?? "";
          return this.keyFor(header.kid, now);
        },
        {
          algorithms: [algorithm],
          issuer,
          currentDate: new Date(now),
          requiredClaims: ["sub", "jti", "iat", "exp"],
        },
      ));
    } catch (error) {
      throw refusal(error);
    }
    const { sub, jti, iat, exp } = payload as { sub: unknown; jti: unknown; iat: number; exp: number };
    // Our own keys sign only what mint wrote; anything else was signed elsewhere with a leaked key.
    if (typeof sub !== "string" || !userIdRegExp.test(sub) || typeof jti !== "string" || jti.length > 64) {
      throw invalid("The user token's claims are malformed.");
    }
    if (exp - iat > Math.floor(this.options.ttlMs / 1000)) {
      throw invalid("The user token lives longer than auth.userTokenTtlMs allows.");
    }
    return { claims: { userId: sub, tokenId: jti, issuedAt: iat * 1000, expiresAt: exp * 1000 }, kid };
  }

  /**
   * A fresh key signs from now on. The others keep verifying until every token they signed has
   * expired, or retire at once with `retirePrevious` (a leaked key: its tokens stop working).
   */
  rotate(retirePrevious: boolean): { before: TokenKeyView[]; after: TokenKeyView[] } {
    this.reload();
    const before = this.view();
    const now = this.options.clock();
    const retiresAt = retirePrevious
      ? now
      : now + Math.floor(this.options.ttlMs / 1000) * 1000 + keysReloadIntervalMs;
    const next = rotated(this.keys, now, retiresAt);
    this.options.source.write(next);
    this.adopt(next);
    return { before, after: this.view() };
  }

  /** The keys in use, never their secrets. */
  view(): TokenKeyView[] {
    const now = this.options.clock();
    return this.current()
      .filter((k) => k.retiresAt === null || now < k.retiresAt)
      .map((k, index) => ({
        kid: k.kid,
        createdAt: k.createdAt,
        retiresAt: k.retiresAt,
        signing: index === 0,
      }));
  }

  get sourceKind(): TokenKeySource["kind"] {
    return this.options.source.kind;
  }

  private current(): TokenKey[] {
    if (this.monotonic() - this.loadedAt >= keysReloadIntervalMs) this.reload();
    return this.keys;
  }

  private reload(): void {
    this.adopt(this.options.source.read());
  }

  private adopt(keys: TokenKey[]): void {
    this.keys = keys;
    this.loadedAt = this.monotonic();
    for (const kid of this.cryptoKeys.keys()) {
      if (!this.keys.some((k) => k.kid === kid)) this.cryptoKeys.delete(kid);
    }
  }

  private keyFor(kid: string | undefined, now: number): Promise<CryptoKey> {
    if (kid === undefined) throw invalid("The user token names no key (`kid`).");
    let key = verifyingKey(this.current(), kid, now);
    if (key === undefined && this.monotonic() - this.loadedAt >= unknownKidReloadMs) {
      // Perhaps another process rotated since the last read.
      this.reload();
      key = verifyingKey(this.keys, kid, now);
    }
    if (key === undefined) throw invalid("The user token was signed by a key that is unknown or retired.");
    return this.cryptoKey(key);
  }

  /** Imported once per key: importing on every verification would cost more than the HMAC itself. */
  private cryptoKey(key: TokenKey): Promise<CryptoKey> {
    let imported = this.cryptoKeys.get(key.kid);
    if (imported === undefined) {
      imported = webcrypto.subtle.importKey("raw", key.secret, { name: "HMAC", hash: "SHA-256" }, false, [
        "sign",
        "verify",
      ]);
      this.cryptoKeys.set(key.kid, imported);
    }
    return imported;
  }
}

function invalid(detail: string): GiftstreamError {
  return new GiftstreamError("unauthenticated", detail);
}

/** What a failed verification tells the caller: enough to act on (mint a new token), no more. */
function refusal(error: unknown): GiftstreamError {
  if (isGiftstreamError(error)) return error;
  if (error instanceof errors.JWTExpired) return invalid("The user token has expired; mint a new one.");
  if (error instanceof errors.JWSSignatureVerificationFailed) {
    return invalid("The user token's signature does not match.");
  }
  if (error instanceof errors.JOSEAlgNotAllowed || error instanceof errors.JOSENotSupported) {
    return invalid(`The user token must be signed with ${algorithm}.`);
  }
  if (error instanceof errors.JOSEError) return invalid("The user token is malformed.");
  throw error;
}
