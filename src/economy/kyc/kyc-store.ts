import type { AuditEntry } from "../../access/access-store.js";
import type { KycQueueCursor, KycQueueEntry, KycRecord } from "./kyc-record.js";

/** Storage for verifications. Each state change is one conditional write, so races settle in the store. */
export interface KycStore {
  get(userId: string): Promise<KycRecord | undefined>;
  /** Stores a (re)submission as `pending`; false, changing nothing, when the identity is verified. */
  submit(userId: string, submission: Uint8Array, at: number): Promise<boolean>;
  /**
   * `pending → verified`, and in the same transaction the user's birth date becomes `birthDate`,
   * marked verified. `expected` is the sealed submission the caller read, and `documentId` the
   * document they reviewed: false, changing nothing, when the verification is no longer pending,
   * was resubmitted since, or its document was replaced since. `audit` is written in the same
   * transaction, only when the review took place.
   */
  approve(
    userId: string,
    expected: Uint8Array,
    documentId: string,
    birthDate: string,
    actor: string,
    at: number,
    audit: AuditEntry,
  ): Promise<boolean>;
  /** `pending → rejected` with the reviewer's reason; false, changing nothing, as for `approve`. */
  reject(
    userId: string,
    expected: Uint8Array,
    reason: string,
    actor: string,
    at: number,
    audit: AuditEntry,
  ): Promise<boolean>;
  /** Oldest submission first. */
  list(status: KycRecord["status"], after: KycQueueCursor | null, limit: number): Promise<KycQueueEntry[]>;
}
