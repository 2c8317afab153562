import { createHash } from "node:crypto";
import { configure } from "safe-stable-stringify";
import type { StoredTransfer } from "./store.js";
import {
  type JsonObject,
  type JsonValue,
  type LedgerRequest,
  type LedgerResult,
  type TransferRecord,
  TransferType,
  type TransferTypeCode,
  type TransferTypeName,
} from "./types.js";

// Sorted keys make the hash independent of property order; bigints hash by their digits.
const canonical = configure({ bigint: true, deterministic: true, circularValue: Error });

/** The fingerprint an idempotency key is bound to. `idempotencyKey` itself is not part of it. */
export function requestHash(request: LedgerRequest): string {
  const { idempotencyKey: _key, ...rest } = request;
  return createHash("sha256").update(canonical(rest) ?? "").digest("base64url");
}

const typeNames = Object.fromEntries(Object.entries(TransferType).map(([name, code]) => [code, name])) as Record<
  TransferTypeCode,
  TransferTypeName
>;

export function transferRecord(stored: StoredTransfer, unit: string): TransferRecord {
  return {
    id: stored.id,
    type: typeNames[stored.type],
    debitAccountId: stored.debitAccountId,
    creditAccountId: stored.creditAccountId,
    amount: stored.amount,
    unit,
    kind: stored.kind,
    pendingId: stored.pendingId,
    expiresAt: stored.expiresAt,
    metadata: stored.metadata,
    createdAt: stored.createdAt,
  };
}

interface StoredResult {
  transfers: (Omit<TransferRecord, "id" | "amount" | "pendingId"> & { id: string; amount: string; pendingId: string | null })[];
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
