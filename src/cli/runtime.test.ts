import { describe, expect, it } from "vitest";
import { answerSliceRequests, halveAboveRequests } from "./runtime.js";

describe("answerSliceRequests", () => {
  it("lets the store choose when the configuration says 0: slices of 16 on PostgreSQL, whole batches on SQLite", () => {
    expect(answerSliceRequests(0, "postgres")).toBe(16);
    expect(answerSliceRequests(0, "sqlite")).toBeUndefined();
  });

  it("takes a configured slice on either store", () => {
    expect(answerSliceRequests(3, "postgres")).toBe(3);
    expect(answerSliceRequests(100_000, "sqlite")).toBe(100_000);
  });
});

describe("halveAboveRequests", () => {
  it("halves large batches on SQLite, whose writer thread commits one while the next is prepared, and never on PostgreSQL", () => {
    expect(halveAboveRequests("sqlite")).toBe(64);
    expect(halveAboveRequests("postgres")).toBeUndefined();
  });
});
