/**
 * A STAND-IN FOR STRIPE'S HTTPS API, NOT STRIPE. This machine cannot reach api.stripe.com, so the
 * Stripe adapter is tested against this local node:http server instead. It follows Stripe's
 * published API reference for the few endpoints it implements: the same paths, form-encoded request
 * bodies as the official SDK sends them, JSON objects with their `object` field, Stripe's error
 * body `{ error: { type, code, message, param } }` with Stripe's status codes, Bearer auth, and
 * `Idempotency-Key` (same key and same parameters replay the first response; same key and other
 * parameters get 400 `idempotency_error`). Its helper methods play the buyer, the bank and Stripe's
 * back office: they move the objects through their lifecycle and return the Event objects Stripe
 * would deliver, which `signedDelivery` signs as Stripe does. State lives in memory.
 *
 * What it implements and what it does not: docs/stripe-stand-in.md.
 */
import { randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import Stripe from "stripe";

// ---------------------------------------------------------------------------------------------
// Objects, in Stripe's published shapes (the fields this stand-in fills; amounts are JSON numbers).

export type Metadata = Record<string, string>;

export interface CheckoutSessionObject {
  id: string;
  object: "checkout.session";
  amount_subtotal: number;
  amount_total: number;
  cancel_url: string | null;
  client_reference_id: string | null;
  created: number;
  currency: string;
  customer: string | null;
  customer_email: string | null;
  expires_at: number;
  livemode: false;
  locale: string | null;
  metadata: Metadata;
  mode: "payment";
  payment_intent: string | null;
  payment_method_types: string[];
  payment_status: "paid" | "unpaid" | "no_payment_required";
  status: "open" | "complete" | "expired";
  success_url: string | null;
  url: string | null;
}

export interface PaymentIntentObject {
  id: string;
  object: "payment_intent";
  amount: number;
  amount_received: number;
  client_secret: string;
  created: number;
  currency: string;
  last_payment_error: { code: string; message: string; type: "card_error" | "invalid_request_error" } | null;
  latest_charge: string | null;
  livemode: false;
  metadata: Metadata;
  payment_method_types: string[];
  status: "processing" | "succeeded" | "requires_payment_method";
}

export interface ChargeObject {
  id: string;
  object: "charge";
  amount: number;
  amount_captured: number;
  amount_refunded: number;
  balance_transaction: string | null;
  captured: boolean;
  created: number;
  currency: string;
  disputed: boolean;
  failure_code: string | null;
  failure_message: string | null;
  livemode: false;
  metadata: Metadata;
  paid: boolean;
  payment_intent: string;
  payment_method_details: { type: string };
  refunded: boolean;
  status: "pending" | "succeeded" | "failed";
}

export interface BalanceTransactionObject {
  id: string;
  object: "balance_transaction";
  amount: number;
  available_on: number;
  created: number;
  currency: string;
  description: string | null;
  exchange_rate: null;
  fee: number;
  fee_details: Array<{
    amount: number;
    application: null;
    currency: string;
    description: string;
    type: "stripe_fee";
  }>;
  net: number;
  reporting_category: "charge" | "dispute" | "dispute_reversal";
  source: string;
  status: "pending" | "available";
  type: "charge" | "adjustment";
}

export type DisputeStatus = "warning_needs_response" | "warning_closed" | "needs_response" | "won" | "lost";

export interface DisputeObject {
  id: string;
  object: "dispute";
  amount: number;
  balance_transactions: BalanceTransactionObject[];
  charge: string;
  created: number;
  currency: string;
  evidence_details: { due_by: number; has_evidence: boolean; past_due: boolean; submission_count: number };
  is_charge_refundable: boolean;
  livemode: false;
  metadata: Metadata;
  payment_intent: string;
  reason: string;
  status: DisputeStatus;
}

export interface RefundObject {
  id: string;
  object: "refund";
  amount: number;
  charge: string;
  created: number;
  currency: string;
  metadata: Metadata;
  payment_intent: string;
  reason: string | null;
  status: "succeeded";
}

export interface TransferReversalObject {
  id: string;
  object: "transfer_reversal";
  amount: number;
  created: number;
  currency: string;
  metadata: Metadata;
  transfer: string;
}

/** A transfer from the platform's balance to a connected account (Stripe Connect). */
export interface TransferObject {
  id: string;
  object: "transfer";
  amount: number;
  amount_reversed: number;
  balance_transaction: string;
  created: number;
  currency: string;
  description: string | null;
  destination: string;
  destination_payment: string;
  livemode: false;
  metadata: Metadata;
  reversals: {
    object: "list";
    data: TransferReversalObject[];
    has_more: false;
    total_count: number;
    url: string;
  };
  reversed: boolean;
  source_transaction: null;
  source_type: "card";
  transfer_group: string | null;
}

/** A connected account of the platform, as far as transfers care. */
export interface ConnectedAccount {
  id: string;
  /** The `transfers` capability: a transfer to an account without it active is refused. */
  transfers: "active" | "inactive";
}

/** An Event as Stripe delivers it to a webhook endpoint (a snapshot event). */
export interface StripeEvent {
  id: string;
  object: "event";
  /** Set on events of a connected account, delivered to Connect endpoints. */
  account?: string;
  api_version: string;
  created: number;
  data: { object: object; previous_attributes?: Record<string, unknown> };
  livemode: false;
  pending_webhooks: number;
  request: { id: string | null; idempotency_key: string | null };
  type: string;
}

/** One API request as the stand-in received it, for tests to assert what the SDK sent. */
export interface ReceivedRequest {
  method: string;
  path: string;
  idempotencyKey: string | null;
  params: FormObject;
  status: number;
}

export interface StandInOptions {
  port?: number;
  secretKey?: string;
  webhookSecret?: string;
  /** The signing secret of the Connect webhook endpoint (events of connected accounts). */
  connectWebhookSecret?: string;
  /** The API version events are rendered in; the SDK's pinned version by default. */
  apiVersion?: string;
  /** The clock of `created` times (and of `created[gte]` filters); real time by default. */
  clock?: () => number;
  /** The platform's available balance per currency (lower case), in minor units; unlimited when absent. */
  balances?: Record<string, bigint>;
}

/**
 * What happens to the next request to a path: answered late, or its connection dropped, after the
 * work is done; or refused with `status` and Stripe's error object before any work (nothing made,
 * nothing saved under the idempotency key), as Stripe refuses a key without the permission (403).
 */
export type StripeFault =
  | { kind: "delay"; ms: number }
  | { kind: "drop" }
  | { kind: "refuse"; status: number; error: { type: string; message: string; code?: string } };

export interface StripeStandIn {
  url: string;
  host: string;
  port: number;
  protocol: "http";
  secretKey: string;
  webhookSecret: string;
  /** Checkout Sessions by id, live (tests may read them; the helpers change them). */
  sessions: Map<string, CheckoutSessionObject>;
  paymentIntents: Map<string, PaymentIntentObject>;
  charges: Map<string, ChargeObject>;
  balanceTransactions: Map<string, BalanceTransactionObject>;
  disputes: Map<string, DisputeObject>;
  /** The latest API requests, oldest first (at most `receivedRequestsMax`). */
  requests: ReceivedRequest[];
  /** Events caused by `POST /v1/refunds` (refund.created, charge.refunded), oldest first. */
  refundEvents: StripeEvent[];
  connectWebhookSecret: string;
  /** Transfers to connected accounts by id, live. */
  transfers: Map<string, TransferObject>;
  /** Connected accounts by id. */
  accounts: Map<string, ConnectedAccount>;
  /** The platform's available balance per currency, when limited. */
  balances: Map<string, bigint>;
  /** Events caused by API requests to `/v1/transfers` (transfer.created, transfer.reversed), oldest first. */
  transferEvents: StripeEvent[];
  /** A connected account; `transfers: "inactive"` makes transfers to it fail. */
  createConnectedAccount(opts?: { transfers?: "active" | "inactive" }): string;
  /** The platform reverses (part of) a transfer, as from its Dashboard: the money goes back to its balance. */
  reverseTransfer(transferId: string, amountMinor?: bigint): StripeEvent[];
  /** A connected account's payout to its bank fails (the money stays in its Stripe balance). */
  connectedPayoutFailed(accountId: string, opts?: { amountMinor?: bigint; currency?: string }): StripeEvent[];
  /** The next request to `method path` is answered late or not at all, after its work is done, or refused before it. */
  faultNext(method: "GET" | "POST", path: string, fault: StripeFault): void;
  close(): Promise<void>;
  /**
   * The buyer pays the open session. By card (default): the charge succeeds at once; with
   * `feeMinor` it is settled at once too (its balance transaction set, as is usual for cards).
   * `async`: a delayed method (bank debit): the session completes `unpaid`, to be settled by
   * `succeedAsync` or `failAsync`. `amountOverrideMinor` charges another amount than the session's.
   */
  pay(
    sessionId: string,
    opts?: { async?: boolean; amountOverrideMinor?: bigint; feeMinor?: bigint },
  ): StripeEvent[];
  succeedAsync(sessionId: string, opts?: { feeMinor?: bigint }): StripeEvent[];
  failAsync(sessionId: string): StripeEvent[];
  expire(sessionId: string): StripeEvent[];
  refund(paymentIntentId: string, amountMinor: bigint): StripeEvent[];
  /**
   * The cardholder disputes the payment: a chargeback, or with `inquiry` an inquiry (no funds move).
   * `amountMinor` disputes part of it (Stripe's `dispute.amount` may be less than the charge's).
   */
  dispute(
    paymentIntentId: string,
    opts?: { inquiry?: boolean; reason?: string; amountMinor?: bigint },
  ): StripeEvent[];
  closeDispute(disputeId: string, status: "won" | "lost" | "warning_closed"): StripeEvent[];
  /** Stripe settles the charge: its balance transaction (with the fee) is created and set. */
  settleBalance(paymentIntentId: string, feeMinor: bigint): StripeEvent[];
  /** The body and `Stripe-Signature` header of the event's webhook delivery, signed as Stripe does. */
  signedDelivery(event: StripeEvent, opts?: { timestampSeconds?: number; secret?: string }): SignedDelivery;
}

export interface SignedDelivery {
  body: string;
  header: string;
}

// ---------------------------------------------------------------------------------------------
// Limits.

export const requestBodyBytesMax = 256 * 1024;
export const formParamsMax = 1000;
export const formDepthMax = 6;
export const idempotencyKeyLengthMax = 255;
export const receivedRequestsMax = 1000;
export const metadataKeysMax = 50;
export const metadataKeyLengthMax = 40;
export const metadataValueLengthMax = 500;
export const clientReferenceIdLengthMax = 200;
export const lineItemsMax = 100;
export const listLimitMax = 100;
export const transferDescriptionLengthMax = 500;

// ---------------------------------------------------------------------------------------------
// Errors in Stripe's shape.

interface ErrorBody {
  type: "invalid_request_error" | "idempotency_error" | "api_error";
  message: string;
  code?: string;
  param?: string;
  doc_url?: string;
}

class ApiError extends Error {
  /** Raised once the endpoint had started: Stripe saves it under the idempotency key, as a success would be. */
  saved = false;

  constructor(
    readonly status: number,
    readonly body: ErrorBody,
  ) {
    super(body.message);
  }
}

function invalidRequest(
  message: string,
  extra: { code?: string; param?: string } = {},
  status = 400,
): ApiError {
  const body: ErrorBody = { type: "invalid_request_error", message, ...extra };
  if (extra.code !== undefined)
    body.doc_url = `https://stripe.com/docs/error-codes/${extra.code.replaceAll("_", "-")}`;
  return new ApiError(status, body);
}

const missing = (param: string) =>
  invalidRequest(`Missing required param: ${param}.`, { code: "parameter_missing", param });

const unknownParam = (param: string) =>
  invalidRequest(
    `Received unknown parameter: ${param}. (This stand-in implements only part of Stripe's parameters: see docs/stripe-stand-in.md.)`,
    { code: "parameter_unknown", param },
  );

const noSuch = (kind: string, id: string, param = "id") =>
  invalidRequest(`No such ${kind}: '${id}'`, { code: "resource_missing", param }, 404);

// ---------------------------------------------------------------------------------------------
// The SDK's form encoding: `a[b][0][c]=v` → { a: { b: [ { c: "v" } ] } }.

export type FormValue = string | FormValue[] | FormObject;
export interface FormObject {
  [key: string]: FormValue;
}

const forbiddenSegments = new Set(["__proto__", "constructor", "prototype"]);

/** Parses a form body (or query string) as Stripe reads it; throws a Stripe 400 when malformed. */
export function parseStripeForm(encoded: string): FormObject {
  const root: FormObject = Object.create(null);
  let count = 0;
  for (const [key, value] of new URLSearchParams(encoded)) {
    count += 1;
    if (count > formParamsMax) throw invalidRequest(`Too many parameters (at most ${formParamsMax}).`);
    assignPath(root, keySegments(key), value, key);
  }
  return finalize(root) as FormObject;
}

function keySegments(key: string): string[] {
  const match = /^([^[\]]+)((?:\[[^[\]]*\])*)$/.exec(key);
  if (match === null) throw invalidRequest(`Invalid parameter name: ${key}`, { param: key });
  const segments = [match[1]!, ...Array.from(match[2]!.matchAll(/\[([^[\]]*)\]/g), (m) => m[1]!)];
  if (segments.length > formDepthMax)
    throw invalidRequest(`Parameter nested too deeply: ${key}`, { param: key });
  for (const segment of segments) {
    if (forbiddenSegments.has(segment))
      throw invalidRequest(`Invalid parameter name: ${key}`, { param: key });
  }
  return segments;
}

function assignPath(root: FormObject, segments: string[], value: string, key: string): void {
  let node = root;
  for (let i = 0; i < segments.length; i++) {
    // `a[]=x` appends: the next index at this level.
    const segment = segments[i] === "" ? String(Object.keys(node).length) : segments[i]!;
    const existing = node[segment];
    if (i === segments.length - 1) {
      if (existing !== undefined) throw invalidRequest(`Received ${key} more than once.`, { param: key });
      node[segment] = value;
      return;
    }
    if (typeof existing === "string") throw invalidRequest(`Invalid parameter: ${key}`, { param: key });
    if (existing === undefined) {
      const child: FormObject = Object.create(null);
      node[segment] = child;
      node = child;
    } else {
      node = existing as FormObject;
    }
  }
}

/** Objects whose keys are exactly 0..n-1 become arrays, as Stripe reads indexed parameters. */
function finalize(value: FormValue): FormValue {
  if (typeof value === "string") return value;
  const keys = Object.keys(value);
  const object = value as FormObject;
  if (keys.length > 0 && keys.every((k) => /^\d+$/.test(k))) {
    const sorted = keys.map(Number).sort((a, b) => a - b);
    if (sorted.some((k, i) => k !== i))
      throw invalidRequest("Invalid array: indices must start at 0 and be consecutive.");
    return sorted.map((k) => finalize(object[String(k)]!));
  }
  const out: FormObject = Object.create(null);
  for (const key of keys) out[key] = finalize(object[key]!);
  return out;
}

/** Parameters as a canonical string, key order aside, to compare an idempotent retry with the first request. */
function canonical(value: FormValue): string {
  if (typeof value === "string") return JSON.stringify(value);
  if (Array.isArray(value)) return `[${value.map(canonical).join(",")}]`;
  const object = value as FormObject;
  return `{${Object.keys(object)
    .sort()
    .map((k) => `${JSON.stringify(k)}:${canonical(object[k]!)}`)
    .join(",")}}`;
}

// ---------------------------------------------------------------------------------------------
// Reading parameters as Stripe validates them.

function objectParam(value: FormValue | undefined, param: string): FormObject | undefined {
  if (value === undefined) return undefined;
  if (typeof value === "string" || Array.isArray(value)) {
    throw invalidRequest(`Invalid object`, { code: "parameter_invalid_empty", param });
  }
  return value;
}

function stringParam(value: FormValue | undefined, param: string): string | undefined {
  if (value === undefined) return undefined;
  if (typeof value !== "string") throw invalidRequest(`Invalid string: ${param} must be a string`, { param });
  return value;
}

function integerParam(value: FormValue | undefined, param: string): bigint | undefined {
  const text = stringParam(value, param);
  if (text === undefined) return undefined;
  if (!/^-?\d{1,20}$/.test(text)) {
    throw invalidRequest(`Invalid integer: ${text}`, { code: "parameter_invalid_integer", param });
  }
  return BigInt(text);
}

function onlyKnown(params: FormObject, known: readonly string[], prefix: string): void {
  for (const key of Object.keys(params)) {
    if (!known.includes(key)) throw unknownParam(prefix === "" ? key : `${prefix}[${key}]`);
  }
}

function metadataParam(value: FormValue | undefined, param: string): Metadata {
  const object = objectParam(value, param);
  const metadata: Metadata = {};
  if (object === undefined) return metadata;
  const keys = Object.keys(object);
  if (keys.length > metadataKeysMax) {
    throw invalidRequest(`You can specify up to ${metadataKeysMax} keys in metadata.`, { param });
  }
  for (const key of keys) {
    const entry = stringParam(object[key], `${param}[${key}]`)!;
    if (key.length > metadataKeyLengthMax) {
      throw invalidRequest(`Metadata keys can have a maximum length of ${metadataKeyLengthMax} characters.`, {
        param: `${param}[${key}]`,
      });
    }
    if (entry.length > metadataValueLengthMax) {
      throw invalidRequest(
        `Metadata values can have a maximum length of ${metadataValueLengthMax} characters.`,
        { param: `${param}[${key}]` },
      );
    }
    // An empty value unsets a key, so on create it simply is not there.
    if (entry !== "") metadata[key] = entry;
  }
  return metadata;
}

function urlParam(value: FormValue | undefined, param: string): string | null {
  const text = stringParam(value, param);
  if (text === undefined) return null;
  if (!URL.canParse(text)) throw invalidRequest("Not a valid URL", { code: "url_invalid", param });
  return text;
}

const currencyPattern = /^[a-zA-Z]{3}$/;

interface SessionInput {
  amountTotal: bigint;
  currency: string;
  clientReferenceId: string | null;
  metadata: Metadata;
  intentMetadata: Metadata;
  successUrl: string | null;
  cancelUrl: string | null;
  customerEmail: string | null;
  locale: string | null;
}

const sessionParams = [
  "mode",
  "line_items",
  "client_reference_id",
  "metadata",
  "payment_intent_data",
  "success_url",
  "cancel_url",
  "customer_email",
  "locale",
  "payment_method_types",
] as const;

/** Validates POST /v1/checkout/sessions as Stripe does, for the parameters this stand-in implements. */
function readSessionParams(params: FormObject): SessionInput {
  onlyKnown(params, sessionParams, "");
  const mode = stringParam(params.mode, "mode");
  if (mode === undefined) throw missing("mode");
  if (mode === "setup" || mode === "subscription") {
    throw invalidRequest(`This stand-in implements only mode=payment, not mode=${mode}.`, { param: "mode" });
  }
  if (mode !== "payment") {
    throw invalidRequest(`Invalid mode: must be one of payment, setup, or subscription`, { param: "mode" });
  }
  const items = params.line_items;
  if (items === undefined) throw missing("line_items");
  if (!Array.isArray(items) || items.length === 0) {
    throw invalidRequest("Invalid array", { code: "parameter_invalid_empty", param: "line_items" });
  }
  if (items.length > lineItemsMax) {
    throw invalidRequest(`line_items can hold at most ${lineItemsMax} items.`, { param: "line_items" });
  }
  let amountTotal = 0n;
  let currency: string | null = null;
  items.forEach((raw, index) => {
    const item = readLineItem(raw, `line_items[${index}]`);
    if (currency !== null && currency !== item.currency) {
      throw invalidRequest("All line items must use the same currency.", {
        param: `line_items[${index}][price_data][currency]`,
      });
    }
    currency = item.currency;
    amountTotal += item.unitAmount * item.quantity;
  });
  if (amountTotal > BigInt(Number.MAX_SAFE_INTEGER)) {
    throw invalidRequest("The total amount is too large.", { code: "amount_too_large", param: "line_items" });
  }
  const clientReferenceId = stringParam(params.client_reference_id, "client_reference_id") ?? null;
  if (clientReferenceId !== null && clientReferenceId.length > clientReferenceIdLengthMax) {
    throw invalidRequest(`client_reference_id can be at most ${clientReferenceIdLengthMax} characters.`, {
      param: "client_reference_id",
    });
  }
  const intentData = objectParam(params.payment_intent_data, "payment_intent_data") ?? {};
  onlyKnown(intentData, ["metadata", "description"], "payment_intent_data");
  const methods = params.payment_method_types;
  if (methods !== undefined && (!Array.isArray(methods) || methods.some((m) => typeof m !== "string"))) {
    throw invalidRequest("Invalid array", { param: "payment_method_types" });
  }
  return {
    amountTotal,
    currency: currency!,
    clientReferenceId,
    metadata: metadataParam(params.metadata, "metadata"),
    intentMetadata: metadataParam(intentData.metadata, "payment_intent_data[metadata]"),
    successUrl: urlParam(params.success_url, "success_url"),
    cancelUrl: urlParam(params.cancel_url, "cancel_url"),
    customerEmail: stringParam(params.customer_email, "customer_email") ?? null,
    locale: stringParam(params.locale, "locale") ?? null,
  };
}

function readLineItem(
  raw: FormValue,
  param: string,
): { currency: string; unitAmount: bigint; quantity: bigint } {
  const item = objectParam(raw, param)!;
  onlyKnown(item, ["price", "price_data", "quantity"], param);
  const price = stringParam(item.price, `${param}[price]`);
  // No Price objects live here: a price id is, truthfully, no such price.
  if (price !== undefined)
    throw invalidRequest(`No such price: '${price}'`, { code: "resource_missing", param: `${param}[price]` });
  const priceData = objectParam(item.price_data, `${param}[price_data]`);
  if (priceData === undefined) throw missing(`${param}[price_data]`);
  onlyKnown(priceData, ["currency", "unit_amount", "product_data"], `${param}[price_data]`);
  const currency = stringParam(priceData.currency, `${param}[price_data][currency]`);
  if (currency === undefined) throw missing(`${param}[price_data][currency]`);
  if (!currencyPattern.test(currency)) {
    throw invalidRequest(`Invalid currency: ${currency.toLowerCase()}.`, {
      param: `${param}[price_data][currency]`,
    });
  }
  const unitAmount = integerParam(priceData.unit_amount, `${param}[price_data][unit_amount]`);
  if (unitAmount === undefined) throw missing(`${param}[price_data][unit_amount]`);
  if (unitAmount < 0n) {
    throw invalidRequest("This value must be greater than or equal to 0.", {
      param: `${param}[price_data][unit_amount]`,
    });
  }
  const product = objectParam(priceData.product_data, `${param}[price_data][product_data]`);
  if (product === undefined) throw missing(`${param}[price_data][product_data]`);
  onlyKnown(product, ["name", "description", "metadata"], `${param}[price_data][product_data]`);
  const name = stringParam(product.name, `${param}[price_data][product_data][name]`);
  if (name === undefined || name === "") throw missing(`${param}[price_data][product_data][name]`);
  const quantity = integerParam(item.quantity, `${param}[quantity]`);
  if (quantity === undefined) throw missing(`${param}[quantity]`);
  if (quantity < 1n)
    throw invalidRequest("This value must be greater than or equal to 1.", { param: `${param}[quantity]` });
  return { currency: currency.toLowerCase(), unitAmount, quantity };
}

// ---------------------------------------------------------------------------------------------
// The server.

function newId(prefix: string): string {
  return `${prefix}_${randomBytes(12).toString("hex")}`;
}

/** A bigint amount as a JSON number; the helpers refuse what would not be exact. */
function jsonAmount(minor: bigint, what: string): number {
  if (minor < 0n || minor > BigInt(Number.MAX_SAFE_INTEGER))
    throw new Error(`${what} out of range: ${minor}`);
  return Number(minor);
}

function mustGet<T>(map: Map<string, T>, id: string, kind: string): T {
  const found = map.get(id);
  if (found === undefined) throw new Error(`stand-in has no ${kind} ${id}`);
  return found;
}

/** The key Stripe shows for a wrong one: its prefix and last four characters. */
function maskKey(key: string): string {
  const prefix = /^(sk|rk|pk)_(test|live)_/.exec(key)?.[0] ?? "";
  return `${prefix}${"*".repeat(Math.max(0, key.length - prefix.length - 4))}${key.slice(-4)}`;
}

interface StoredResponse {
  fingerprint: string;
  status: number;
  body: string;
  requestId: string;
}

export async function startStripeStandIn(opts: StandInOptions = {}): Promise<StripeStandIn> {
  const secretKey = opts.secretKey ?? `sk_test_standin_${randomBytes(12).toString("hex")}`;
  const webhookSecret = opts.webhookSecret ?? `whsec_${randomBytes(16).toString("hex")}`;
  const apiVersion = opts.apiVersion ?? Stripe.API_VERSION;
  const sessions = new Map<string, CheckoutSessionObject>();
  const paymentIntents = new Map<string, PaymentIntentObject>();
  /** Events caused by refunds made through the API, for tests to deliver. */
  const refundEvents: StripeEvent[] = [];
  const charges = new Map<string, ChargeObject>();
  const balanceTransactions = new Map<string, BalanceTransactionObject>();
  const disputes = new Map<string, DisputeObject>();
  const transfers = new Map<string, TransferObject>();
  const accounts = new Map<string, ConnectedAccount>();
  const balances = new Map(Object.entries(opts.balances ?? {}));
  const transferEvents: StripeEvent[] = [];
  const faults: { method: string; path: string; fault: StripeFault }[] = [];
  const connectWebhookSecret = opts.connectWebhookSecret ?? `whsec_${randomBytes(16).toString("hex")}`;
  const clock = opts.clock ?? Date.now;
  // Every `created` follows the stand-in's clock, so a test clock and `created[gte]` agree.
  const nowSeconds = () => Math.floor(clock() / 1000);
  const intentMetadataBySession = new Map<string, Metadata>();
  const idempotent = new Map<string, StoredResponse>();
  const requests: ReceivedRequest[] = [];
  let baseUrl = "";

  function send(res: ServerResponse, status: number, body: string, headers: Record<string, string> = {}) {
    res.writeHead(status, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(body),
      "Stripe-Version": apiVersion,
      "Request-Id": headers["Request-Id"] ?? newId("req"),
      ...headers,
    });
    res.end(body);
  }

  function sendError(res: ServerResponse, error: ApiError) {
    send(res, error.status, JSON.stringify({ error: error.body }, null, 2));
  }

  function authenticate(req: IncomingMessage): void {
    const header = req.headers.authorization;
    if (header === undefined || header.trim() === "") {
      throw invalidRequest(
        "You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').",
        {},
        401,
      );
    }
    let key = "";
    if (header.startsWith("Bearer ")) key = header.slice("Bearer ".length).trim();
    // curl -u sk_test_…: sends Basic auth with the key as the user name.
    if (header.startsWith("Basic "))
      key = Buffer.from(header.slice(6), "base64").toString("utf8").split(":")[0]!;
    if (key !== secretKey) throw invalidRequest(`Invalid API Key provided: ${maskKey(key)}`, {}, 401);
  }

  // --- API handlers -----------------------------------------------------------------------------

  function createSession(params: FormObject): CheckoutSessionObject {
    const input = readSessionParams(params);
    const id = newId("cs_test");
    const created = nowSeconds();
    const amount = jsonAmount(input.amountTotal, "amount_total");
    const session: CheckoutSessionObject = {
      id,
      object: "checkout.session",
      amount_subtotal: amount,
      amount_total: amount,
      cancel_url: input.cancelUrl,
      client_reference_id: input.clientReferenceId,
      created,
      currency: input.currency,
      customer: null,
      customer_email: input.customerEmail,
      expires_at: created + 24 * 60 * 60,
      livemode: false,
      locale: input.locale,
      metadata: input.metadata,
      mode: "payment",
      payment_intent: null,
      payment_method_types: ["card"],
      payment_status: "unpaid",
      status: "open",
      success_url: input.successUrl,
      url: `${baseUrl}/c/pay/${id}`,
    };
    sessions.set(id, session);
    intentMetadataBySession.set(id, input.intentMetadata);
    return session;
  }

  function retrieve(path: string): object {
    const routes: Array<[RegExp, Map<string, object>, string]> = [
      [/^\/v1\/checkout\/sessions\/([^/]+)$/, sessions, "checkout.session"],
      [/^\/v1\/payment_intents\/([^/]+)$/, paymentIntents, "payment_intent"],
      [/^\/v1\/charges\/([^/]+)$/, charges, "charge"],
      [/^\/v1\/balance_transactions\/([^/]+)$/, balanceTransactions, "balance transaction"],
      [/^\/v1\/disputes\/([^/]+)$/, disputes, "dispute"],
      [/^\/v1\/transfers\/([^/]+)$/, transfers, "transfer"],
    ];
    for (const [pattern, map, kind] of routes) {
      const match = pattern.exec(path);
      if (match === null) continue;
      const id = decodeURIComponent(match[1]!);
      const found = map.get(id);
      if (found === undefined) throw noSuch(kind, id);
      return found;
    }
    throw unrecognised("GET", path);
  }

  function unrecognised(method: string, path: string): ApiError {
    return invalidRequest(
      `Unrecognized request URL (${method}: ${path}). Please see https://stripe.com/docs or we can help at https://support.stripe.com/.`,
      {},
      404,
    );
  }

  function record(req: IncomingMessage, path: string, params: FormObject, status: number) {
    const key = req.headers["idempotency-key"];
    requests.push({
      method: req.method ?? "",
      path,
      idempotencyKey: typeof key === "string" ? key : null,
      params,
      status,
    });
    if (requests.length > receivedRequestsMax) requests.shift();
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > requestBodyBytesMax) {
        throw invalidRequest(`The request body is larger than ${requestBodyBytesMax} bytes.`, {}, 413);
      }
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  /** `POST /v1/refunds`: refunds part or all of a PaymentIntent's charge (Stripe's Refunds API). */
  function createRefund(params: FormObject): RefundObject {
    const paymentIntent = params.payment_intent;
    if (typeof paymentIntent !== "string") {
      throw new ApiError(400, {
        type: "invalid_request_error",
        code: "parameter_missing",
        param: "payment_intent",
        message: "Missing required param: payment_intent.",
      });
    }
    if (!paymentIntents.has(paymentIntent)) {
      throw new ApiError(404, {
        type: "invalid_request_error",
        code: "resource_missing",
        param: "payment_intent",
        message: `No such payment_intent: '${paymentIntent}'`,
      });
    }
    const charge = chargeOf(paymentIntent);
    const amountText = params.amount;
    const amount =
      typeof amountText === "string" && /^[1-9][0-9]{0,15}$/.test(amountText)
        ? BigInt(amountText)
        : BigInt(charge.amount - charge.amount_refunded);
    const events = standIn.refund(paymentIntent, amount);
    refundEvents.push(...events);
    return events[0]!.data.object as RefundObject;
  }

  /** `POST /v1/transfers`: moves money from the platform's balance to a connected account. */
  function createTransfer(params: FormObject, request: { id: string; key: string | null }): TransferObject {
    onlyKnown(params, ["amount", "currency", "destination", "transfer_group", "metadata", "description"], "");
    const amount = integerParam(params.amount, "amount");
    if (amount === undefined) throw missing("amount");
    if (amount < 1n)
      throw invalidRequest("This value must be greater than or equal to 1.", { param: "amount" });
    const currency = stringParam(params.currency, "currency");
    if (currency === undefined) throw missing("currency");
    if (!currencyPattern.test(currency))
      throw invalidRequest(`Invalid currency: ${currency.toLowerCase()}.`, { param: "currency" });
    const destination = stringParam(params.destination, "destination");
    if (destination === undefined) throw missing("destination");
    const transferGroup = stringParam(params.transfer_group, "transfer_group") ?? null;
    const description = stringParam(params.description, "description") ?? null;
    if (description !== null && description.length > transferDescriptionLengthMax) {
      throw invalidRequest(`description can be at most ${transferDescriptionLengthMax} characters.`, {
        param: "description",
      });
    }
    const metadata = metadataParam(params.metadata, "metadata");
    const account = accounts.get(destination);
    if (account === undefined) {
      throw invalidRequest(`No such destination: '${destination}'`, {
        code: "resource_missing",
        param: "destination",
      });
    }
    // From here on the endpoint has started: a refusal is saved under the idempotency key.
    const refuse = (error: ApiError) => {
      error.saved = true;
      return error;
    };
    if (account.transfers !== "active") {
      throw refuse(
        invalidRequest(
          "Your destination account needs to have at least one of the following capabilities enabled: transfers, crypto_transfers, legacy_payments",
          { code: "insufficient_capabilities_for_transfer", param: "destination" },
        ),
      );
    }
    const lower = currency.toLowerCase();
    const balance = balances.get(lower);
    if (balance !== undefined && balance < amount) {
      throw refuse(
        invalidRequest(
          "You have insufficient available funds in your Stripe account. Try adding funds directly to your available balance by creating Charges using the 4000000000000077 test card.",
          { code: "balance_insufficient" },
        ),
      );
    }
    if (balance !== undefined) balances.set(lower, balance - amount);
    const id = newId("tr");
    const transfer: TransferObject = {
      id,
      object: "transfer",
      amount: jsonAmount(amount, "amount"),
      amount_reversed: 0,
      balance_transaction: newId("txn"),
      created: nowSeconds(),
      currency: lower,
      description,
      destination,
      destination_payment: newId("py"),
      livemode: false,
      metadata,
      reversals: {
        object: "list",
        data: [],
        has_more: false,
        total_count: 0,
        url: `/v1/transfers/${id}/reversals`,
      },
      reversed: false,
      source_transaction: null,
      source_type: "card",
      transfer_group: transferGroup,
    };
    transfers.set(id, transfer);
    const created = event("transfer.created", transfer);
    created.request = { id: request.id, idempotency_key: request.key };
    transferEvents.push(created);
    return transfer;
  }

  /** `POST /v1/transfers/:id/reversals`. */
  function createReversal(path: string, params: FormObject): TransferReversalObject {
    onlyKnown(params, ["amount", "metadata", "description"], "");
    const id = decodeURIComponent(/^\/v1\/transfers\/([^/]+)\/reversals$/.exec(path)![1]!);
    const transfer = transfers.get(id);
    if (transfer === undefined) throw noSuch("transfer", id);
    const amount = integerParam(params.amount, "amount");
    const events = standIn.reverseTransfer(id, amount);
    transferEvents.push(...events);
    return transfer.reversals.data.at(-1)!;
  }

  /** `GET /v1/transfers`: newest first, with Stripe's list parameters. */
  function listTransfers(params: FormObject): object {
    onlyKnown(params, ["limit", "starting_after", "created", "destination", "transfer_group"], "");
    const limit = integerParam(params.limit, "limit") ?? 10n;
    if (limit < 1n || limit > BigInt(listLimitMax)) {
      throw invalidRequest(`This value must be between 1 and ${listLimitMax}.`, { param: "limit" });
    }
    const created = objectParam(params.created, "created") ?? {};
    onlyKnown(created, ["gt", "gte", "lt", "lte"], "created");
    const bound = (key: string) => integerParam(created[key], `created[${key}]`);
    const [gt, gte, lt, lte] = [bound("gt"), bound("gte"), bound("lt"), bound("lte")];
    const destination = stringParam(params.destination, "destination");
    const group = stringParam(params.transfer_group, "transfer_group");
    const all = [...transfers.values()]
      .reverse()
      .filter((t) => destination === undefined || t.destination === destination)
      .filter((t) => group === undefined || t.transfer_group === group)
      .filter((t) => {
        const at = BigInt(t.created);
        return (
          (gt === undefined || at > gt) &&
          (gte === undefined || at >= gte) &&
          (lt === undefined || at < lt) &&
          (lte === undefined || at <= lte)
        );
      });
    let from = 0;
    const after = stringParam(params.starting_after, "starting_after");
    if (after !== undefined) {
      const index = all.findIndex((t) => t.id === after);
      if (index === -1) throw noSuch("transfer", after, "starting_after");
      from = index + 1;
    }
    const page = all.slice(from, from + Number(limit));
    return { object: "list", data: page, has_more: from + page.length < all.length, url: "/v1/transfers" };
  }

  function createFor(path: string, params: FormObject, request: { id: string; key: string | null }): object {
    if (path === "/v1/refunds") return createRefund(params);
    if (path === "/v1/transfers") return createTransfer(params, request);
    if (/^\/v1\/transfers\/[^/]+\/reversals$/.test(path)) return createReversal(path, params);
    return createSession(params);
  }

  function takeFault<K extends StripeFault["kind"]>(
    method: string,
    path: string,
    kinds: readonly K[],
  ): Extract<StripeFault, { kind: K }> | undefined {
    const index = faults.findIndex(
      (f) => f.method === method && f.path === path && (kinds as readonly string[]).includes(f.fault.kind),
    );
    return index === -1
      ? undefined
      : (faults.splice(index, 1)[0]!.fault as Extract<StripeFault, { kind: K }>);
  }

  async function handlePost(req: IncomingMessage, res: ServerResponse, path: string) {
    const posts = /^\/v1\/(checkout\/sessions|refunds|transfers|transfers\/[^/]+\/reversals)$/;
    if (!posts.test(path)) throw unrecognised("POST", path);
    const body = await readBody(req);
    const contentType = req.headers["content-type"] ?? "";
    if (body !== "" && !contentType.startsWith("application/x-www-form-urlencoded")) {
      throw invalidRequest("Request bodies must be form-encoded (application/x-www-form-urlencoded).");
    }
    const params = parseStripeForm(body);
    const refusal = takeFault("POST", path, ["refuse"]);
    if (refusal !== undefined) {
      record(req, path, params, refusal.status);
      send(res, refusal.status, JSON.stringify({ error: refusal.error }, null, 2));
      return;
    }
    const keyHeader = req.headers["idempotency-key"];
    const key = typeof keyHeader === "string" && keyHeader !== "" ? keyHeader : null;
    if (key !== null && key.length > idempotencyKeyLengthMax) {
      throw invalidRequest(`Idempotency-Key must be at most ${idempotencyKeyLengthMax} characters.`);
    }
    const fingerprint = `POST ${path} ${canonical(params)}`;
    const storeKey = key === null ? null : `${secretKey}\u0000${key}`;
    const stored = storeKey === null ? undefined : idempotent.get(storeKey);
    if (stored !== undefined) {
      if (stored.fingerprint !== fingerprint) {
        throw new ApiError(400, {
          type: "idempotency_error",
          message: `Keys for idempotent requests can only be used with the same parameters they were first used with. Try using a key other than '${key}' if you meant to execute a different request.`,
        });
      }
      record(req, path, params, stored.status);
      send(res, stored.status, stored.body, {
        "Idempotent-Replayed": "true",
        "Original-Request": stored.requestId,
      });
      return;
    }
    // Validation failures are not saved under the key: the endpoint never started, so a retry may
    // succeed. A refusal once it had started is saved, as Stripe saves it.
    const requestId = newId("req");
    let status = 200;
    let responseBody: string;
    try {
      responseBody = JSON.stringify(createFor(path, params, { id: requestId, key }), null, 2);
    } catch (error) {
      if (!(error instanceof ApiError) || !error.saved) throw error;
      status = error.status;
      responseBody = JSON.stringify({ error: error.body }, null, 2);
    }
    if (storeKey !== null) idempotent.set(storeKey, { fingerprint, status, body: responseBody, requestId });
    record(req, path, params, status);
    // The work is done; only the answer is late or lost, as when a network drops it.
    const fault = takeFault("POST", path, ["delay", "drop"]);
    if (fault?.kind === "drop") {
      req.socket.destroy();
      return;
    }
    if (fault?.kind === "delay") await new Promise((resolve) => setTimeout(resolve, fault.ms));
    if (res.destroyed || req.socket.destroyed) return;
    send(res, status, responseBody, { "Request-Id": requestId });
  }

  function handleGet(req: IncomingMessage, res: ServerResponse, path: string, query: string) {
    const params = parseStripeForm(query);
    if (path === "/v1/transfers") {
      const list = listTransfers(params);
      record(req, path, params, 200);
      send(res, 200, JSON.stringify(list, null, 2));
      return;
    }
    const first = Object.keys(params)[0];
    if (first !== undefined) throw unknownParam(first);
    const found = retrieve(path);
    record(req, path, params, 200);
    send(res, 200, JSON.stringify(found, null, 2));
  }

  /** The hosted page `url` points at: a stub, since the buyer here is a test calling `pay`. */
  function checkoutPage(res: ServerResponse, id: string) {
    const session = sessions.get(id);
    const status = session === undefined ? 404 : 200;
    const text =
      session === undefined
        ? "No such Checkout Session."
        : `Stripe stand-in checkout for ${session.id}: ${session.amount_total} ${session.currency}, ${session.status}. Tests pay it with standIn.pay().`;
    res.writeHead(status, { "Content-Type": "text/plain; charset=utf-8" });
    res.end(text);
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const url = new URL(req.url ?? "/", "http://stand-in");
    const path = url.pathname;
    try {
      const page = /^\/c\/pay\/([^/]+)$/.exec(path);
      if (req.method === "GET" && page !== null) {
        checkoutPage(res, decodeURIComponent(page[1]!));
        return;
      }
      authenticate(req);
      if (req.method === "POST") await handlePost(req, res, path);
      else if (req.method === "GET") handleGet(req, res, path, url.search.slice(1));
      else throw unrecognised(req.method ?? "", path);
    } catch (error) {
      if (error instanceof ApiError) {
        record(req, path, {}, error.status);
        sendError(res, error);
        return;
      }
      sendError(res, new ApiError(500, { type: "api_error", message: `Stand-in failure: ${String(error)}` }));
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  const port = (server.address() as AddressInfo).port;
  const host = "127.0.0.1";
  baseUrl = `http://${host}:${port}`;

  // --- Lifecycle: the buyer, the bank and Stripe's back office --------------------------------

  function event(
    type: string,
    object: object,
    previous?: Record<string, unknown>,
    account?: string,
  ): StripeEvent {
    const data: StripeEvent["data"] = { object: structuredClone(object) };
    if (previous !== undefined) data.previous_attributes = structuredClone(previous);
    return {
      id: newId("evt"),
      object: "event",
      ...(account === undefined ? {} : { account }),
      api_version: apiVersion,
      created: nowSeconds(),
      data,
      livemode: false,
      pending_webhooks: 1,
      // Caused by the buyer or the bank, not by an API request of ours.
      request: { id: null, idempotency_key: null },
      type,
    };
  }

  function newBalanceTransaction(
    source: string,
    amount: number,
    feeMinor: bigint,
    currency: string,
    reporting: BalanceTransactionObject["reporting_category"],
  ): BalanceTransactionObject {
    const fee = jsonAmount(feeMinor, "fee");
    const created = nowSeconds();
    const balance: BalanceTransactionObject = {
      id: newId("txn"),
      object: "balance_transaction",
      amount,
      available_on: created + 2 * 24 * 60 * 60,
      created,
      currency,
      description: null,
      exchange_rate: null,
      fee,
      fee_details:
        fee === 0
          ? []
          : [
              {
                amount: fee,
                application: null,
                currency,
                description: "Stripe processing fees",
                type: "stripe_fee",
              },
            ],
      net: amount - fee,
      reporting_category: reporting,
      source,
      status: "pending",
      type: reporting === "charge" ? "charge" : "adjustment",
    };
    balanceTransactions.set(balance.id, balance);
    return balance;
  }

  function chargeOf(paymentIntentId: string): ChargeObject {
    const intent = mustGet(paymentIntents, paymentIntentId, "payment intent");
    if (intent.latest_charge === null) throw new Error(`payment intent ${paymentIntentId} has no charge`);
    return mustGet(charges, intent.latest_charge, "charge");
  }

  function settle(charge: ChargeObject, feeMinor: bigint): void {
    if (charge.balance_transaction !== null) throw new Error(`charge ${charge.id} is already settled`);
    charge.balance_transaction = newBalanceTransaction(
      charge.id,
      charge.amount,
      feeMinor,
      charge.currency,
      "charge",
    ).id;
  }

  function succeedCharge(intent: PaymentIntentObject, charge: ChargeObject, feeMinor: bigint | undefined) {
    intent.status = "succeeded";
    intent.amount_received = intent.amount;
    charge.status = "succeeded";
    charge.paid = true;
    charge.captured = true;
    charge.amount_captured = charge.amount;
    if (feeMinor !== undefined) settle(charge, feeMinor);
  }

  const standIn: StripeStandIn = {
    refundEvents,
    connectWebhookSecret,
    transfers,
    accounts,
    balances,
    transferEvents,

    createConnectedAccount(accountOpts = {}) {
      const id = `acct_${randomBytes(8).toString("hex")}`;
      accounts.set(id, { id, transfers: accountOpts.transfers ?? "active" });
      return id;
    },

    reverseTransfer(transferId, amountMinor) {
      const transfer = mustGet(transfers, transferId, "transfer");
      const left = transfer.amount - transfer.amount_reversed;
      const amount = amountMinor === undefined ? left : jsonAmount(amountMinor, "reversal amount");
      if (amount === 0 || amount > left) {
        throw new Error(
          `cannot reverse ${amount} of transfer ${transferId} (${transfer.amount_reversed}/${transfer.amount} reversed)`,
        );
      }
      const previous = { amount_reversed: transfer.amount_reversed, reversed: transfer.reversed };
      const reversal: TransferReversalObject = {
        id: newId("trr"),
        object: "transfer_reversal",
        amount,
        created: nowSeconds(),
        currency: transfer.currency,
        metadata: {},
        transfer: transfer.id,
      };
      transfer.amount_reversed += amount;
      transfer.reversed = transfer.amount_reversed === transfer.amount;
      transfer.reversals.data.push(reversal);
      transfer.reversals.total_count += 1;
      const balance = balances.get(transfer.currency);
      if (balance !== undefined) balances.set(transfer.currency, balance + BigInt(amount));
      return [event("transfer.reversed", transfer, previous)];
    },

    connectedPayoutFailed(accountId, payoutOpts = {}) {
      mustGet(accounts, accountId, "connected account");
      const created = nowSeconds();
      const payout = {
        id: newId("po"),
        object: "payout",
        amount: jsonAmount(payoutOpts.amountMinor ?? 1000n, "payout amount"),
        arrival_date: created + 2 * 24 * 60 * 60,
        automatic: true,
        created,
        currency: payoutOpts.currency ?? "usd",
        destination: newId("ba"),
        failure_code: "account_closed",
        failure_message: "The bank account has been closed.",
        livemode: false,
        metadata: {},
        method: "standard",
        status: "failed",
        type: "bank_account",
      };
      return [event("payout.failed", payout, undefined, accountId)];
    },

    faultNext(method, path, fault) {
      faults.push({ method, path, fault });
    },
    url: baseUrl,
    host,
    port,
    protocol: "http",
    secretKey,
    webhookSecret,
    sessions,
    paymentIntents,
    charges,
    balanceTransactions,
    disputes,
    requests,

    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },

    pay(sessionId, payOpts = {}) {
      const session = mustGet(sessions, sessionId, "checkout session");
      if (session.status !== "open") throw new Error(`session ${sessionId} is ${session.status}, not open`);
      const async = payOpts.async ?? false;
      if (async && payOpts.feeMinor !== undefined)
        throw new Error("a delayed payment is settled by succeedAsync");
      if (payOpts.amountOverrideMinor !== undefined) {
        const amount = jsonAmount(payOpts.amountOverrideMinor, "amountOverrideMinor");
        session.amount_subtotal = amount;
        session.amount_total = amount;
      }
      const created = nowSeconds();
      const intentId = newId("pi");
      const charge: ChargeObject = {
        id: newId("ch"),
        object: "charge",
        amount: session.amount_total,
        amount_captured: 0,
        amount_refunded: 0,
        balance_transaction: null,
        captured: false,
        created,
        currency: session.currency,
        disputed: false,
        failure_code: null,
        failure_message: null,
        livemode: false,
        metadata: {},
        paid: false,
        payment_intent: intentId,
        payment_method_details: { type: async ? "us_bank_account" : "card" },
        refunded: false,
        status: "pending",
      };
      const intent: PaymentIntentObject = {
        id: intentId,
        object: "payment_intent",
        amount: session.amount_total,
        amount_received: 0,
        client_secret: `${intentId}_secret_${randomBytes(8).toString("hex")}`,
        created,
        currency: session.currency,
        last_payment_error: null,
        latest_charge: charge.id,
        livemode: false,
        metadata: { ...intentMetadataBySession.get(sessionId) },
        payment_method_types: [charge.payment_method_details.type],
        status: "processing",
      };
      paymentIntents.set(intent.id, intent);
      charges.set(charge.id, charge);
      session.status = "complete";
      session.payment_intent = intent.id;
      if (async) {
        return [
          event("charge.pending", charge),
          event("payment_intent.processing", intent),
          event("checkout.session.completed", session),
        ];
      }
      succeedCharge(intent, charge, payOpts.feeMinor);
      session.payment_status = "paid";
      return [
        event("charge.succeeded", charge),
        event("payment_intent.succeeded", intent),
        event("checkout.session.completed", session),
      ];
    },

    succeedAsync(sessionId, succeedOpts = {}) {
      const session = mustGet(sessions, sessionId, "checkout session");
      const intent = mustGet(paymentIntents, session.payment_intent ?? "", "payment intent");
      if (intent.status !== "processing") throw new Error(`payment intent ${intent.id} is ${intent.status}`);
      const charge = chargeOf(intent.id);
      succeedCharge(intent, charge, succeedOpts.feeMinor);
      session.payment_status = "paid";
      return [
        event("charge.succeeded", charge),
        event("payment_intent.succeeded", intent),
        event("checkout.session.async_payment_succeeded", session),
      ];
    },

    failAsync(sessionId) {
      const session = mustGet(sessions, sessionId, "checkout session");
      const intent = mustGet(paymentIntents, session.payment_intent ?? "", "payment intent");
      if (intent.status !== "processing") throw new Error(`payment intent ${intent.id} is ${intent.status}`);
      const charge = chargeOf(intent.id);
      charge.status = "failed";
      charge.failure_code = "insufficient_funds";
      charge.failure_message = "The account has insufficient funds to cover this payment.";
      intent.status = "requires_payment_method";
      intent.last_payment_error = {
        code: "insufficient_funds",
        message: charge.failure_message,
        type: "invalid_request_error",
      };
      return [
        event("charge.failed", charge),
        event("payment_intent.payment_failed", intent),
        event("checkout.session.async_payment_failed", session),
      ];
    },

    expire(sessionId) {
      const session = mustGet(sessions, sessionId, "checkout session");
      if (session.status !== "open") throw new Error(`session ${sessionId} is ${session.status}, not open`);
      session.status = "expired";
      session.url = null;
      return [event("checkout.session.expired", session)];
    },

    refund(paymentIntentId, amountMinor) {
      const charge = chargeOf(paymentIntentId);
      if (charge.status !== "succeeded") throw new Error(`charge ${charge.id} is ${charge.status}`);
      const amount = jsonAmount(amountMinor, "refund amount");
      if (amount === 0 || charge.amount_refunded + amount > charge.amount) {
        throw new Error(
          `cannot refund ${amount} of charge ${charge.id} (${charge.amount_refunded}/${charge.amount})`,
        );
      }
      const previous = { amount_refunded: charge.amount_refunded, refunded: charge.refunded };
      charge.amount_refunded += amount;
      charge.refunded = charge.amount_refunded === charge.amount;
      const refund: RefundObject = {
        id: newId("re"),
        object: "refund",
        amount,
        charge: charge.id,
        created: nowSeconds(),
        currency: charge.currency,
        metadata: {},
        payment_intent: paymentIntentId,
        reason: "requested_by_customer",
        status: "succeeded",
      };
      return [event("refund.created", refund), event("charge.refunded", charge, previous)];
    },

    dispute(paymentIntentId, disputeOpts = {}) {
      const charge = chargeOf(paymentIntentId);
      if (charge.status !== "succeeded") throw new Error(`charge ${charge.id} is ${charge.status}`);
      if (charge.disputed) throw new Error(`charge ${charge.id} is already disputed`);
      const inquiry = disputeOpts.inquiry ?? false;
      const created = nowSeconds();
      const dispute: DisputeObject = {
        id: newId("du"),
        object: "dispute",
        amount: disputeOpts.amountMinor === undefined ? charge.amount : Number(disputeOpts.amountMinor),
        balance_transactions: [],
        charge: charge.id,
        created,
        currency: charge.currency,
        evidence_details: {
          due_by: created + 7 * 24 * 60 * 60,
          has_evidence: false,
          past_due: false,
          submission_count: 0,
        },
        is_charge_refundable: inquiry,
        livemode: false,
        metadata: {},
        payment_intent: paymentIntentId,
        reason: disputeOpts.reason ?? "fraudulent",
        status: inquiry ? "warning_needs_response" : "needs_response",
      };
      disputes.set(dispute.id, dispute);
      charge.disputed = true;
      if (inquiry) return [event("charge.dispute.created", dispute)];
      // A chargeback withdraws the disputed amount at once.
      dispute.balance_transactions.push(
        newBalanceTransaction(dispute.id, -dispute.amount, 0n, dispute.currency, "dispute"),
      );
      return [event("charge.dispute.created", dispute), event("charge.dispute.funds_withdrawn", dispute)];
    },

    closeDispute(disputeId, status) {
      const dispute = mustGet(disputes, disputeId, "dispute");
      const inquiry = dispute.status === "warning_needs_response";
      if (dispute.status !== "needs_response" && !inquiry)
        throw new Error(`dispute ${disputeId} is already ${dispute.status}`);
      if (inquiry !== (status === "warning_closed")) {
        throw new Error(`an ${inquiry ? "inquiry" : "chargeback"} does not close as ${status}`);
      }
      const previous = { status: dispute.status };
      dispute.status = status;
      dispute.is_charge_refundable = false;
      const events: StripeEvent[] = [];
      if (status === "won") {
        dispute.balance_transactions.push(
          newBalanceTransaction(dispute.id, dispute.amount, 0n, dispute.currency, "dispute_reversal"),
        );
        events.push(event("charge.dispute.funds_reinstated", dispute));
      }
      events.push(event("charge.dispute.closed", dispute, previous));
      return events;
    },

    settleBalance(paymentIntentId, feeMinor) {
      const charge = chargeOf(paymentIntentId);
      if (charge.status !== "succeeded") throw new Error(`charge ${charge.id} is ${charge.status}`);
      const previous = { balance_transaction: charge.balance_transaction };
      settle(charge, feeMinor);
      return [event("charge.updated", charge, previous)];
    },

    signedDelivery(delivered, deliveryOpts = {}) {
      // Stripe delivers the event pretty-printed and signs exactly those bytes.
      const body = JSON.stringify(delivered, null, 2);
      const header = Stripe.webhooks.generateTestHeaderString({
        payload: body,
        secret: deliveryOpts.secret ?? webhookSecret,
        ...(deliveryOpts.timestampSeconds === undefined ? {} : { timestamp: deliveryOpts.timestampSeconds }),
      });
      return { body, header };
    },
  };
  return standIn;
}
