import type { SecretKeySource } from "./key-source.js";
import { parseSecretKey, type SecretKey } from "./secret-key.js";

/** The key the operator supplies in `GIFTSTREAM_SECRET_KEY` (`encryption.key`). */
export class EnvSecretKeySource implements SecretKeySource {
  readonly kind = "env";

  constructor(private readonly text: string) {}

  load(): SecretKey[] {
    try {
      return [parseSecretKey(this.text)];
    } catch (error) {
      // The message names the rule, never the value.
      throw new Error(`GIFTSTREAM_SECRET_KEY (encryption.key): ${(error as Error).message}`);
    }
  }
}
