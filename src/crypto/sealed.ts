import { createCipheriv, createDecipheriv, randomBytes } from "node:crypto";
import type { Keyring } from "./secret-key.js";

/**
 * Layout of a sealed value: format version (1 byte), key id (4), nonce (12), GCM tag (16), then the
 * ciphertext. The version and key id let a later release rotate keys or change the format while
 * still opening what is stored.
 */
const formatVersion = 1;
const keyIdBytes = 4;
const nonceBytes = 12;
const tagBytes = 16;
const headerBytes = 1 + keyIdBytes;
const overheadBytes = headerBytes + nonceBytes + tagBytes;

/** A sealed value did not open: the wrong key, a damaged value, or a value moved to another row. */
export class SealedValueError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "SealedValueError";
  }
}

/**
 * Where a sealed value belongs, e.g. `kyc.submission:usr_1`. It is the GCM additional data: a value
 * copied into another column or another user's row no longer opens.
 */
export function sealContext(table: string, column: string, rowId: string): string {
  return `${table}.${column}:${rowId}`;
}

/**
 * Encryption at rest: AES-256-GCM with a fresh random 96-bit nonce per value. With random nonces
 * one key is good for about 2^32 values, far beyond what KYC and payout methods write.
 */
export class Sealer {
  constructor(private readonly keyring: Keyring) {}

  seal(plaintext: Uint8Array, context: string): Buffer {
    const key = this.keyring.current;
    const header = Buffer.concat([Buffer.of(formatVersion), key.id]);
    const nonce = randomBytes(nonceBytes);
    const cipher = createCipheriv("aes-256-gcm", key.bytes, nonce, { authTagLength: tagBytes });
    cipher.setAAD(additionalData(header, context));
    const body = Buffer.concat([cipher.update(plaintext), cipher.final()]);
    return Buffer.concat([header, nonce, cipher.getAuthTag(), body]);
  }

  open(sealed: Uint8Array, context: string): Buffer {
    const value = Buffer.from(sealed.buffer, sealed.byteOffset, sealed.byteLength);
    if (value.length < overheadBytes || value[0] !== formatVersion) {
      throw new SealedValueError("not a sealed value of a known format");
    }
    const header = value.subarray(0, headerBytes);
    const key = this.keyring.byId(header.subarray(1));
    if (key === undefined) throw new SealedValueError("sealed under a key this server does not have");
    const nonce = value.subarray(headerBytes, headerBytes + nonceBytes);
    const tag = value.subarray(headerBytes + nonceBytes, overheadBytes);
    const decipher = createDecipheriv("aes-256-gcm", key.bytes, nonce, { authTagLength: tagBytes });
    decipher.setAAD(additionalData(header, context));
    decipher.setAuthTag(tag);
    try {
      return Buffer.concat([decipher.update(value.subarray(overheadBytes)), decipher.final()]);
    } catch {
      throw new SealedValueError(`the sealed value does not open as ${context}`);
    }
  }

  /**
   * Whether `sealed` (a whole value, or only its first `sealedHeaderBytes`) is under the key that
   * seals now: a rotation's reseal leaves it as it is.
   */
  isCurrent(sealed: Uint8Array): boolean {
    return sealedKeyId(sealed)?.equals(this.keyring.current.id) ?? false;
  }

  sealJson(value: unknown, context: string): Buffer {
    return this.seal(Buffer.from(JSON.stringify(value), "utf8"), context);
  }

  openJson<T>(sealed: Uint8Array, context: string): T {
    return JSON.parse(this.open(sealed, context).toString("utf8")) as T;
  }
}

/** The first bytes of a sealed value that name its key: enough to tell whether it needs resealing. */
export const sealedHeaderBytes = headerBytes;

/** The id of the key `sealed` names (its header alone will do), or undefined for an unknown format. */
export function sealedKeyId(sealed: Uint8Array): Buffer | undefined {
  if (sealed.length < headerBytes || sealed[0] !== formatVersion) return undefined;
  return Buffer.from(sealed.subarray(1, headerBytes));
}

/** The header is authenticated too, so a value relabelled with another key id fails as well. */
function additionalData(header: Buffer, context: string): Buffer {
  return Buffer.concat([header, Buffer.from(context, "utf8")]);
}
