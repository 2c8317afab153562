import { createHash } from "node:crypto";
import { configure } from "safe-stable-stringify";
import type { StoredTransfer } from "./store.js";
import type { JsonObject, JsonValue, LedgerRequest, LedgerResult, TransferRecord } from "./types.js";

// Sorted keys make the hash independent of property order; bigints hash by their digits.
const canonical = configure({ bigint: true, deterministic: true, circularValue: Error });

/** The fingerprint an idempotency key is bound to. `idempotencyKey` itself is not part of it. */
export function requestHash(request: LedgerRequest): string {
  const { idempotencyKey: _key, ...rest } = request;
  return createHash("sha256")
    .update(canonical(rest) ?? "")
    .digest("base64url");
}

export function transferRecord(stored: StoredTransfer, unit: string): TransferRecord {
  return { ...stored, unit };
}

interface StoredResult {
  transfers: (Omit<TransferRecord, "id" | "amount" | "pendingId"> & {
    id: string;
    amount: string;
    pendingId: string | null;
  })[];
  memo: JsonValue | null;
}

/** Results are stored as JSON with bigints as decimal strings, and read back exactly. */
export function serializeResult(result: Omit<LedgerResult, "replayed">): string {
  const stored: StoredResult = {
    transfers: result.transfers.map((t) => ({
      ...t,
      id: t.id.toString(),
      amount: t.amount.toString(),
      pendingId: t.pendingId === null ? null : t.pendingId.toString(),
    })),
    memo: result.memo,
  };
  return JSON.stringify(stored);
}

export function deserializeResult(text: string): Omit<LedgerResult, "replayed"> {
  const stored = JSON.parse(text) as StoredResult;
  return {
    transfers: stored.transfers.map((t) => ({
      ...t,
      id: BigInt(t.id),
      amount: BigInt(t.amount),
      pendingId: t.pendingId === null ? null : BigInt(t.pendingId),
      metadata: t.metadata as JsonObject | null,
    })),
    memo: stored.memo,
  };
}
