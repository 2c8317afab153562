import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { EnvSecretKeySource } from "./key-env.js";
import { FileSecretKeySource } from "./key-file.js";
import { keyringOf, parseSecretKey, secretKeyOf } from "./secret-key.js";

const bytes = Buffer.from(Array.from({ length: 32 }, (_, i) => i));
let dir: string | null = null;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

describe("secret keys", () => {
  it.each([
    ["hex", bytes.toString("hex")],
    ["upper-case hex", bytes.toString("hex").toUpperCase()],
    ["base64", bytes.toString("base64")],
    ["base64 without padding", bytes.toString("base64").replace(/=$/, "")],
    ["base64url", bytes.toString("base64url")],
    ["base64 with a newline", `${bytes.toString("base64")}\n`],
  ])("reads a key written as %s", (_name, text) => {
    expect(parseSecretKey(text).bytes.equals(bytes)).toBe(true);
  });

  it.each([
    ["16 bytes", Buffer.alloc(16).toString("hex")],
    ["33 bytes", Buffer.alloc(33).toString("base64")],
    ["a passphrase", "correct horse battery staple correct horse"],
    ["empty", ""],
  ])("refuses %s, without quoting it", (_name, text) => {
    expect(() => parseSecretKey(text)).toThrow(/32 bytes/);
    expect(() => new EnvSecretKeySource(text).load()).toThrow(/^GIFTSTREAM_SECRET_KEY/);
  });

  it("derives the same 4-byte id from the same key, and different ids from different keys", () => {
    expect(secretKeyOf(bytes).id.equals(secretKeyOf(Buffer.from(bytes)).id)).toBe(true);
    expect(secretKeyOf(bytes).id).toHaveLength(4);
    expect(secretKeyOf(Buffer.alloc(32)).id.equals(secretKeyOf(bytes).id)).toBe(false);
  });

  it("builds a keyring holding each key once: the first seals, every one opens", () => {
    const other = secretKeyOf(Buffer.alloc(32, 9));
    const keyring = keyringOf([secretKeyOf(bytes), other]);
    expect(keyring.current.bytes.equals(bytes)).toBe(true);
    expect(keyring.byId(other.id)?.bytes.equals(other.bytes)).toBe(true);
    expect(keyring.byId(Buffer.alloc(4))).toBeUndefined();
    expect(() => keyringOf([])).toThrow(/at least one key/);
    expect(() => keyringOf([secretKeyOf(bytes), other, secretKeyOf(bytes)])).toThrow(/given twice/);
    // Two different keys whose ids collide (1 in 2^32): refused, rather than one picked.
    expect(() => keyringOf([other, { id: other.id, bytes: Buffer.alloc(32, 1) }])).toThrow(/given twice/);
  });

  it("generates a key file once, mode 0600, and reads the same key after", () => {
    dir = mkdtempSync(join(tmpdir(), "giftstream-key-"));
    const path = join(dir, "nested", "secret.key");
    const first = new FileSecretKeySource(path).load();
    expect(statSync(path).mode & 0o777).toBe(0o600);
    const second = new FileSecretKeySource(path).load();
    expect(second[0]!.bytes.equals(first[0]!.bytes)).toBe(true);
    expect(parseSecretKey(readFileSync(path, "utf8")).bytes.equals(first[0]!.bytes)).toBe(true);
  });

  it("refuses a damaged key file rather than replacing it", () => {
    dir = mkdtempSync(join(tmpdir(), "giftstream-key-"));
    const path = join(dir, "secret.key");
    writeFileSync(path, "not a key\n", { mode: 0o600 });
    expect(() => new FileSecretKeySource(path).load()).toThrow(/restore the original file/);
    expect(readFileSync(path, "utf8")).toBe("not a key\n");
  });
});
