import { join } from "node:path";
import { ConfigError } from "../config/config-error.js";
import { databaseLocation } from "../config/database-url.js";
import { EnvSecretKeySource } from "./key-env.js";
import { FileSecretKeySource } from "./key-file.js";
import { WithPreviousKeys } from "./key-previous.js";
import type { SecretKey } from "./secret-key.js";

/** Where the key that encrypts personal data at rest comes from. */
export interface SecretKeySource {
  /** `env` (`GIFTSTREAM_SECRET_KEY`) or `file` (generated into the data directory). */
  readonly kind: "env" | "file";
  /**
   * The keys, the one that seals first, then any kept to open values sealed before a rotation.
   * Throws when a key is missing or malformed: start must stop.
   */
  load(): SecretKey[];
}

export const secretKeyFileName = "secret.key";

/**
 * The one place that picks the source: the operator's key when configured, else a key generated into
 * the data directory. On a shared database (`databaseUrl`) the key must come from the environment:
 * a file generated on one host is not on the others, and data sealed there could not be opened.
 * Previous keys (`encryption.previousKeys`) are added after either: they open, never seal.
 */
export function secretKeySource(config: {
  dataDir: string;
  databaseUrl?: string;
  encryption?: { key?: string; previousKeys?: string };
}): SecretKeySource {
  const source = currentKeySource(config);
  const previous = config.encryption?.previousKeys;
  return previous === undefined ? source : new WithPreviousKeys(source, previous);
}

function currentKeySource(config: {
  dataDir: string;
  databaseUrl?: string;
  encryption?: { key?: string };
}): SecretKeySource {
  const key = config.encryption?.key;
  if (key !== undefined) return new EnvSecretKeySource(key);
  if (databaseLocation(config).kind === "postgres") {
    throw new ConfigError([
      "encryption.key: with DATABASE_URL set, GIFTSTREAM_SECRET_KEY must be set too, the same in every process (docs/postgres.md)",
    ]);
  }
  return new FileSecretKeySource(join(config.dataDir, secretKeyFileName));
}
