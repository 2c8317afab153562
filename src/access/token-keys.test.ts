import { describe, expect, it } from "vitest";
import { generateTokenKey, rotated, signingKey, suppliedTokenKey, verifyingKey } from "./token-keys.js";

describe("token keys", () => {
  it("rotates: a fresh key signs, the others retire at the given time, and retired ones go", () => {
    const first = generateTokenKey(0);
    const once = rotated([first], 1000, 5000);
    expect(signingKey(once).kid).not.toBe(first.kid);
    expect(once[1]).toMatchObject({ kid: first.kid, retiresAt: 5000 });
    // A second rotation never postpones a retirement already set.
    const twice = rotated(once, 2000, 9000);
    expect(twice.map((k) => k.retiresAt)).toEqual([null, 9000, 5000]);
    // Rotating with retirement now drops every older key.
    expect(rotated(twice, 3000, 3000)).toHaveLength(1);
    // At 6000 the first key has retired: only the two after it remain behind the fresh one.
    expect(rotated(twice, 6000, 9000).map((k) => k.kid)).toEqual([
      expect.any(String),
      twice[0]!.kid,
      once[0]!.kid,
    ]);
  });

  it("verifies with a key until it retires, and never with an unknown one", () => {
    const keys = rotated([generateTokenKey(0)], 1000, 5000);
    const old = keys[1]!;
    expect(verifyingKey(keys, old.kid, 4999)).toBe(old);
    expect(verifyingKey(keys, old.kid, 5000)).toBeUndefined();
    expect(verifyingKey(keys, keys[0]!.kid, 1e15)).toBe(keys[0]);
    expect(verifyingKey(keys, "tkey_nope", 0)).toBeUndefined();
  });

  it("names a supplied secret's key alike in every process, without the secret in the name", () => {
    const secret = "s".repeat(40);
    expect(suppliedTokenKey(secret).kid).toBe(suppliedTokenKey(secret).kid);
    expect(suppliedTokenKey(secret).kid).not.toContain("sss");
    expect(suppliedTokenKey(secret).kid).not.toBe(suppliedTokenKey("t".repeat(40)).kid);
    expect(generateTokenKey(0).secret).toHaveLength(32);
  });
});
