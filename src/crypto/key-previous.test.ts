import { randomBytes } from "node:crypto";
import { existsSync, mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { ConfigError } from "../config/config-error.js";
import { EnvSecretKeySource } from "./key-env.js";
import { FileSecretKeySource } from "./key-file.js";
import { parsePreviousKeys, WithPreviousKeys } from "./key-previous.js";
import { secretKeyFileName, secretKeySource } from "./key-source.js";
import { Sealer, sealContext } from "./sealed.js";
import { keyringOf, parseSecretKey, secretKeyOf } from "./secret-key.js";

const hexKey = () => randomBytes(32).toString("hex");
const base64Key = () => randomBytes(32).toString("base64");
const context = sealContext("kyc", "submission", "usr_1");

let dir: string | null = null;
afterEach(() => {
  if (dir) rmSync(dir, { recursive: true, force: true });
  dir = null;
});

describe("previous encryption keys", () => {
  it("reads a comma-separated list, each key written as GIFTSTREAM_SECRET_KEY is", () => {
    const [a, b, c] = [hexKey(), base64Key(), randomBytes(32).toString("base64url")];
    const keys = parsePreviousKeys(` ${a} ,${b},\n${c} `);
    expect(keys.map((k) => k.bytes)).toEqual([a, b, c].map((t) => parseSecretKey(t).bytes));
  });

  it.each([
    ["a short key", (k: string) => `${k},0123abcd`, /key 2: an encryption key is 32 bytes/],
    ["an empty entry", (k: string) => `${k},`, /key 2: an encryption key is 32 bytes/],
    ["a passphrase", () => "correct horse battery staple", /key 1: an encryption key is 32 bytes/],
    ["nine keys", (k: string) => Array(9).fill(k).join(","), /holds 9 keys, at most 8/],
  ])("refuses %s, naming the key by its place and never quoting it", (_name, list, message) => {
    const key = hexKey();
    const text = list(key);
    expect(() => parsePreviousKeys(text)).toThrow(message);
    expect(() => parsePreviousKeys(text)).toThrow(
      /^GIFTSTREAM_SECRET_KEY_PREVIOUS \(encryption\.previousKeys\)/,
    );
    try {
      parsePreviousKeys(text);
    } catch (error) {
      expect((error as Error).message).not.toContain(key);
      expect((error as Error).message).not.toContain("horse");
    }
  });

  it("puts the current key first, to seal, and the previous ones after it, to open", () => {
    const [current, old1, old2] = [hexKey(), hexKey(), base64Key()];
    const keys = new WithPreviousKeys(new EnvSecretKeySource(current), `${old1},${old2}`).load();
    expect(keys.map((k) => k.id)).toEqual([current, old1, old2].map((t) => parseSecretKey(t).id));
    const sealedBefore = new Sealer(keyringOf([parseSecretKey(old2)])).seal(Buffer.from("kept"), context);
    const rotated = new Sealer(keyringOf(keys));
    expect(rotated.open(sealedBefore, context).toString()).toBe("kept");
    expect(rotated.isCurrent(sealedBefore)).toBe(false);
    expect(rotated.isCurrent(rotated.seal(Buffer.from("new"), context))).toBe(true);
  });

  it("refuses the current key given again as a previous one, and a key listed twice", () => {
    const [current, old] = [hexKey(), hexKey()];
    const source = new EnvSecretKeySource(current);
    expect(() => new WithPreviousKeys(source, `${old},${current}`).load()).toThrow(
      /key 2 is the current key \(encryption\.key, or the generated secret\.key\)/,
    );
    // The same key in another encoding is the same key.
    const again = Buffer.from(old, "hex").toString("base64");
    expect(() => new WithPreviousKeys(source, `${old},${again}`).load()).toThrow(
      /key 2 repeats an earlier key of the list/,
    );
  });

  it("with a generated key file: a moved-away key opens, and a new file is generated to seal", () => {
    dir = mkdtempSync(join(tmpdir(), "giftstream-key-"));
    const path = join(dir, secretKeyFileName);
    const [old] = new FileSecretKeySource(path).load();
    const sealedBefore = new Sealer(keyringOf([old!])).seal(Buffer.from("kept"), context);
    const oldText = readFileSync(path, "utf8");
    rmSync(path);

    const source = secretKeySource({ dataDir: dir, encryption: { previousKeys: oldText.trim() } });
    expect(source.kind).toBe("file");
    const keys = source.load();
    expect(keys).toHaveLength(2);
    expect(keys[0]!.bytes.equals(old!.bytes)).toBe(false);
    expect(parseSecretKey(readFileSync(path, "utf8")).bytes.equals(keys[0]!.bytes)).toBe(true);
    expect(new Sealer(keyringOf(keys)).open(sealedBefore, context).toString()).toBe("kept");

    // The unmoved file given as previous too: nothing would rotate, so it is refused.
    const same = secretKeySource({ dataDir: dir, encryption: { previousKeys: readFileSync(path, "utf8") } });
    expect(() => same.load()).toThrow(/key 1 is the current key/);
  });

  it("stops on a malformed list before generating a key file", () => {
    dir = mkdtempSync(join(tmpdir(), "giftstream-key-"));
    const source = secretKeySource({ dataDir: dir, encryption: { previousKeys: "not-a-key" } });
    expect(() => source.load()).toThrow(/key 1/);
    expect(existsSync(join(dir, secretKeyFileName))).toBe(false);
  });

  it("still needs GIFTSTREAM_SECRET_KEY on PostgreSQL, previous keys or not", () => {
    const config = {
      dataDir: "/nonexistent",
      databaseUrl: "postgres://db/giftstream",
      encryption: { previousKeys: hexKey() },
    };
    expect(() => secretKeySource(config)).toThrow(ConfigError);
    const key = hexKey();
    const keys = secretKeySource({ ...config, encryption: { ...config.encryption, key } }).load();
    expect(keys[0]!.id).toEqual(secretKeyOf(Buffer.from(key, "hex")).id);
  });
});
