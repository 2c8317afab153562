import type { SecretKeySource } from "./key-source.js";
import { parseSecretKey, previousSecretKeysMax, type SecretKey } from "./secret-key.js";

const label = "GIFTSTREAM_SECRET_KEY_PREVIOUS (encryption.previousKeys)";

/**
 * The keys of `GIFTSTREAM_SECRET_KEY_PREVIOUS` (`encryption.previousKeys`): comma-separated, each
 * written as `GIFTSTREAM_SECRET_KEY` is. Messages name the key by its place in the list, never
 * by its value.
 */
export function parsePreviousKeys(text: string): SecretKey[] {
  const parts = text.split(",");
  if (parts.length > previousSecretKeysMax) {
    throw new Error(`${label}: holds ${parts.length} keys, at most ${previousSecretKeysMax}`);
  }
  return parts.map((part, index) => {
    try {
      return parseSecretKey(part);
    } catch (error) {
      throw new Error(`${label}: key ${index + 1}: ${(error as Error).message}`);
    }
  });
}

/**
 * A key source with the keys a rotation keeps after it: the source's key seals, and values sealed
 * under an earlier key still open until `giftstream reseal` has moved them (docs/kyc.md).
 */
export class WithPreviousKeys implements SecretKeySource {
  readonly kind: SecretKeySource["kind"];

  constructor(
    private readonly source: SecretKeySource,
    private readonly previousText: string,
  ) {
    this.kind = source.kind;
  }

  load(): SecretKey[] {
    // Parsed first: a malformed list stops the start before a key file is generated.
    const previous = parsePreviousKeys(this.previousText);
    const keys = this.source.load();
    const seen = new Set(keys.map((key) => key.id.toString("hex")));
    for (const [index, key] of previous.entries()) {
      const hex = key.id.toString("hex");
      if (seen.has(hex)) throw new Error(`${label}: key ${index + 1} ${repeated(keys, key)}`);
      seen.add(hex);
    }
    return [...keys, ...previous];
  }
}

/** The current key given again means nothing would rotate: most likely the wrong value was copied. */
function repeated(current: readonly SecretKey[], key: SecretKey): string {
  return current.some((c) => c.id.equals(key.id))
    ? "is the current key (encryption.key, or the generated secret.key), not an earlier one"
    : "repeats an earlier key of the list";
}
