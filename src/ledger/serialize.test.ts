import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { deserializeResult, requestHash, serializeResult } from "./serialize.js";
import type { JsonObject, TransferRecord } from "./types.js";

// Through JSON once: a -0 comes back as 0, which is JSON's doing, not the serializer's.
const json = fc.jsonValue().map((v) => JSON.parse(JSON.stringify(v)) as unknown);
const metadata = fc.option(fc.dictionary(fc.string(), json), {
  nil: null,
}) as fc.Arbitrary<JsonObject | null>;
const transfer: fc.Arbitrary<TransferRecord> = fc.record({
  id: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
  type: fc.constantFrom("posted", "pending", "post_pending", "void_pending"),
  debitAccountId: fc.string({ minLength: 1 }),
  creditAccountId: fc.string({ minLength: 1 }),
  amount: fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }),
  unit: fc.constantFrom("COIN", "DIAMOND", "USD"),
  kind: fc.string({ minLength: 1 }),
  pendingId: fc.option(fc.bigInt({ min: 1n, max: 2n ** 63n - 1n }), { nil: null }),
  expiresAt: fc.option(fc.nat(), { nil: null }),
  metadata,
  createdAt: fc.nat(),
});

describe("serializeResult", () => {
  it("reads back exactly, and is the JSON document older versions stored", () => {
    fc.assert(
      fc.property(fc.array(transfer, { maxLength: 5 }), fc.option(json, { nil: null }), (transfers, memo) => {
        const result = { transfers, memo: memo as JsonObject | null };
        const text = serializeResult(result);
        // The format before the text cache: one JSON.stringify of the stored shape.
        const before = JSON.stringify({
          transfers: transfers.map((t) => ({
            ...t,
            id: t.id.toString(),
            amount: t.amount.toString(),
            pendingId: t.pendingId === null ? null : t.pendingId.toString(),
          })),
          memo,
        });
        expect(JSON.parse(text)).toEqual(JSON.parse(before));
        // Field for field in the same order too: a replay lists them as the first answer did.
        expect(text).toBe(before);
        expect(deserializeResult(text)).toEqual(result);
      }),
    );
  });
});

describe("requestHash", () => {
  const request = {
    idempotencyKey: "k-1",
    transfers: [{ debitAccountId: "a", creditAccountId: "b", amount: 5n, kind: "gift" }],
    memo: { n: 1 },
  };

  it("binds replayTransfers: false, and reads true as the default it spells out", () => {
    expect(requestHash({ ...request, replayTransfers: true })).toBe(requestHash(request));
    expect(requestHash({ ...request, replayTransfers: false })).not.toBe(requestHash(request));
    // The key itself is never part of what it is bound to.
    expect(requestHash({ ...request, idempotencyKey: "k-2" })).toBe(requestHash(request));
  });
});
