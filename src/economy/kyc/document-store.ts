import type { DocumentContentType } from "./document-type.js";

/** An identity document as stored: its content sealed, its type detected from the bytes. */
export interface KycDocument {
  id: string;
  userId: string;
  contentType: DocumentContentType;
  sizeBytes: number;
  /** Sealed (src/crypto/sealed.ts), bound to the user and this document id. */
  content: Uint8Array;
  uploadedAt: number;
}

export type KycDocumentInfo = Omit<KycDocument, "content">;

/**
 * Where identity documents live: the database today; object storage can take this place later,
 * since it only ever sees sealed bytes. One document per user; an upload replaces the last.
 */
export interface KycDocumentStore {
  /** False, storing nothing, when the user's identity is verified: its document is final. */
  put(document: KycDocument): Promise<boolean>;
  get(userId: string): Promise<KycDocument | undefined>;
  /** What is stored, without reading the content. */
  info(userId: string): Promise<KycDocumentInfo | undefined>;
}
