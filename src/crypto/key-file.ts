import { randomBytes } from "node:crypto";
import { mkdirSync, readFileSync, statSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { SecretKeySource } from "./key-source.js";
import { parseSecretKey, type SecretKey, secretKeyBytes } from "./secret-key.js";

/** Owner read and write only: the file is the key to every sealed value. */
const fileMode = 0o600;

/**
 * A key generated on first start into the data directory, as one line of base64 (the same text
 * `GIFTSTREAM_SECRET_KEY` accepts, so moving it there is a copy), mode 0600, and reused after.
 */
export class FileSecretKeySource implements SecretKeySource {
  readonly kind = "file";

  constructor(private readonly path: string) {}

  load(): SecretKey[] {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      return [this.create()];
    }
    this.refuseLoosePermissions();
    return [this.parse(text)];
  }

  /** `wx`: of several processes starting at once, one creates the key and the others read it. */
  private create(): SecretKey {
    mkdirSync(dirname(this.path), { recursive: true });
    const text = `${randomBytes(secretKeyBytes).toString("base64")}\n`;
    try {
      writeFileSync(this.path, text, { mode: fileMode, flag: "wx" });
      return this.parse(text);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      return this.parse(readFileSync(this.path, "utf8"));
    }
  }

  /** As ssh does with private keys: a key others can read is refused rather than used. */
  private refuseLoosePermissions(): void {
    if (process.platform === "win32") return;
    const mode = statSync(this.path).mode & 0o777;
    if ((mode & 0o077) !== 0) {
      throw new Error(
        `${this.path}: the encryption key is readable by others (mode ${mode.toString(8)}); run chmod 600 on it`,
      );
    }
  }

  private parse(text: string): SecretKey {
    try {
      return parseSecretKey(text);
    } catch (error) {
      // Deleting the file would make every sealed value unreadable: say so instead of regenerating.
      throw new Error(
        `${this.path}: ${(error as Error).message}; restore the original file (a new key cannot open what the old one sealed)`,
      );
    }
  }
}
