import { randomBytes } from "node:crypto";
import { GiftstreamError } from "../errors.js";
import type { AccessStore } from "./access-store.js";
import { type ApiKey, generateSecret, hashSecret, type Scope, secretPrefix } from "./api-keys.js";

export interface CreatedKey {
  key: ApiKey;
  /** Shown once, at creation; only its hash is stored. */
  secret: string;
}

/** Operator access: authenticating keys, creating and revoking them, and the audit trail. */
/** How long an authenticated key is trusted from memory; a revocation elsewhere takes effect within it. */
const keyCacheTtlMs = 1000;
const keysCachedMax = 10_000;

export class Access {
  private readonly keys = new Map<string, { key: ApiKey; at: number }>();
  /**
   * Bumped by every revocation here. A read that began before a revocation committed may find
   * the key still active and end after the revocation cleared the cache: it must not put the key
   * back (on PostgreSQL, where reads are asynchronous, that let a revoked key in for a second).
   */
  private revocations = 0;

  constructor(
    private readonly store: AccessStore,
    private readonly clock: () => number,
  ) {}

  /** The active key with this secret, or undefined. */
  async authenticate(secret: string): Promise<ApiKey | undefined> {
    // Cached by hash, not by the secret: no secret outlives its request in memory. (The one-shot
    // hash costs well under a microsecond.)
    const hash = hashSecret(secret);
    const now = Date.now();
    const cached = this.keys.get(hash);
    if (cached && now - cached.at < keyCacheTtlMs) return cached.key;
    const revocations = this.revocations;
    const key = await this.store.findKeyByHash(hash);
    if (!key || key.revokedAt !== null) {
      this.keys.delete(hash);
      return undefined;
    }
    if (this.revocations !== revocations) {
      // A revocation here since the read began, which the read may predate: read again (this
      // read begins after that revocation committed), and cache nothing.
      const again = await this.store.findKeyByHash(hash);
      return again && again.revokedAt === null ? again : undefined;
    }
    if (this.keys.size >= keysCachedMax) this.keys.clear();
    this.keys.set(hash, { key, at: now });
    return key;
  }

  /** The key with this id while it is not revoked: for asking again later, without its secret. */
  async activeKey(id: string): Promise<ApiKey | undefined> {
    const key = await this.store.getKey(id);
    return key && key.revokedAt === null ? key : undefined;
  }

  async createKey(input: { name: string; scopes: Scope[] }, actor: string): Promise<CreatedKey> {
    return this.insert(input.name, [...new Set(input.scopes)].sort() as Scope[], generateSecret(), {
      actor,
      action: "api_key.create",
    });
  }

  listKeys(): Promise<ApiKey[]> {
    return this.store.listKeys();
  }

  async revokeKey(id: string, actor: string): Promise<ApiKey> {
    const at = this.clock();
    let revoked: ApiKey | undefined;
    // The audit entry is written with the revocation, in its transaction (access-store.ts).
    const outcome = await this.store.revokeKey(id, at, (before, after) => {
      revoked = after;
      return { actor, action: "api_key.revoke", target: id, before, after, at };
    });
    // Revoked here: no request of this process may pass on a cached copy, nor on a read that
    // began before the revocation and ends after it.
    this.revocations++;
    for (const [hash, entry] of this.keys) if (entry.key.id === id) this.keys.delete(hash);
    if (outcome === "not_found") throw new GiftstreamError("not_found", `no active API key ${id}`);
    if (outcome === "last_admin") throw new GiftstreamError("last_admin_key");
    return revoked!;
  }

  /**
   * At start: `GIFTSTREAM_API_KEY`, when set and not stored yet, becomes an admin key. With no
   * key at all, one is generated and returned so the caller can print it, once.
   */
  async seed(suppliedSecret: string | undefined): Promise<CreatedKey | undefined> {
    if (suppliedSecret !== undefined) {
      if (await this.store.findKeyByHash(hashSecret(suppliedSecret))) return undefined;
      await this.insert("GIFTSTREAM_API_KEY", ["admin"], suppliedSecret, {
        actor: "system",
        action: "api_key.seed",
      });
      return undefined;
    }
    if ((await this.store.countActiveKeys()) > 0) return undefined;
    return this.insert("generated at first start", ["admin"], generateSecret(), {
      actor: "system",
      action: "api_key.generate",
    });
  }

  audit(actor: string, action: string, target: string, before: unknown, after: unknown): Promise<void> {
    return this.store.appendAudit({ actor, action, target, before, after, at: this.clock() });
  }

  listAudit(beforeId: bigint | null, limit: number) {
    return this.store.listAudit(beforeId, limit);
  }

  /** Inserts a key with the audit entry of its creation, in one transaction. */
  private async insert(
    name: string,
    keyScopes: Scope[],
    secret: string,
    by: { actor: string; action: string },
  ): Promise<CreatedKey> {
    const key: ApiKey = {
      id: `key_${randomBytes(9).toString("base64url")}`,
      name,
      scopes: keyScopes,
      prefix: secretPrefix(secret),
      createdAt: this.clock(),
      revokedAt: null,
    };
    await this.store.insertKey(key, hashSecret(secret), {
      ...by,
      target: key.id,
      before: null,
      after: key,
      at: key.createdAt,
    });
    return { key, secret };
  }
}
