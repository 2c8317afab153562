import type { ApiKey } from "./api-keys.js";

/** Storage for operator keys and the audit log. */
export interface AccessStore {
  findKeyByHash(hash: string): Promise<ApiKey | undefined>;
  getKey(id: string): Promise<ApiKey | undefined>;
  listKeys(): Promise<ApiKey[]>;
  /** Inserts a key and its audit entry in one transaction: neither is written without the other. */
  insertKey(key: ApiKey, hash: string, audit: AuditEntry): Promise<void>;
  /**
   * Revokes a key unless it is the last active admin key; returns whether it did. The audit entry
   * (made from the key before and after) is written in the same transaction, and only when the
   * key was revoked by it.
   */
  revokeKey(
    id: string,
    at: number,
    auditOf: (before: ApiKey, after: ApiKey) => AuditEntry,
  ): Promise<"revoked" | "last_admin" | "not_found">;
  countActiveKeys(): Promise<number>;
  appendAudit(entry: AuditEntry): Promise<void>;
  listAudit(beforeId: bigint | null, limit: number): Promise<(AuditEntry & { id: bigint })[]>;
}

export interface AuditEntry {
  /** The key (or system) that acted. */
  actor: string;
  action: string;
  target: string;
  before: unknown;
  after: unknown;
  at: number;
}
