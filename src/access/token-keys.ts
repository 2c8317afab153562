import { createHash, randomBytes } from "node:crypto";
import { invariant } from "../errors.js";

/** A secret that signs and verifies user tokens (HS256). */
export interface TokenKey {
  /** Named in each token's `kid` header, so that verification picks the right key after a rotation. */
  kid: string;
  secret: Uint8Array;
  createdAt: number;
  /**
   * Null while the key may sign. Once rotated out, the time after which it verifies nothing: by then
   * every token it signed has expired.
   */
  retiresAt: number | null;
}

/** 256 bits: HS256's own strength, and what RFC 7518 asks of its keys at least. */
export const tokenSecretBytes = 32;

export function generateTokenKey(now: number): TokenKey {
  return {
    kid: `tkey_${randomBytes(9).toString("base64url")}`,
    secret: randomBytes(tokenSecretBytes),
    createdAt: now,
    retiresAt: null,
  };
}

/**
 * A key from a secret an operator supplies. Its kid is derived from the secret (a short prefix of its
 * SHA-256, which tells nothing useful about a secret of 32 or more characters), so that every
 * process given the same secret names it alike.
 */
export function suppliedTokenKey(secret: string): TokenKey {
  const kid = `env_${createHash("sha256").update(secret).digest("base64url").slice(0, 12)}`;
  return { kid, secret: new TextEncoder().encode(secret), createdAt: 0, retiresAt: null };
}

/** The key that signs new tokens: always the first. */
export function signingKey(keys: readonly TokenKey[]): TokenKey {
  const key = keys[0];
  invariant(key !== undefined && key.retiresAt === null, "the first token key exists and may sign");
  return key;
}

/** The key a token names, unless it is unknown or retired at `now`. */
export function verifyingKey(keys: readonly TokenKey[], kid: string, now: number): TokenKey | undefined {
  const key = keys.find((k) => k.kid === kid);
  return key !== undefined && (key.retiresAt === null || now < key.retiresAt) ? key : undefined;
}

/**
 * The keys after a rotation: a fresh key signs from now on, the others retire at `retiresAt` (or keep
 * an earlier retirement), and keys already retired are dropped.
 */
export function rotated(keys: readonly TokenKey[], now: number, retiresAt: number): TokenKey[] {
  const kept = keys
    .map((k) => ({ ...k, retiresAt: k.retiresAt === null ? retiresAt : Math.min(k.retiresAt, retiresAt) }))
    .filter((k) => now < k.retiresAt);
  return [generateTokenKey(now), ...kept];
}
