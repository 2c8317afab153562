import { fileTypeFromBuffer } from "file-type";
import { GiftstreamError } from "../../errors.js";

export const documentContentTypes = ["image/jpeg", "image/png", "application/pdf"] as const;
export type DocumentContentType = (typeof documentContentTypes)[number];

/**
 * The type of an identity document, read from its bytes (magic numbers, via file-type): never from a
 * file name or a Content-Type header, which the uploader controls.
 */
export async function detectDocumentType(bytes: Uint8Array): Promise<DocumentContentType> {
  const detected = await fileTypeFromBuffer(bytes);
  const mime = detected?.mime as string | undefined;
  if (mime !== undefined && (documentContentTypes as readonly string[]).includes(mime)) {
    return mime as DocumentContentType;
  }
  throw new GiftstreamError(
    "unsupported_document_type",
    `The document's content is ${detected ? detected.mime : "of no known type"}; send a JPEG, PNG or PDF.`,
  );
}

/** The file extension of a detected type, for the download's file name. */
export function extensionOf(type: DocumentContentType): string {
  return type === "image/jpeg" ? "jpg" : type === "image/png" ? "png" : "pdf";
}
