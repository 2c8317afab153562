import { hash } from "node:crypto";
import { configure } from "safe-stable-stringify";
import { freshJson, type JsonTexts, jsonTextOf } from "./json-texts.js";
import type { StoredTransfer } from "./store.js";
import type { JsonObject, JsonValue, LedgerRequest, LedgerResult, TransferRecord } from "./types.js";

// Sorted keys make the hash independent of property order; bigints hash by their digits.
const canonical = configure({ bigint: true, deterministic: true, circularValue: Error });

/** The fingerprint an idempotency key is bound to. `idempotencyKey` itself is not part of it. */
export function requestHash(request: LedgerRequest): string {
  const { idempotencyKey: _key, replayTransfers, ...rest } = request;
  // `replayTransfers: true` is the default spelled out: the same request as leaving it out.
  const bound = replayTransfers === false ? { ...rest, replayTransfers } : rest;
  return hash("sha256", canonical(bound) ?? "", "base64url");
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
export function serializeResult(
  result: Omit<LedgerResult, "replayed">,
  texts: JsonTexts = freshJson,
): string {
  // The shape of StoredResult, assembled from parts so that metadata and the memo, whose text the
  // ledger already computed when it checked them, are not stringified again (json-texts.ts).
  // Metadata and the time go last, where every TransferRecord has them, so that a replay's
  // transfers list their fields in the order the first answer did.
  const transfers = result.transfers.map((t) => {
    const { metadata, createdAt, ...rest } = t;
    const head = JSON.stringify({
      ...rest,
      id: t.id.toString(),
      amount: t.amount.toString(),
      pendingId: t.pendingId === null ? null : t.pendingId.toString(),
    });
    const metadataText = metadata === null ? "null" : texts.of(metadata);
    return `${head.slice(0, -1)},"metadata":${metadataText},"createdAt":${JSON.stringify(createdAt)}}`;
  });
  return `{"transfers":[${transfers.join(",")}],"memo":${jsonTextOf(result.memo ?? null, texts)}}`;
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
