import { join } from "node:path";
import { type Config, ConfigError, databaseLocation } from "../config/index.js";
import { EnvTokenKeySource } from "./token-key-env.js";
import { FileTokenKeySource } from "./token-key-file.js";
import type { TokenKey } from "./token-keys.js";

/**
 * Where the keys that sign user tokens live. The first key signs; the others only verify, until
 * they retire.
 */
export interface TokenKeySource {
  /** `file` (generated into the data directory) or `env` (`GIFTSTREAM_TOKEN_SECRET`). */
  readonly kind: "file" | "env";
  /** The keys stored now, the signing key first. */
  read(): TokenKey[];
  /** Stores the keys after a rotation; a source that is not ours to write refuses (`token_keys_from_env`). */
  write(keys: readonly TokenKey[]): void;
}

export const tokenKeysFileName = "token-keys.json";

/**
 * The one place that picks the source: the operator's secret when configured, else keys generated
 * into the data directory. On a shared database (`databaseUrl`) the secret must come from the
 * environment: a token signed by one process must verify in every other.
 */
export function tokenKeySource(config: Config, clock: () => number): TokenKeySource {
  const { tokenSecret, tokenSecretPrevious } = config.auth;
  if (tokenSecret !== undefined) return new EnvTokenKeySource(tokenSecret, tokenSecretPrevious);
  if (databaseLocation(config).kind === "postgres") {
    throw new ConfigError([
      "auth.tokenSecret: with DATABASE_URL set, GIFTSTREAM_TOKEN_SECRET must be set too, the same in every process (docs/postgres.md)",
    ]);
  }
  return new FileTokenKeySource(join(config.dataDir, tokenKeysFileName), clock);
}
