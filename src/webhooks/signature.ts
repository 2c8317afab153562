import { createHmac, timingSafeEqual } from "node:crypto";

/** The header each delivery is signed in: `t=<unix seconds>,v1=<hex HMAC-SHA256>`. */
export const signatureHeader = "giftstream-signature";

/** How old a signature a receiver should accept by default: replays older than this are refused. */
export const signatureToleranceSeconds = 300;

/** HMAC-SHA256 over `${timestamp}.${body}` with the endpoint's secret, as lowercase hex. */
export function computeSignature(secret: string, timestampSeconds: number, body: string): string {
  return createHmac("sha256", secret).update(`${timestampSeconds}.${body}`).digest("hex");
}

/** The header value for a body sent at `timestampSeconds`. */
export function signatureFor(secret: string, timestampSeconds: number, body: string): string {
  return `t=${timestampSeconds},v1=${computeSignature(secret, timestampSeconds, body)}`;
}

/**
 * What a receiver does (docs/webhooks.md shows the same in a few lines): parse the header, refuse a
 * timestamp outside the tolerance, and compare every `v1` in constant time. Several `v1` values
 * are allowed so that a secret can one day be rolled without a gap.
 */
export function verifySignature(
  secret: string,
  header: string | undefined,
  body: string,
  nowSeconds: number,
  toleranceSeconds = signatureToleranceSeconds,
): boolean {
  if (header === undefined || header.length > 1024) return false;
  let timestamp: number | undefined;
  const candidates: string[] = [];
  for (const part of header.split(",")) {
    const [name, value] = part.split("=", 2);
    if (name === "t" && value !== undefined && /^\d{1,12}$/.test(value)) timestamp = Number(value);
    if (name === "v1" && value !== undefined && /^[0-9a-f]{64}$/.test(value)) candidates.push(value);
  }
  if (timestamp === undefined || Math.abs(nowSeconds - timestamp) > toleranceSeconds) return false;
  const expected = Buffer.from(computeSignature(secret, timestamp, body), "hex");
  return candidates.some((candidate) => timingSafeEqual(Buffer.from(candidate, "hex"), expected));
}
