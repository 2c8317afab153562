import { describe, expect, it } from "vitest";
import { batchRowsMax, insertStatement } from "./insert-batches.js";
import { transferLimits } from "./limits.js";

describe("insert batches", () => {
  it("stays within the row and parameter limits of both databases", () => {
    expect(batchRowsMax(1)).toBe(transferLimits.insertRowsMax);
    expect(batchRowsMax(16) * 16).toBeLessThanOrEqual(transferLimits.insertParamsMax);
    expect(batchRowsMax(100) * 100).toBeLessThanOrEqual(transferLimits.insertParamsMax);
    expect(batchRowsMax(100_000)).toBe(1);
    expect(transferLimits.insertParamsMax).toBeLessThan(32_766);
  });

  it("writes one multi-row insert, with the constant columns and OVERRIDING SYSTEM VALUE when asked", () => {
    const statement = insertStatement(
      {
        table: "holds",
        columns: ["transfer_id", "amount"],
        constants: [{ column: "status", value: 0n }],
        overriding: true,
      },
      [
        [1n, 5n],
        [2n, 6n],
      ],
    );
    expect(statement.sql).toBe(
      'INSERT INTO "holds" ("transfer_id", "amount", "status") OVERRIDING SYSTEM VALUE VALUES (?, ?, ?), (?, ?, ?)',
    );
    expect(statement.params).toEqual([1n, 5n, 0n, 2n, 6n, 0n]);
  });
});
