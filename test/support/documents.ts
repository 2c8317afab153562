/** Tiny identity "documents" whose type file-type recognises from their bytes. */

/** A valid 1×1 PNG, followed by `marker` (PNG readers ignore bytes after IEND). */
export function png(marker = ""): Buffer {
  return Buffer.concat([
    Buffer.from(
      "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a0c5e4d40000000049454e44ae426082",
      "hex",
    ),
    Buffer.from(marker),
  ]);
}

/** The start of a JFIF JPEG, then `marker`. */
export function jpeg(marker = ""): Buffer {
  return Buffer.concat([Buffer.from("ffd8ffe000104a46494600010100000100010000", "hex"), Buffer.from(marker)]);
}

/** A minimal PDF, with `marker` in a comment. */
export function pdf(marker = ""): Buffer {
  return Buffer.from(
    `%PDF-1.4\n% ${marker}\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n`,
  );
}
