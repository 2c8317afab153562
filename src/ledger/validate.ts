import { GiftstreamError } from "../errors.js";
import { findUnit } from "../money/unit.js";
import { int64Max } from "./int64.js";
import { freshJson, type JsonTexts, jsonTextOf } from "./json-texts.js";
import type { JsonObject, LedgerRequest, PostedTransferInput, TransferInput } from "./types.js";

/** Why text a store cannot keep as given is refused (here, and by the API before it). */
export const unstorableTextDetail =
  "text must be well-formed Unicode (no lone surrogate) without the NUL character (U+0000)";

/**
 * In JSON text: the escape JSON.stringify writes for a NUL or a lone surrogate (a well-formed pair
 * is written as it is), not preceded by an escaped backslash (text that spells out `\u0000`).
 */
const unstorableEscape = /(?<!\\)(?:\\\\)*\\u(?:0000|d[89a-f])/;

export interface RequestLimits {
  /** The cap on any single amount, so that no running total can overflow 64 bits in practice. */
  amountMax: bigint;
  requestTransfersMax: number;
}

/** Lengths that bound every string the ledger stores. */
export const ledgerLimits = {
  accountIdLengthMax: 128,
  kindLengthMax: 64,
  idempotencyKeyLengthMax: 255,
  metadataBytesMax: 4096,
} as const;

/** Accounts one cascade may draw from. */
export const cascadeAccountsMax = 64;

/** Records written beside one request; requests that carry more split them. */
const effectsMax = 16;

const idPattern = /^[A-Za-z0-9_.:\-/]+$/;

/**
 * Checks everything about a request that needs no stored state, before it joins a batch: a
 * request that fails here never reaches the store. The JSON texts of its objects are computed
 * through `texts`, which keeps them for the store when it is a cache (json-texts.ts).
 */
export function validateRequest(
  request: LedgerRequest,
  limits: RequestLimits,
  texts: JsonTexts = freshJson,
): void {
  const transfers = request.transfers;
  if (!Array.isArray(transfers)) throw new GiftstreamError("invalid_request", "transfers must be a list");
  if (
    transfers.length === 0 &&
    (request.accounts ?? []).length === 0 &&
    (request.effects ?? []).length === 0
  ) {
    throw new GiftstreamError("invalid_request", "a request needs at least one transfer, account or effect");
  }
  if ((request.effects ?? []).length > effectsMax) {
    throw new GiftstreamError("batch_too_large", `more than ${effectsMax} effects in one request`);
  }
  for (const effect of request.effects ?? []) {
    if (typeof effect.type !== "string" || effect.type.length === 0) {
      throw new GiftstreamError("invalid_request", "an effect needs a type");
    }
    // PostgreSQL text cannot hold a NUL, nor its JSON lists a lone surrogate, and an effect's
    // strings go into text columns of the batch's shared statements: one such string would fail
    // every request in its batch. It is refused here, for this request only (and on SQLite too,
    // so both stores answer alike).
    if (unstorableEscape.test(checkJson(effect.data, `effect ${effect.type}`, texts) ?? "")) {
      throw new GiftstreamError("invalid_request", unstorableTextDetail);
    }
  }
  if (request.replayTransfers !== undefined && typeof request.replayTransfers !== "boolean") {
    throw new GiftstreamError("invalid_request", "replayTransfers must be a boolean");
  }
  if (
    request.fingerprint !== undefined &&
    (typeof request.fingerprint !== "string" || request.fingerprint.length > 128)
  ) {
    throw new GiftstreamError("invalid_request", "fingerprint must be a string of at most 128 characters");
  }
  if ((request.accounts ?? []).length > limits.requestTransfersMax) {
    throw new GiftstreamError(
      "batch_too_large",
      `more than ${limits.requestTransfersMax} accounts in one request`,
    );
  }
  const most = transfersAtMost(transfers);
  if (most > limits.requestTransfersMax) {
    throw new GiftstreamError(
      "batch_too_large",
      `${most} transfers (a cascade counts one for each account it may draw on) exceed the limit of ${limits.requestTransfersMax}`,
    );
  }
  if (request.idempotencyKey !== undefined) {
    const key = request.idempotencyKey;
    if (typeof key !== "string" || key.length === 0 || key.length > ledgerLimits.idempotencyKeyLengthMax) {
      throw new GiftstreamError("invalid_request", "idempotency key must be 1–255 characters");
    }
  }
  checkJson(request.memo, "memo", texts);
  for (const account of request.accounts ?? []) {
    if (!isAccountId(account.id)) throw badAccountId("account id");
    if (typeof account.unit !== "string" || !findUnit(account.unit)) {
      throw new GiftstreamError(
        "invalid_request",
        `unknown unit ${String(account.unit)} for account ${account.id}`,
      );
    }
    if (account.opening !== undefined) {
      const { debitAccountId, amount, kind } = account.opening;
      if (!isAccountId(debitAccountId)) throw badAccountId("opening debit account id");
      if (debitAccountId === account.id) {
        throw new GiftstreamError("same_account", `account ${account.id} cannot open from itself`);
      }
      if (typeof kind !== "string" || kind.length === 0 || kind.length > ledgerLimits.kindLengthMax) {
        throw new GiftstreamError("invalid_request", "opening kind must be 1–64 characters");
      }
      checkAmount(amount, limits.amountMax, `opening of ${account.id}`);
    }
  }
  for (let index = 0; index < transfers.length; index++)
    checkTransfer(transfers[index]!, index, limits, texts);
}

/** Field names in messages are built only on the way to an error: this runs for every transfer. */
const at = (index: number, field: string): string => `transfers[${index}]${field}`;

/**
 * A follow-on transfer (`LedgerRequest.transfersOf`), checked as a submitted one is when its
 * request is applied: it is made then, so it could not be checked on submission. Only a posted
 * transfer may follow on.
 */
export function checkFollowOn(
  transfer: PostedTransferInput,
  index: number,
  limits: RequestLimits,
): GiftstreamError | null {
  if (transfer.type !== undefined && transfer.type !== "posted") {
    return new GiftstreamError("invalid_request", `${at(index, ".type")} of a follow-on must be posted`);
  }
  try {
    checkTransfer(transfer, index, limits, freshJson);
    return null;
  } catch (error) {
    if (error instanceof GiftstreamError) return error;
    throw error;
  }
}

function checkTransfer(
  transfer: TransferInput,
  index: number,
  limits: RequestLimits,
  texts: JsonTexts,
): void {
  const kind = transfer.kind;
  if (typeof kind !== "string" || kind.length === 0 || kind.length > ledgerLimits.kindLengthMax) {
    throw new GiftstreamError("invalid_request", `${at(index, ".kind")} must be 1–64 characters`);
  }
  if (transfer.metadata !== undefined) checkMetadata(transfer.metadata, at(index, ""), texts);
  switch (transfer.type) {
    case undefined:
    case "posted":
    case "pending":
      if (!isAccountId(transfer.debitAccountId)) throw badAccountId(at(index, ".debitAccountId"));
      if (!isAccountId(transfer.creditAccountId)) throw badAccountId(at(index, ".creditAccountId"));
      if (transfer.debitAccountId === transfer.creditAccountId) {
        throw new GiftstreamError(
          "same_account",
          `${at(index, "")} debits and credits ${transfer.debitAccountId}`,
        );
      }
      if (!isAmount(transfer.amount, limits.amountMax))
        checkAmount(transfer.amount, limits.amountMax, at(index, ".amount"));
      if (
        transfer.type === "pending" &&
        transfer.expiresAt !== undefined &&
        !Number.isSafeInteger(transfer.expiresAt)
      ) {
        throw new GiftstreamError(
          "invalid_request",
          `${at(index, ".expiresAt")} must be a time in milliseconds`,
        );
      }
      return;
    case "cascade": {
      const ids = transfer.debitAccountIds;
      if (!Array.isArray(ids) || ids.length === 0 || ids.length > cascadeAccountsMax) {
        throw new GiftstreamError(
          "invalid_request",
          `${at(index, ".debitAccountIds")} must list 1–${cascadeAccountsMax} accounts`,
        );
      }
      if (new Set(ids).size !== ids.length) {
        throw new GiftstreamError(
          "invalid_request",
          `${at(index, ".debitAccountIds")} lists an account twice`,
        );
      }
      for (const id of ids) if (!isAccountId(id)) throw badAccountId(at(index, ".debitAccountIds"));
      if (!isAccountId(transfer.creditAccountId)) throw badAccountId(at(index, ".creditAccountId"));
      if (ids.includes(transfer.creditAccountId)) {
        throw new GiftstreamError(
          "same_account",
          `${at(index, "")} debits and credits ${transfer.creditAccountId}`,
        );
      }
      if (!isAmount(transfer.amount, limits.amountMax))
        checkAmount(transfer.amount, limits.amountMax, at(index, ".amount"));
      return;
    }
    case "post_pending":
      checkPendingId(transfer.pendingId, at(index, ""));
      if (transfer.amount !== undefined) checkAmount(transfer.amount, limits.amountMax, at(index, ".amount"));
      return;
    case "void_pending":
      checkPendingId(transfer.pendingId, at(index, ""));
      return;
    default:
      throw new GiftstreamError("invalid_request", `${at(index, ".type")} is not a transfer type`);
  }
}

function isAmount(amount: unknown, amountMax: bigint): boolean {
  return typeof amount === "bigint" && amount > 0n && amount <= amountMax;
}

function isAccountId(id: unknown): boolean {
  return (
    typeof id === "string" &&
    id.length > 0 &&
    id.length <= ledgerLimits.accountIdLengthMax &&
    idPattern.test(id)
  );
}

function badAccountId(field: string): GiftstreamError {
  return new GiftstreamError("invalid_request", `${field} must be 1–128 characters of A-Z a-z 0-9 _ . : - /`);
}

export function checkAmount(amount: unknown, amountMax: bigint, field: string): void {
  // A JS number is refused even when it is an integer: money never passes through a float.
  if (typeof amount !== "bigint") throw new GiftstreamError("invalid_amount", `${field} must be a bigint`);
  if (amount <= 0n) throw new GiftstreamError("invalid_amount", `${field} must be positive`);
  if (amount > amountMax)
    throw new GiftstreamError("invalid_amount", `${field} exceeds the maximum of ${amountMax}`);
}

function checkPendingId(id: unknown, where: string): void {
  if (typeof id !== "bigint" || id <= 0n || id > int64Max)
    throw new GiftstreamError("invalid_request", `${where}.pendingId must be a transfer id`);
}

function checkMetadata(metadata: JsonObject | undefined, where: string, texts: JsonTexts): void {
  if (metadata === undefined) return;
  if (metadata === null || typeof metadata !== "object" || Array.isArray(metadata)) {
    throw new GiftstreamError("invalid_request", `${where}.metadata must be an object`);
  }
  checkJson(metadata, `${where}.metadata`, texts);
}

/** Metadata and memos are stored as JSON text, so they must be plain JSON of a bounded size. */
/** Checks `value` is JSON within the size limit; returns its text. */
function checkJson(value: unknown, field: string, texts: JsonTexts): string | undefined {
  if (value === undefined) return undefined;
  let text: string | undefined;
  try {
    // An object's text is kept for the store to write (json-texts.ts).
    text = jsonTextOf(value, texts);
  } catch {
    throw new GiftstreamError("invalid_request", `${field} must be JSON (no bigints, no cycles)`);
  }
  if (text === undefined) throw new GiftstreamError("invalid_request", `${field} must be JSON`);
  if (Buffer.byteLength(text) > ledgerLimits.metadataBytesMax) {
    throw new GiftstreamError("invalid_request", `${field} exceeds ${ledgerLimits.metadataBytesMax} bytes`);
  }
  return text;
}

/**
 * The most transfers `transfers` can make: a cascade makes one for each account it draws on, up to
 * all of them, so it counts for that many against `requestTransfersMax` and a batch's weight.
 * (Read before each transfer is checked: a malformed cascade counts one, and is refused later.)
 */
export function transfersAtMost(transfers: readonly TransferInput[]): number {
  let most = 0;
  for (const t of transfers) {
    most +=
      t?.type === "cascade" && Array.isArray(t.debitAccountIds) ? Math.max(1, t.debitAccountIds.length) : 1;
  }
  return most;
}
