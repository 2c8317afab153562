import type { ApiKey } from "./api-keys.js";

/** Storage for operator keys and the audit log. */
export interface AccessStore {
  findKeyByHash(hash: string): Promise<ApiKey | undefined>;
  getKey(id: string): Promise<ApiKey | undefined>;
  listKeys(): Promise<ApiKey[]>;
  insertKey(key: ApiKey, hash: string): Promise<void>;
  /** Revokes a key unless it is the last active admin key; returns whether it did. */
  revokeKey(id: string, at: number): Promise<"revoked" | "last_admin" | "not_found">;
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
