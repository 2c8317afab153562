import { hash, randomBytes } from "node:crypto";

/** What an operator key may do. `admin` implies everything `server` may. */
export const scopes = ["admin", "server"] as const;
export type Scope = (typeof scopes)[number];

export interface ApiKey {
  id: string;
  name: string;
  scopes: Scope[];
  /** The first characters of the secret, so an operator can tell keys apart. */
  prefix: string;
  createdAt: number;
  revokedAt: number | null;
}

/** A key's secret: `gs_` and 32 base64url characters, 192 random bits. */
const secretPattern = /^gs_[A-Za-z0-9_-]{32}$/;
/** Keys an operator supplies (GIFTSTREAM_API_KEY) may have any shape of at least this length. */
export const suppliedKeyLengthMin = 32;
export const apiKeyNameLengthMax = 100;

export function generateSecret(): string {
  return `gs_${randomBytes(24).toString("base64url")}`;
}

export function isGeneratedSecret(secret: string): boolean {
  return secretPattern.test(secret);
}

/** Secrets are stored only as this hash. */
export function hashSecret(secret: string): string {
  return hash("sha256", secret, "hex");
}

export function secretPrefix(secret: string): string {
  return secret.slice(0, 7);
}

export function grants(key: Pick<ApiKey, "scopes">, needed: Scope): boolean {
  return key.scopes.includes("admin") || key.scopes.includes(needed);
}
