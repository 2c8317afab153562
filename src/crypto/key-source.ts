import { join } from "node:path";
import { EnvSecretKeySource } from "./key-env.js";
import { FileSecretKeySource } from "./key-file.js";
import type { SecretKey } from "./secret-key.js";

/** Where the key that encrypts personal data at rest comes from. */
export interface SecretKeySource {
  /** `env` (`GIFTSTREAM_SECRET_KEY`) or `file` (generated into the data directory). */
  readonly kind: "env" | "file";
  /** The keys, the one that seals first. Throws when the key is missing or malformed: start must stop. */
  load(): SecretKey[];
}

export const secretKeyFileName = "secret.key";

/**
 * The one place that picks the source: the operator's key when configured, else a key generated into
 * the data directory. (A database shared by several hosts will need the key from the environment: a
 * file on one host is not shared. Issue 9 makes that a rule here.)
 */
export function secretKeySource(config: { dataDir: string; encryption?: { key?: string } }): SecretKeySource {
  const key = config.encryption?.key;
  if (key !== undefined) return new EnvSecretKeySource(key);
  return new FileSecretKeySource(join(config.dataDir, secretKeyFileName));
}
