import { GiftstreamError } from "../errors.js";
import type { TokenKeySource } from "./token-key-source.js";
import { suppliedTokenKey, type TokenKey } from "./token-keys.js";

/**
 * Keys from the environment: `GIFTSTREAM_TOKEN_SECRET` signs, `GIFTSTREAM_TOKEN_SECRET_PREVIOUS` (while
 * set) still verifies. Rotation happens there, by the operator; the API cannot write it.
 */
export class EnvTokenKeySource implements TokenKeySource {
  readonly kind = "env";
  private readonly keys: TokenKey[];

  constructor(secret: string, previous: string | undefined) {
    this.keys = [suppliedTokenKey(secret)];
    if (previous !== undefined && previous !== secret) this.keys.push(suppliedTokenKey(previous));
  }

  read(): TokenKey[] {
    return [...this.keys];
  }

  write(): void {
    throw new GiftstreamError(
      "token_keys_from_env",
      "Set the new secret in GIFTSTREAM_TOKEN_SECRET and the old one in GIFTSTREAM_TOKEN_SECRET_PREVIOUS until its tokens expire, then restart.",
    );
  }
}
