import { describe, expect, it } from "vitest";
import { detectDocumentType } from "./document-type.js";

const pngBytes = Buffer.from(
  "89504e470d0a1a0a0000000d49484452000000010000000108060000001f15c4890000000d4944415478da63f8cfc0f01f0005000201a0c5e4d40000000049454e44ae426082",
  "hex",
);

describe("document type", () => {
  it("reads JPEG, PNG and PDF from their bytes", async () => {
    expect(await detectDocumentType(pngBytes)).toBe("image/png");
    expect(await detectDocumentType(Buffer.from("ffd8ffe000104a464946", "hex"))).toBe("image/jpeg");
    expect(await detectDocumentType(Buffer.from("%PDF-1.7\n%%EOF\n"))).toBe("application/pdf");
  });

  it.each([
    ["text", Buffer.from("hello, this is text")],
    ["a GIF", Buffer.from("GIF89a\x01\x00\x01\x00\x00\x00\x00;", "latin1")],
    ["a ZIP", Buffer.from("504b0304140000000000", "hex")],
    ["a PNG signature alone", pngBytes.subarray(0, 8)],
  ])("refuses %s", async (_name, bytes) => {
    await expect(detectDocumentType(bytes)).rejects.toMatchObject({ code: "unsupported_document_type" });
  });
});
