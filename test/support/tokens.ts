import { readFileSync } from "node:fs";
import { join } from "node:path";
import { SignJWT } from "jose";
import { expect } from "vitest";
import { tokenKeysFileName } from "../../src/access/token-key-source.js";
import type { TestApp } from "./app.js";

/** `Authorization` headers for a bearer credential. */
export const bearer = (credential: string) => ({ authorization: `Bearer ${credential}` });

/** Mints a user token through the API with the admin key. */
export async function mintToken(app: TestApp, userId: string, ttlMs?: number): Promise<string> {
  const res = await app.app.inject({
    method: "POST",
    url: `/v1/users/${userId}/tokens`,
    headers: app.admin,
    payload: ttlMs === undefined ? {} : { ttlMs },
  });
  expect(res.statusCode, res.body).toBe(201);
  return (res.json() as { token: string }).token;
}

/** The signing key as the server stored it in its data directory: what a forger with the file has. */
export function signingKeyOf(app: TestApp): { kid: string; secret: Uint8Array } {
  const stored = JSON.parse(readFileSync(join(app.dir, tokenKeysFileName), "utf8")) as {
    keys: { kid: string; secret: string }[];
  };
  const first = stored.keys[0]!;
  return { kid: first.kid, secret: new Uint8Array(Buffer.from(first.secret, "base64url")) };
}

export interface CraftOptions {
  alg?: string;
  kid?: string | null;
  secret?: Uint8Array;
  claims?: Record<string, unknown>;
}

/** A token signed outside the server, for tokens the server would never mint. */
export async function craftToken(app: TestApp, options: CraftOptions = {}): Promise<string> {
  const key = signingKeyOf(app);
  const nowS = Math.floor(app.clock.now() / 1000);
  const header: { alg: string; typ: string; kid?: string } = { alg: options.alg ?? "HS256", typ: "JWT" };
  if (options.kid !== null) header.kid = options.kid ?? key.kid;
  return new SignJWT({
    iss: "giftstream",
    sub: "alice",
    jti: "utk_crafted",
    iat: nowS,
    exp: nowS + 60,
    ...options.claims,
  })
    .setProtectedHeader(header)
    .sign(options.secret ?? key.secret);
}

/** An unsigned token (`alg: none`), which jose itself refuses to produce. */
export function unsignedToken(app: TestApp, claims: Record<string, unknown> = {}): string {
  const nowS = Math.floor(app.clock.now() / 1000);
  const part = (value: object) => Buffer.from(JSON.stringify(value)).toString("base64url");
  const header = part({ alg: "none", typ: "JWT", kid: signingKeyOf(app).kid });
  const payload = part({
    iss: "giftstream",
    sub: "alice",
    jti: "utk_none",
    iat: nowS,
    exp: nowS + 60,
    ...claims,
  });
  return `${header}.${payload}.`;
}
