import { maskName, maskTail } from "../masking.js";
import type { KycDocumentInfo } from "./document-store.js";
import type { DocumentContentType } from "./document-type.js";
import type { KycRecord, KycStatus } from "./kyc-record.js";
import type { KycSubmission } from "./kyc-submission.js";

/**
 * What a user (or the operator's app) is shown of their own verification: the status and enough to
 * recognise the submission. The birth date shows only its year, the address only its country, the
 * document number only its last 4 characters.
 */
export interface MaskedKyc {
  userId: string;
  status: KycStatus;
  legalName: string | null;
  birthYear: number | null;
  address: { country: string } | null;
  document: { type: KycSubmission["document"]["type"]; issuingCountry: string; number: string } | null;
  documentFile: DocumentFileInfo | null;
  rejectionReason: string | null;
  submittedAt: number | null;
  reviewedAt: number | null;
}

export interface DocumentFileInfo {
  contentType: DocumentContentType;
  sizeBytes: number;
  uploadedAt: number;
}

export function documentFileInfo(info: KycDocumentInfo | undefined): DocumentFileInfo | null {
  return info === undefined
    ? null
    : { contentType: info.contentType, sizeBytes: info.sizeBytes, uploadedAt: info.uploadedAt };
}

export function maskedKyc(
  userId: string,
  record: KycRecord | undefined,
  submission: KycSubmission | undefined,
  document: KycDocumentInfo | undefined,
): MaskedKyc {
  return {
    userId,
    status: record?.status ?? "unverified",
    legalName: submission ? maskName(submission.legalName) : null,
    birthYear: submission ? Number(submission.birthDate.slice(0, 4)) : null,
    address: submission ? { country: submission.address.country } : null,
    document: submission
      ? {
          type: submission.document.type,
          issuingCountry: submission.document.issuingCountry,
          number: maskTail(submission.document.number),
        }
      : null,
    documentFile: documentFileInfo(document),
    rejectionReason: record?.rejectionReason ?? null,
    submittedAt: record?.submittedAt ?? null,
    reviewedAt: record?.reviewedAt ?? null,
  };
}
