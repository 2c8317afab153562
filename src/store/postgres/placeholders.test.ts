import { describe, expect, it } from "vitest";
import { numbered } from "./placeholders.js";

describe("numbered placeholders", () => {
  it("numbers each ? in order", () => {
    expect(numbered("SELECT * FROM t WHERE a = ? AND b IN (?, ?) LIMIT ?")).toBe(
      "SELECT * FROM t WHERE a = $1 AND b IN ($2, $3) LIMIT $4",
    );
  });

  it("leaves a ? inside quotes, identifiers and comments alone", () => {
    expect(numbered(`SELECT '?', 'it''s ?', "a?b" FROM t -- why?\nWHERE x = ?`)).toBe(
      `SELECT '?', 'it''s ?', "a?b" FROM t -- why?\nWHERE x = $1`,
    );
  });

  it("returns a statement with no placeholders unchanged", () => {
    expect(numbered("SELECT 1")).toBe("SELECT 1");
  });
});
