export const kycStatuses = ["unverified", "pending", "verified", "rejected"] as const;
/** `unverified → pending → verified | rejected`, and `rejected → pending` on a resubmission. */
export type KycStatus = (typeof kycStatuses)[number];

/** A user's stored verification. No record means `unverified`. */
export interface KycRecord {
  userId: string;
  status: Exclude<KycStatus, "unverified">;
  /** The sealed KycSubmission (src/crypto/sealed.ts), bound to the user. */
  submission: Uint8Array;
  rejectionReason: string | null;
  submittedAt: number;
  reviewedAt: number | null;
  /** The API key id of the reviewer. */
  reviewedBy: string | null;
  updatedAt: number;
}

/** A row of the review queue: nothing personal, so listing it opens nothing. */
export interface KycQueueEntry {
  userId: string;
  status: Exclude<KycStatus, "unverified">;
  submittedAt: number;
  reviewedAt: number | null;
  rejectionReason: string | null;
  documentUploaded: boolean;
}

/** Where a queue page starts: after this entry, in (submittedAt, userId) order. */
export interface KycQueueCursor {
  submittedAt: number;
  userId: string;
}
