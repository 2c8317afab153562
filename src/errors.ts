/**
 * The one catalogue of error codes Giftstream answers with.
 *
 * Every code is stable: clients branch on it. Each maps once to an HTTP status here, and
 * docs/errors.md documents the same set (test/docs.test.ts keeps the two in step).
 */
export const errorCatalogue = {
  invalid_request: {
    status: 400,
    title: "Invalid request",
    description: "The request is malformed or violates its schema (unknown field, wrong type, bad JSON).",
  },
  invalid_amount: {
    status: 400,
    title: "Invalid amount",
    description:
      "An amount is not a plain integer string in minor units: a float, an exponent, NaN, negative or zero where not allowed, or above the configured maximum (`money.amountMax`).",
  },
  invalid_signature: {
    status: 400,
    title: "Invalid signature",
    description: "A provider webhook's signature is missing, does not match the raw body, or is too old.",
  },
  batch_too_large: {
    status: 400,
    title: "Batch too large",
    description: "A ledger batch holds more transfers than `ledger.requestTransfersMax` allows.",
  },
  unauthenticated: {
    status: 401,
    title: "Unauthenticated",
    description:
      "The `Authorization: Bearer` credential is missing, unknown or revoked, or a user token is expired, malformed or wrongly signed.",
  },
  forbidden: {
    status: 403,
    title: "Forbidden",
    description:
      "The credential is valid but may not do this (a missing scope, a route closed to user tokens, or another user's resource).",
  },
  not_found: {
    status: 404,
    title: "Not found",
    description: "No such route or resource.",
  },
  request_timeout: {
    status: 408,
    title: "Request timeout",
    description:
      "The whole request was not received within `server.requestTimeoutMs`; the connection is closed.",
  },
  payload_too_large: {
    status: 413,
    title: "Payload too large",
    description:
      "The request body is larger than `server.bodyLimitBytes` (an identity document: `kyc.documentBytesMax`).",
  },
  unsupported_media_type: {
    status: 415,
    title: "Unsupported media type",
    description:
      "The request body is not `application/json` (an identity document upload: not JPEG, PNG, PDF or octet-stream).",
  },
  unsupported_document_type: {
    status: 415,
    title: "Unsupported document type",
    description:
      "An identity document's content is not JPEG, PNG or PDF, judged by its bytes, not by its name or Content-Type.",
  },
  account_exists_mismatch: {
    status: 409,
    title: "Account exists with other settings",
    description: "An account with this id already exists with a different unit or different flags.",
  },
  idempotency_key_in_use: {
    status: 409,
    title: "Idempotency key in use",
    description: "A request with this idempotency key is still in flight; retry once it has been answered.",
  },
  last_admin_key: {
    status: 409,
    title: "Last admin key",
    description: "Revoking this key would leave no active admin key; create another admin key first.",
  },
  token_keys_from_env: {
    status: 409,
    title: "Token keys come from the environment",
    description:
      "The user-token signing secret is set by `GIFTSTREAM_TOKEN_SECRET`: rotate it there (with `GIFTSTREAM_TOKEN_SECRET_PREVIOUS`), not through the API.",
  },
  pending_transfer_closed: {
    status: 409,
    title: "Pending transfer already closed",
    description: "The pending transfer was already posted, voided or expired.",
  },
  kyc_already_verified: {
    status: 409,
    title: "Identity already verified",
    description: "The user's identity is verified; its data and document can no longer be replaced.",
  },
  kyc_not_pending: {
    status: 409,
    title: "Identity verification not pending",
    description: "Only a pending identity verification can be approved or rejected.",
  },
  kyc_changed: {
    status: 409,
    title: "KYC changed",
    description:
      "The submission or its document changed since the `revision` the reviewer approved or rejected; review it again.",
  },
  kyc_document_missing: {
    status: 409,
    title: "Identity document missing",
    description: "The identity verification cannot be approved before its document is uploaded.",
  },
  account_not_found: {
    status: 422,
    title: "Account not found",
    description: "A transfer names an account that does not exist.",
  },
  unit_mismatch: {
    status: 422,
    title: "Unit mismatch",
    description:
      "The debit and credit accounts of a transfer hold different units, or the amount's unit differs.",
  },
  same_account: {
    status: 422,
    title: "Same account",
    description: "A transfer debits and credits the same account.",
  },
  debits_exceed_credits: {
    status: 422,
    title: "Debits would exceed credits",
    description:
      "The transfer would take an account flagged `debitsMustNotExceedCredits` below zero available balance (pending debits count).",
  },
  credits_exceed_debits: {
    status: 422,
    title: "Credits would exceed debits",
    description:
      "The transfer would take an account flagged `creditsMustNotExceedDebits` past its limit (pending credits count).",
  },
  balance_overflow: {
    status: 422,
    title: "Balance overflow",
    description: "The transfer would push an account's running debit or credit total past 2^63 - 1.",
  },
  pending_transfer_not_found: {
    status: 422,
    title: "Pending transfer not found",
    description: "A post or void names a transfer that does not exist or is not pending.",
  },
  pending_transfer_expired: {
    status: 422,
    title: "Pending transfer expired",
    description: "A post names a pending transfer whose expiry has passed (a void is always allowed).",
  },
  post_exceeds_pending: {
    status: 422,
    title: "Post exceeds pending amount",
    description: "A post asks for more than the pending transfer holds.",
  },
  user_restricted: {
    status: 422,
    title: "User restricted",
    description: "The user is restricted or blocked (by an admin, or while a chargeback leaves coin debt).",
  },
  underage: {
    status: 422,
    title: "Underage",
    description: "The user is under the economy's minimum age (18 by default) to buy coins or earn.",
  },
  pack_not_available_here: {
    status: 422,
    title: "Pack not available here",
    description: "The coin pack is not in the price list in force for the user's country.",
  },
  provider_not_available: {
    status: 422,
    title: "Provider not available",
    description: "The payment provider is not configured (`stripe`), or needs test mode (`test`).",
  },
  insufficient_coins: {
    status: 422,
    title: "Insufficient coins",
    description: "The sender has fewer coins (bonus and paid together) than the gifts cost.",
  },
  unknown_gift: {
    status: 422,
    title: "Unknown gift",
    description: "No gift with this id is in the catalog in force.",
  },
  gift_not_available_here: {
    status: 422,
    title: "Gift not available here",
    description: "The gift cannot be sent in this context (live or video) or from the sender's country.",
  },
  self_gift_forbidden: {
    status: 422,
    title: "Self-gift forbidden",
    description: "A user cannot send a gift to themselves.",
  },
  quantity_too_large: {
    status: 422,
    title: "Quantity too large",
    description: "More gifts at once than `limits.giftQuantityMax` of the economy allows.",
  },
  coins_non_refundable: {
    status: 422,
    title: "Coins non-refundable",
    description:
      "Coins are refundable only when bought on the web in a region that allows it (EEA, UK), within the refund window, and only while unused.",
  },
  kyc_required: {
    status: 422,
    title: "Identity verification required",
    description: "The user's identity must be verified (KYC) before a cash-out.",
  },
  name_mismatch: {
    status: 422,
    title: "Name mismatch",
    description: "The payout method's holder name does not match the verified legal name.",
  },
  method_not_allowed: {
    status: 422,
    title: "Payout method not allowed",
    description:
      "The payout method type is not allowed in the user's region (`payoutMethods` of the region).",
  },
  too_many_payout_methods: {
    status: 422,
    title: "Too many payout methods",
    description: "The user already has `payoutMethods.perUserMax` payout methods linked; delete one first.",
  },
  insufficient_diamonds: {
    status: 422,
    title: "Insufficient diamonds",
    description: "The creator has fewer withdrawable diamonds (not on hold) than the cash-out asks for.",
  },
  too_many_lots: {
    status: 422,
    title: "Too many lots",
    description:
      "The creator has the diamonds, but in more lots than one cash-out may draw from (`cashouts.lotsMax`); `diamondsMax` is the most one cash-out can take now.",
  },
  below_minimum: {
    status: 422,
    title: "Below minimum",
    description:
      "The cash-out's net is under the region's minimum (`cashoutMinimumNetMinor`, in the payout currency).",
  },
  over_daily_limit: {
    status: 422,
    title: "Over daily limit",
    description:
      "The cash-out would take the creator past the region's daily maximum (`cashoutDailyMaxNetMinor`), counted per calendar day in the region's time zone.",
  },
  quote_expired: {
    status: 422,
    title: "Quote expired",
    description:
      "The cash-out quote is past its expiry (`cashouts.quoteTtlMs`), or its terms no longer hold (the lots it priced changed, or the region pays in another currency); ask for a new one.",
  },
  reconciliation_too_large: {
    status: 422,
    title: "Reconciliation window too large",
    description:
      "More cash-outs fall in the payout reconciliation's window than `payouts.reconcileCashoutsMax`; ask for a later `since`.",
  },
  cashout_not_cancellable: {
    status: 409,
    title: "Cash-out not cancellable",
    description: "The cash-out has started processing (or has ended), so it can no longer be cancelled.",
  },
  cashout_state_conflict: {
    status: 409,
    title: "Cash-out state conflict",
    description: "The cash-out is not in a state that allows this action (e.g. approving one already paid).",
  },
  cashout_resolve_too_early: {
    status: 422,
    title: "Cash-out resolved too early",
    description:
      "The cash-out has been processing for less than `cashouts.resolveProcessingHoursMin`, so its rail may still report; `resolvableAt` says when an admin may resolve it.",
  },
  payout_line_state_conflict: {
    status: 409,
    title: "Payout file line state conflict",
    description:
      "The payout file line cannot make this change (a returned line cannot become paid); for a returns CSV, `errors` lists each row with its line number, and nothing changed.",
  },
  invalid_returns_csv: {
    status: 400,
    title: "Invalid returns CSV",
    description:
      "The returns CSV is malformed (header, field count, status, missing reason, duplicate) or names a reference that is not a line of the file; `errors` lists each problem with its line number, and nothing changed.",
  },
  idempotency_key_reused: {
    status: 422,
    title: "Idempotency key reused",
    description: "The idempotency key was already used with a different request.",
  },
  rate_limited: {
    status: 429,
    title: "Rate limited",
    description:
      "Too many requests from this API key, user or address, or too many gifts from this sender, in the current window (`rateLimit.*`); retry after `Retry-After` seconds.",
  },
  too_many_webhook_endpoints: {
    status: 422,
    title: "Too many webhook endpoints",
    description: "As many webhook endpoints exist as `webhooks.endpointsMax` allows; delete one first.",
  },
  provider_error: {
    status: 502,
    title: "Payment provider error",
    description:
      "The payment provider refused or failed the call; nothing was changed here. Retry with the same idempotency key.",
  },
  overloaded: {
    status: 503,
    title: "Overloaded",
    description:
      "The ledger's write queue is full (`ledger.queueRequestsMax`); retry with the same idempotency key.",
  },
  too_many_subscribers: {
    status: 503,
    title: "Too many subscribers",
    description:
      "This server already serves as many live event streams as `live.subscribersMax` (or `live.subscribersPerStreamMax` for one stream) allow; retry later or against another instance.",
  },
  shutting_down: {
    status: 503,
    title: "Shutting down",
    description: "The server is shutting down and accepts no new writes; retry against another instance.",
  },
  database_unavailable: {
    status: 503,
    title: "Database unavailable",
    description:
      "The database refused the work for now and rolled it back: a statement or lock wait ran past `postgres.statementTimeoutMs`, a deadlock, no connection to be had, or a server restarting. Nothing was done; retry with the same idempotency key.",
  },
  internal_error: {
    status: 500,
    title: "Internal error",
    description: "An unexpected failure. Nothing was acknowledged; retry with the same idempotency key.",
  },
} as const satisfies Record<string, { status: number; title: string; description: string }>;

export type ErrorCode = keyof typeof errorCatalogue;

export const errorCodes = Object.keys(errorCatalogue) as ErrorCode[];

/** A failure with a stable code. `detail` is for humans; `extra` carries machine-readable fields. */
export class GiftstreamError extends Error {
  readonly code: ErrorCode;
  readonly status: number;
  readonly extra: Readonly<Record<string, unknown>> | undefined;

  constructor(code: ErrorCode, detail?: string, extra?: Record<string, unknown>) {
    super(detail ?? errorCatalogue[code].title);
    this.name = "GiftstreamError";
    this.code = code;
    this.status = errorCatalogue[code].status;
    this.extra = extra;
  }
}

export function isGiftstreamError(value: unknown): value is GiftstreamError {
  return value instanceof GiftstreamError;
}

/**
 * A broken invariant in money code is a bug to stop on, never a case to handle: it is thrown,
 * rolls back the transaction it happens in, and is logged at fatal level.
 */
export class InvariantViolation extends Error {
  constructor(message: string) {
    super(`invariant violated: ${message}`);
    this.name = "InvariantViolation";
  }
}

export function invariant(condition: unknown, message: string): asserts condition {
  if (!condition) throw new InvariantViolation(message);
}
