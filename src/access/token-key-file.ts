import { mkdirSync, readFileSync, renameSync, writeFileSync } from "node:fs";
import { dirname } from "node:path";
import type { TokenKeySource } from "./token-key-source.js";
import { generateTokenKey, type TokenKey, tokenSecretBytes } from "./token-keys.js";

/** Owner read and write only: the file holds secrets. */
const fileMode = 0o600;

interface StoredKey {
  kid: string;
  secret: string;
  createdAt: number;
  retiresAt: number | null;
}

/**
 * Keys in a JSON file of the data directory, mode 0600, generated on first use. Written whole to a
 * temporary file and renamed, so that a reader never sees half a rotation.
 */
export class FileTokenKeySource implements TokenKeySource {
  readonly kind = "file";

  constructor(
    private readonly path: string,
    private readonly clock: () => number,
  ) {}

  read(): TokenKey[] {
    let text: string;
    try {
      text = readFileSync(this.path, "utf8");
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "ENOENT") throw error;
      return this.create();
    }
    return parseKeys(text, this.path);
  }

  write(keys: readonly TokenKey[]): void {
    const temporary = `${this.path}.${process.pid}.tmp`;
    writeFileSync(temporary, serialize(keys), { mode: fileMode });
    renameSync(temporary, this.path);
  }

  /** The first key. `wx` lets one of several processes starting at once create it; the others read it. */
  private create(): TokenKey[] {
    mkdirSync(dirname(this.path), { recursive: true });
    const keys = [generateTokenKey(this.clock())];
    try {
      writeFileSync(this.path, serialize(keys), { mode: fileMode, flag: "wx" });
      return keys;
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code !== "EEXIST") throw error;
      return parseKeys(readFileSync(this.path, "utf8"), this.path);
    }
  }
}

function serialize(keys: readonly TokenKey[]): string {
  const stored: StoredKey[] = keys.map((k) => ({
    kid: k.kid,
    secret: Buffer.from(k.secret).toString("base64url"),
    createdAt: k.createdAt,
    retiresAt: k.retiresAt,
  }));
  return `${JSON.stringify({ keys: stored }, null, 2)}\n`;
}

/** The keys of the file; a file that is not one this server wrote stops the start, rather than guessing. */
function parseKeys(text: string, path: string): TokenKey[] {
  const fail = (problem: string): never => {
    throw new Error(`${path}: ${problem}; fix or delete it (deleting signs every user out)`);
  };
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    return fail("is not valid JSON");
  }
  const stored = (parsed as { keys?: unknown } | null)?.keys;
  if (!Array.isArray(stored) || stored.length === 0) return fail("holds no `keys`");
  const keys = stored.map((entry: Partial<StoredKey>, index): TokenKey => {
    const secret = typeof entry.secret === "string" ? Buffer.from(entry.secret, "base64url") : undefined;
    const ok =
      typeof entry.kid === "string" &&
      /^[A-Za-z0-9_-]{1,64}$/.test(entry.kid) &&
      secret !== undefined &&
      secret.length >= tokenSecretBytes &&
      Number.isSafeInteger(entry.createdAt) &&
      (entry.retiresAt === null || Number.isSafeInteger(entry.retiresAt));
    if (!ok) return fail(`key ${index} is malformed`);
    return {
      kid: entry.kid!,
      secret: new Uint8Array(secret!),
      createdAt: entry.createdAt!,
      retiresAt: entry.retiresAt!,
    };
  });
  if (keys[0]!.retiresAt !== null) return fail("its first key, the one that signs, is retired");
  return keys;
}
