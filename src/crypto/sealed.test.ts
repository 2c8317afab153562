import { randomBytes } from "node:crypto";
import { describe, expect, it } from "vitest";
import { SealedValueError, Sealer, sealContext, sealedHeaderBytes, sealedKeyId } from "./sealed.js";
import { keyringOf, secretKeyOf } from "./secret-key.js";

const keyA = secretKeyOf(randomBytes(32));
const keyB = secretKeyOf(randomBytes(32));
const context = sealContext("kyc", "submission", "usr_1");

describe("sealed values", () => {
  it("round-trips, with a fresh nonce each time, and hides the plaintext", () => {
    const sealer = new Sealer(keyringOf([keyA]));
    const plaintext = Buffer.from("Jane Doe, passport X1234567");
    const one = sealer.seal(plaintext, context);
    const two = sealer.seal(plaintext, context);
    expect(one.equals(two)).toBe(false);
    expect(one.includes(Buffer.from("Jane"))).toBe(false);
    expect(one.length).toBe(plaintext.length + 33);
    expect(sealer.open(one, context).equals(plaintext)).toBe(true);
    expect(sealer.openJson(sealer.sealJson({ a: [1, "é"] }, context), context)).toEqual({ a: [1, "é"] });
  });

  it("opens nothing bound to another row, column or table", () => {
    const sealer = new Sealer(keyringOf([keyA]));
    const sealed = sealer.seal(Buffer.from("x"), context);
    for (const other of [
      sealContext("kyc", "submission", "usr_2"),
      sealContext("kyc", "document", "usr_1"),
      sealContext("payout_methods", "submission", "usr_1"),
    ]) {
      expect(() => sealer.open(sealed, other)).toThrow(SealedValueError);
    }
  });

  it("detects any flipped bit, a truncation and an unknown format", () => {
    const sealer = new Sealer(keyringOf([keyA]));
    const sealed = sealer.seal(Buffer.from("some personal data"), context);
    for (let i = 0; i < sealed.length; i++) {
      const tampered = Buffer.from(sealed);
      tampered[i]! ^= 0x01;
      expect(() => sealer.open(tampered, context), `byte ${i}`).toThrow(SealedValueError);
    }
    expect(() => sealer.open(sealed.subarray(0, 20), context)).toThrow(SealedValueError);
    expect(() => sealer.open(Buffer.from("plain text, not sealed at all"), context)).toThrow(
      SealedValueError,
    );
  });

  it("names its key, so that a keyring holding the old key still opens after a rotation", () => {
    const before = new Sealer(keyringOf([keyA])).seal(Buffer.from("old"), context);
    const rotated = new Sealer(keyringOf([keyB, keyA]));
    expect(rotated.open(before, context).toString()).toBe("old");
    const after = rotated.seal(Buffer.from("new"), context);
    expect(after.subarray(1, 5).equals(keyB.id)).toBe(true);
    expect(() => new Sealer(keyringOf([keyA])).open(after, context)).toThrow(/key this server does not have/);
  });

  it("tells the key of a value from its header alone, for a reseal to skip what is current", () => {
    const rotated = new Sealer(keyringOf([keyB, keyA]));
    const before = new Sealer(keyringOf([keyA])).seal(Buffer.from("old"), context);
    const after = rotated.seal(Buffer.from("new"), context);
    expect(sealedKeyId(before.subarray(0, sealedHeaderBytes))).toEqual(keyA.id);
    expect(rotated.isCurrent(after.subarray(0, sealedHeaderBytes))).toBe(true);
    expect(rotated.isCurrent(before)).toBe(false);
    for (const unknown of [Buffer.alloc(0), after.subarray(0, 4), Buffer.from("plain text, not sealed")]) {
      expect(sealedKeyId(unknown)).toBeUndefined();
      expect(rotated.isCurrent(unknown)).toBe(false);
    }
  });
});
