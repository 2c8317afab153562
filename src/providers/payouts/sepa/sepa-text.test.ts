import { describe, expect, it } from "vitest";
import { sepaIdentifier, sepaText } from "./sepa-text.js";

describe("sepaText", () => {
  it("transliterates names into the SEPA character set", () => {
    expect(sepaText("Zoë Müller-Łukasiewicz", 70)).toBe("Zoe Muller-Lukasiewicz");
    expect(sepaText("Ørsted & Søn — Straße 5", 70)).toBe("Orsted Son - Strasse 5");
    expect(sepaText("Dvořák  \t Ångström", 70)).toBe("Dvorak Angstrom");
    expect(sepaText('"quoted" <x> @home', 70)).toBe("quoted x home");
  });

  it("cuts to the field's length and says so with an empty string when nothing survives", () => {
    expect(sepaText("a".repeat(80), 70)).toHaveLength(70);
    expect(sepaText("<<>>", 70)).toBe("");
  });
});

describe("sepaIdentifier", () => {
  it("maps our ids one to one into the SEPA set", () => {
    expect(sepaIdentifier("co_AbC-9_x")).toBe("co.AbC-9.x");
    expect(() => sepaIdentifier("x".repeat(36))).toThrow();
  });
});
