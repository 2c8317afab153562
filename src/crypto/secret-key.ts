import { createHmac } from "node:crypto";

/** AES-256 needs exactly this many key bytes. */
export const secretKeyBytes = 32;

/** A data-encryption key with the id that every value sealed under it carries. */
export interface SecretKey {
  /** 4 bytes, written into each sealed value so that opening picks the right key after a rotation. */
  readonly id: Buffer;
  readonly bytes: Buffer;
}

/**
 * The key of 32 raw bytes. Its id is derived from the key (an HMAC under the key itself, which says
 * nothing useful about it), so every process given the same key names it alike.
 */
export function secretKeyOf(bytes: Uint8Array): SecretKey {
  if (bytes.length !== secretKeyBytes) {
    throw new Error(`an encryption key is ${secretKeyBytes} bytes, not ${bytes.length}`);
  }
  const key = Buffer.from(bytes);
  const id = createHmac("sha256", key).update("giftstream secret key id").digest().subarray(0, 4);
  return { id: Buffer.from(id), bytes: key };
}

/**
 * Reads a key written as text: 64 hex digits, or base64 / base64url of 32 bytes (43 characters and
 * an optional `=`). Anything else is refused, never padded or truncated into a weaker key.
 */
export function parseSecretKey(text: string): SecretKey {
  const trimmed = text.trim();
  if (/^[0-9a-fA-F]{64}$/.test(trimmed)) return secretKeyOf(Buffer.from(trimmed, "hex"));
  if (/^[A-Za-z0-9+/_-]{43}=?$/.test(trimmed)) {
    const bytes = Buffer.from(
      trimmed.replaceAll("+", "-").replaceAll("/", "_").replace(/=$/, ""),
      "base64url",
    );
    if (bytes.length === secretKeyBytes) return secretKeyOf(bytes);
  }
  throw new Error(`an encryption key is ${secretKeyBytes} bytes written as 64 hex digits or as base64`);
}

/** The keys a process can open values with; `current` seals new ones. */
export interface Keyring {
  readonly current: SecretKey;
  byId(id: Uint8Array): SecretKey | undefined;
}

/**
 * The ids of `keys` (the first seals, the rest only open), in hex: what an operator compares across
 * processes during a rotation, and safe to print, since an id tells nothing of its key.
 */
export function keyIdsOf(keys: readonly SecretKey[]): { current: string; previous: string[] } {
  const [current, ...previous] = keys.map((key) => key.id.toString("hex"));
  if (current === undefined) throw new Error("a keyring needs at least one key");
  return { current, previous };
}

/** Most keys kept for opening beside the one that seals (`encryption.previousKeys`). */
export const previousSecretKeysMax = 8;

/**
 * A keyring from keys in order: the first seals, all open (the others are kept during a rotation).
 * Each key is in it once: a second key with an id already taken would leave the values sealed
 * under one of the two unopenable, so it is refused rather than picked between.
 */
export function keyringOf(keys: readonly SecretKey[]): Keyring {
  const current = keys[0];
  if (current === undefined) throw new Error("a keyring needs at least one key");
  const byHex = new Map<string, SecretKey>();
  for (const key of keys) {
    const hex = key.id.toString("hex");
    if (byHex.has(hex)) throw new Error(`a keyring holds each key once; key id ${hex} is given twice`);
    byHex.set(hex, key);
  }
  return { current, byId: (id) => byHex.get(Buffer.from(id).toString("hex")) };
}
