import { describe, expect, it } from "vitest";
import { maskEmail, maskName, maskTail } from "./masking.js";

describe("masking", () => {
  it("keeps the first letter of each word of a name, and hides the length", () => {
    expect(maskName("Jane Q. Doe")).toBe("J*** Q*** D***");
    expect(maskName("  Éloïse   Ångström ")).toBe("É*** Å***");
    expect(maskName("Bartholomew")).toBe(maskName("Bo"));
  });

  it("shows only the last 4 letters or digits", () => {
    expect(maskTail("DE89 3704 0044 0532 0130 00")).toBe("****3000");
    expect(maskTail("X-1234-567")).toBe("****4567");
    // Short values show at most half: a 4-character number never shows whole.
    expect(maskTail("AB12")).toBe("****12");
    expect(maskTail("ABC123")).toBe("****123");
    expect(maskTail("A")).toBe("****");
  });

  it("hides the mailbox of an email", () => {
    expect(maskEmail("jane.doe@example.com")).toBe("j***@example.com");
    expect(maskEmail("a@b.co")).toBe("a***@b.co");
  });
});
