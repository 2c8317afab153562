import { describe, expect, it } from "vitest";
import { verifyGiftstreamSignature } from "../../test/support/webhook-receiver.js";
import { computeSignature, signatureFor, verifySignature } from "./signature.js";

const secret = "whsec_test_secret_0123456789";
const body = '{"id":"evt_1","type":"gift.sent","createdAt":"2031-03-01T12:00:00.000Z","data":{"id":"gft_1"}}';
const now = 1_929_873_600;

describe("webhook signatures", () => {
  it("signs HMAC-SHA256 over the timestamp, a dot and the body, as lowercase hex", () => {
    // A known answer, from: printf '%s' '1929873600.{}' | openssl dgst -sha256 -hmac "$secret"
    expect(computeSignature(secret, now, "{}")).toBe(
      "fae287bd33e4878271693c7b711b170950a95f45796a2a1e9c4c188f493d228e",
    );
    expect(signatureFor(secret, now, body)).toBe(`t=${now},v1=${computeSignature(secret, now, body)}`);
    expect(computeSignature(secret, now, body)).not.toBe(computeSignature(secret, now + 1, body));
  });

  it("verifies its own signature and refuses any change", () => {
    const header = signatureFor(secret, now, body);
    expect(verifySignature(secret, header, body, now)).toBe(true);
    expect(verifySignature(secret, header, body.replace("gft_1", "gft_2"), now)).toBe(false);
    expect(verifySignature("whsec_other", header, body, now)).toBe(false);
    expect(verifySignature(secret, header.replace(`t=${now}`, `t=${now + 1}`), body, now)).toBe(false);
  });

  it("refuses a timestamp outside the tolerance, either way", () => {
    const header = signatureFor(secret, now, body);
    expect(verifySignature(secret, header, body, now + 300)).toBe(true);
    expect(verifySignature(secret, header, body, now + 301)).toBe(false);
    expect(verifySignature(secret, header, body, now - 301)).toBe(false);
  });

  it.each([
    ["missing", undefined],
    ["empty", ""],
    ["no timestamp", `v1=${computeSignature(secret, now, body)}`],
    ["no v1", `t=${now}`],
    ["a short v1", `t=${now},v1=abcd`],
    ["uppercase hex", `t=${now},v1=${computeSignature(secret, now, body).toUpperCase()}`],
    ["a v0 only", `t=${now},v0=${computeSignature(secret, now, body)}`],
    ["huge", `t=${now},${"x".repeat(2000)}`],
  ])("refuses a header that is %s", (_name, header) => {
    expect(verifySignature(secret, header, body, now)).toBe(false);
  });

  it("accepts any matching v1 among several (a secret being rolled)", () => {
    const header = `t=${now},v1=${"0".repeat(64)},v1=${computeSignature(secret, now, body)}`;
    expect(verifySignature(secret, header, body, now)).toBe(true);
  });

  it("agrees with the verification docs/webhooks.md shows", () => {
    const real = Math.floor(Date.now() / 1000);
    for (const [t, b, s] of [
      [real, body, secret],
      [real - 100, "{}", secret],
      [real, body, "whsec_other"],
      [real - 1000, body, secret],
    ] as const) {
      const header = signatureFor(secret, t, body);
      expect(verifyGiftstreamSignature(s, header, b)).toBe(verifySignature(s, header, b, real));
    }
  });
});
