import { createHash, randomBytes } from "node:crypto";
import type { Access } from "../../access/access.js";
import { type Sealer, sealContext } from "../../crypto/sealed.js";
import { GiftstreamError } from "../../errors.js";
import { KeyedLock, type KeyedLocks } from "../cashouts/keyed-lock.js";
import type { EconomyCatalog } from "../catalog.js";
import type { Users } from "../users/users.js";
import type { KycDocument, KycDocumentStore } from "./document-store.js";
import { type DocumentContentType, detectDocumentType } from "./document-type.js";
import type { KycQueueCursor, KycQueueEntry, KycRecord, KycStatus } from "./kyc-record.js";
import type { KycStore } from "./kyc-store.js";
import { checkSubmission, type KycSubmission } from "./kyc-submission.js";
import { type DocumentFileInfo, documentFileInfo, type MaskedKyc, maskedKyc } from "./kyc-view.js";

export type { KycStatus } from "./kyc-record.js";

export interface KycOptions {
  store: KycStore;
  documents: KycDocumentStore;
  sealer: Sealer;
  users: Users;
  catalog: EconomyCatalog;
  access: Access;
  clock: () => number;
  /** `kyc.documentBytesMax`: the HTTP parser enforces it first; this is the domain's own check. */
  documentBytesMax: number;
  /**
   * Per user: an upload and a review of one user take turns, in every process. Each write is
   * conditional too, but on PostgreSQL two writes to two tables, each checking the other's
   * committed state, could both pass (an unreviewed document stored under a verified identity).
   */
  locks?: KeyedLocks;
}

/** Everything a reviewer sees: the submission in the clear. Reading it is audited. */
export interface KycReview {
  userId: string;
  status: KycStatus;
  submission: KycSubmission;
  documentFile: DocumentFileInfo | null;
  rejectionReason: string | null;
  submittedAt: number;
  reviewedAt: number | null;
  reviewedBy: string | null;
  /** What the reviewer saw: approve and reject may name it, and are refused if it has changed. */
  revision: string;
}

/** What a cash-out needs to know of a user's identity. */
export interface Identity {
  status: KycStatus;
  /** The verified legal name; null unless `verified`. */
  legalName: string | null;
  /** The verified birth date, YYYY-MM-DD; null unless `verified`. */
  birthDate: string | null;
}

/** Where the sealed values live; `giftstream reseal` seals them again at the same place (sealed-columns.ts). */
export const submissionContext = (userId: string) => sealContext("kyc", "submission", userId);
export const documentContext = (userId: string, documentId: string) =>
  sealContext("kyc_documents", "content", `${userId}/${documentId}`);

/**
 * Identity verification (DESIGN §2 flow 6): `unverified → pending → verified | rejected`, and a
 * rejected user may resubmit. The personal data and the document are sealed before they reach the
 * store, and are opened only for their owner's masked view, for a reviewer, and for a cash-out.
 */
export class Kyc {
  private readonly locks: KeyedLocks;

  constructor(private readonly o: KycOptions) {
    this.locks = o.locks ?? new KeyedLock();
  }

  /** Stores a (re)submission as `pending`; a pending one is replaced, a verified one refused. */
  async submit(userId: string, input: KycSubmission): Promise<MaskedKyc> {
    await this.o.users.get(userId);
    const now = this.o.clock();
    const submission = checkSubmission(input, now, this.o.catalog.at(now).economy.minimumAge);
    const sealed = this.o.sealer.sealJson(submission, submissionContext(userId));
    if (!(await this.o.store.submit(userId, sealed, now))) {
      throw new GiftstreamError(
        "kyc_already_verified",
        "this identity is verified; it cannot be resubmitted",
      );
    }
    return this.view(userId);
  }

  /** Stores the identity document, typed by its content; it replaces an earlier one until verified. */
  uploadDocument(userId: string, bytes: Uint8Array): Promise<MaskedKyc> {
    return this.locks.run(userId, () => this.lockedUploadDocument(userId, bytes));
  }

  private async lockedUploadDocument(userId: string, bytes: Uint8Array): Promise<MaskedKyc> {
    await this.o.users.get(userId);
    if (bytes.length === 0) throw new GiftstreamError("invalid_request", "the document is empty");
    if (bytes.length > this.o.documentBytesMax) {
      throw new GiftstreamError(
        "payload_too_large",
        `a document is at most ${this.o.documentBytesMax} bytes`,
      );
    }
    const contentType = await detectDocumentType(bytes);
    if ((await this.o.store.get(userId))?.status === "verified") {
      throw new GiftstreamError("kyc_already_verified", "this identity is verified; its document is final");
    }
    const id = `kdoc_${randomBytes(9).toString("base64url")}`;
    const document: KycDocument = {
      id,
      userId,
      contentType,
      sizeBytes: bytes.length,
      content: this.o.sealer.seal(bytes, documentContext(userId, id)),
      uploadedAt: this.o.clock(),
    };
    // Checked again in the write itself: an approval may land between the check above and here.
    if (!(await this.o.documents.put(document))) {
      throw new GiftstreamError("kyc_already_verified", "this identity is verified; its document is final");
    }
    return this.view(userId);
  }

  /** The owner's view: status and masked data. */
  async view(userId: string): Promise<MaskedKyc> {
    await this.o.users.get(userId);
    const record = await this.o.store.get(userId);
    const submission = record ? this.open(record) : undefined;
    return maskedKyc(userId, record, submission, await this.o.documents.info(userId));
  }

  /** For a cash-out: the status, and the verified legal name and birth date once verified. */
  async identityOf(userId: string): Promise<Identity> {
    const record = await this.o.store.get(userId);
    if (record?.status !== "verified") {
      return { status: record?.status ?? "unverified", legalName: null, birthDate: null };
    }
    const { legalName, birthDate } = this.open(record);
    return { status: "verified", legalName, birthDate };
  }

  queue(status: KycRecord["status"], after: KycQueueCursor | null, limit: number): Promise<KycQueueEntry[]> {
    return this.o.store.list(status, after, limit);
  }

  /** A reviewer's full view of a submission. */
  async review(userId: string, actor: string): Promise<KycReview> {
    const record = await this.submitted(userId);
    const review: KycReview = {
      userId,
      status: record.status,
      submission: this.open(record),
      documentFile: documentFileInfo(await this.o.documents.info(userId)),
      rejectionReason: record.rejectionReason,
      submittedAt: record.submittedAt,
      reviewedAt: record.reviewedAt,
      reviewedBy: record.reviewedBy,
      revision: revisionOf(record, await this.o.documents.info(userId)),
    };
    // Who looked at whose personal data, and when: never the data itself.
    await this.o.access.audit(actor, "kyc.read", userId, null, null);
    return review;
  }

  /** The identity document, opened, for a reviewer. */
  async document(
    userId: string,
    actor: string,
  ): Promise<{ id: string; contentType: DocumentContentType; bytes: Buffer }> {
    await this.o.users.get(userId);
    const stored = await this.o.documents.get(userId);
    if (!stored) throw new GiftstreamError("not_found", `no identity document for user ${userId}`);
    const bytes = this.o.sealer.open(stored.content, documentContext(userId, stored.id));
    await this.o.access.audit(actor, "kyc.document.read", userId, null, { documentId: stored.id });
    return { id: stored.id, contentType: stored.contentType, bytes };
  }

  /** `pending → verified`: the verified birth date replaces the user's (DESIGN §1). */
  approve(userId: string, actor: string, revision?: string): Promise<MaskedKyc> {
    return this.locks.run(userId, () => this.lockedApprove(userId, actor, revision));
  }

  private async lockedApprove(userId: string, actor: string, revision?: string): Promise<MaskedKyc> {
    const record = await this.pending(userId);
    const documentInfo = await this.o.documents.info(userId);
    if (documentInfo === undefined) {
      throw new GiftstreamError("kyc_document_missing", "upload the identity document before approving");
    }
    checkRevision(revision, record, documentInfo);
    const { birthDate } = this.open(record);
    // The document reviewed, by id: one uploaded meanwhile is not approved unseen.
    const at = this.o.clock();
    // The audit entry is written with the review, in its transaction, only if it took place.
    const approved = await this.o.store.approve(
      userId,
      record.submission,
      documentInfo.id,
      birthDate,
      actor,
      at,
      {
        actor,
        action: "kyc.approve",
        target: userId,
        before: { status: "pending" },
        after: { status: "verified" },
        at,
      },
    );
    // The user row changed inside the store's transaction: drop the cached copy either way.
    this.o.users.forget(userId);
    if (!approved) throw notPending("changed while it was being approved");
    return this.view(userId);
  }

  /** `pending → rejected`, with a reason the user sees. */
  reject(userId: string, reason: string, actor: string, revision?: string): Promise<MaskedKyc> {
    return this.locks.run(userId, () => this.lockedReject(userId, reason, actor, revision));
  }

  private async lockedReject(
    userId: string,
    reason: string,
    actor: string,
    revision?: string,
  ): Promise<MaskedKyc> {
    const record = await this.pending(userId);
    checkRevision(revision, record, await this.o.documents.info(userId));
    const at = this.o.clock();
    const audit = {
      actor,
      action: "kyc.reject",
      target: userId,
      before: { status: "pending" },
      after: { status: "rejected", reason },
      at,
    };
    if (!(await this.o.store.reject(userId, record.submission, reason, actor, at, audit))) {
      throw notPending("changed while it was being rejected");
    }
    return this.view(userId);
  }

  private async submitted(userId: string): Promise<KycRecord> {
    await this.o.users.get(userId);
    const record = await this.o.store.get(userId);
    if (!record) throw new GiftstreamError("not_found", `user ${userId} has submitted no identity data`);
    return record;
  }

  private async pending(userId: string): Promise<KycRecord> {
    await this.o.users.get(userId);
    const record = await this.o.store.get(userId);
    if (record?.status !== "pending") throw notPending(`is ${record?.status ?? "unverified"}`);
    return record;
  }

  private open(record: KycRecord): KycSubmission {
    return this.o.sealer.openJson<KycSubmission>(record.submission, submissionContext(record.userId));
  }
}

function notPending(why: string): GiftstreamError {
  return new GiftstreamError(
    "kyc_not_pending",
    `the identity verification ${why}; only a pending one is reviewed`,
  );
}

/**
 * Names one submission and one document: the sealed submission changes with every resubmission
 * (its nonce is fresh), and every upload gets a new document id.
 */
export function revisionOf(record: KycRecord, document: { id: string } | undefined): string {
  const submission = createHash("sha256").update(record.submission).digest("base64url").slice(0, 16);
  return `${submission}.${document?.id ?? "none"}`;
}

/** A reviewer's decision applies to what they reviewed, not to what replaced it meanwhile. */
function checkRevision(
  revision: string | undefined,
  record: KycRecord,
  document: { id: string } | undefined,
) {
  if (revision !== undefined && revision !== revisionOf(record, document)) {
    throw new GiftstreamError(
      "kyc_changed",
      "the submission or its document changed since this revision was reviewed; review it again",
    );
  }
}
