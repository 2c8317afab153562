import { Writable } from "node:stream";
import { pino } from "pino";
import { describe, expect, it } from "vitest";
import { loadConfig } from "../config/index.js";
import { parseSecretKey } from "../crypto/secret-key.js";
import { openSealer } from "./identity.js";

const current = "a".repeat(64);
const previous = ["b".repeat(64), "c".repeat(64)];

function capture() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      lines.push(JSON.parse(String(chunk)) as Record<string, unknown>);
      done();
    },
  });
  return { lines, logger: pino({ level: "info" }, stream) };
}

describe("openSealer", () => {
  it("logs the ids of the key it seals under and of the keys it also opens with, never the keys", async () => {
    const config = loadConfig({
      env: { GIFTSTREAM_SECRET_KEY: current, GIFTSTREAM_SECRET_KEY_PREVIOUS: previous.join(",") },
    });
    const { lines, logger } = capture();
    const sealer = openSealer(config, logger);
    await new Promise((resolve) => setImmediate(resolve));
    const id = (text: string) => parseSecretKey(text).id.toString("hex");
    expect(lines).toHaveLength(1);
    expect(lines[0]).toMatchObject({
      encryptionKeyId: id(current),
      previousEncryptionKeyIds: previous.map(id),
    });
    const text = JSON.stringify(lines[0]);
    for (const key of [current, ...previous]) expect(text).not.toContain(key);
    // And it seals under the current key, opening what a previous key sealed.
    const old = openSealer(loadConfig({ env: { GIFTSTREAM_SECRET_KEY: previous[1]! } }));
    const sealed = old.seal(Buffer.from("x"), "t.c:1");
    expect(sealer.open(sealed, "t.c:1").toString()).toBe("x");
    expect(sealer.isCurrent(sealer.seal(Buffer.from("y"), "t.c:1"))).toBe(true);
  });
});
