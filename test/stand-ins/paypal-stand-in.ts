/**
 * A STAND-IN FOR PAYPAL'S REST API, NOT PAYPAL. This machine cannot reach api-m.paypal.com, so the
 * PayPal Payouts rail is tested against this local node:http server. It follows PayPal's published
 * API reference for the endpoints it implements: OAuth2 client credentials (`POST /v1/oauth2/token`,
 * Basic auth, `{access_token, token_type, expires_in, …}`), payout batches (`POST
 * /v1/payments/payouts` → 201, a repeated sender_batch_id → 400 USER_BUSINESS_ERROR linking to the
 * original batch), batch and item reads with PayPal's item statuses, unclaimed-item cancel, and
 * webhook signature verification (`POST /v1/notifications/verify-webhook-signature`). Error bodies
 * have PayPal's shape, `{name, message, debug_id, information_link, details[], links[]}`.
 *
 * Its helpers play PayPal's back office: `process()` settles pending items by their receiver,
 * `setItemStatus` moves one item (a return, a refund), and each returns the webhook event PayPal
 * would send, which `signedDelivery` signs. Faults (a slow answer, a dropped connection, a 5xx) are
 * queued with `faultNext`. State lives in memory. What it does and does not do:
 * docs/paypal-stand-in.md.
 */
import { createSign, createVerify, generateKeyPairSync, type KeyObject, randomBytes } from "node:crypto";
import { createServer, type IncomingMessage, type ServerResponse } from "node:http";
import type { AddressInfo } from "node:net";
import { crc32 } from "node:zlib";
import { formatMajor, parseMajor } from "../../src/money/index.js";

export type ItemStatus =
  | "SUCCESS"
  | "FAILED"
  | "PENDING"
  | "UNCLAIMED"
  | "RETURNED"
  | "ONHOLD"
  | "BLOCKED"
  | "REFUNDED"
  | "REVERSED";

export interface Money {
  currency: string;
  value: string;
}

export interface Link {
  href: string;
  rel: string;
  method: "GET" | "POST";
  encType?: string;
}

/** A payout item as PayPal shows it. */
export interface PayoutItemObject {
  payout_item_id: string;
  transaction_id: string | null;
  activity_id?: string;
  transaction_status: ItemStatus;
  payout_item_fee: Money;
  payout_batch_id: string;
  sender_batch_id: string;
  payout_item: {
    recipient_type: string;
    amount: Money;
    note?: string;
    receiver: string;
    sender_item_id?: string;
    recipient_wallet: "PAYPAL";
  };
  time_processed: string | null;
  errors?: { name: string; message: string; information_link?: string };
  links: Link[];
}

export interface PayoutBatchObject {
  payout_batch_id: string;
  sender_batch_header: Record<string, unknown> & { sender_batch_id: string };
  time_created: string;
  /** payout_item_id of each item, in request order. */
  itemIds: string[];
}

/** A webhook event as PayPal delivers it. */
export interface PaypalEvent {
  id: string;
  event_version: "1.0";
  create_time: string;
  resource_type: "payouts_item";
  event_type: string;
  summary: string;
  resource: PayoutItemObject;
  links: Link[];
}

export interface ReceivedRequest {
  method: string;
  path: string;
  status: number;
  /** The parsed JSON body of a POST, when it had one. */
  body?: unknown;
}

/** What happens to the next request to a path: answered late, its connection dropped, or refused. */
export type Fault =
  | { kind: "delay"; ms: number }
  | { kind: "drop" }
  | { kind: "fail"; status: number; body: unknown };

export interface PaypalStandInOptions {
  port?: number;
  clientId?: string;
  clientSecret?: string;
  /** The id of the one webhook registered (it points at the app). */
  webhookId?: string;
  tokenTtlSeconds?: number;
  /** The clock of the objects' times (`time_created`, `create_time`); real time by default. */
  clock?: () => number;
  /** The sender's balance per currency, in minor units; unlimited when absent. */
  balances?: Record<string, bigint>;
}

export interface SignedPaypalDelivery {
  body: string;
  headers: Record<string, string>;
}

export interface PaypalStandIn {
  url: string;
  clientId: string;
  clientSecret: string;
  webhookId: string;
  batches: Map<string, PayoutBatchObject>;
  items: Map<string, PayoutItemObject>;
  /** The latest API requests, oldest first (at most `receivedRequestsMax`). */
  requests: ReceivedRequest[];
  tokensIssued(): number;
  /** Forgets every issued token, as if they all expired. */
  expireTokens(): void;
  balances: Map<string, bigint>;
  /** Items whose sender_item_id is `senderItemId`, across every batch. */
  itemsOf(senderItemId: string): PayoutItemObject[];
  faultNext(method: "GET" | "POST", path: string, fault: Fault): void;
  /**
   * PayPal processes every PENDING item by its receiver's local part (before any `+`): `unclaimed`
   * → UNCLAIMED, `fail` → FAILED, `blocked` → BLOCKED, `hold` → ONHOLD, anything else SUCCESS.
   * Returns the webhook events, one per item that changed.
   */
  process(): PaypalEvent[];
  /** Moves the item of `senderItemId` (its latest) to `status`; the webhook event, if PayPal sends one. */
  setItemStatus(
    senderItemId: string,
    status: ItemStatus,
    errors?: { name: string; message: string },
  ): PaypalEvent | null;
  /**
   * The body and headers of an event's delivery, signed as the stand-in signs: SHA256withRSA over
   * `transmission id|time|webhook id|CRC32 of the body`. `webhookId` signs for another webhook;
   * `tamper` changes the body after signing.
   */
  signedDelivery(event: PaypalEvent, opts?: { webhookId?: string; tamper?: boolean }): SignedPaypalDelivery;
  close(): Promise<void>;
}

export const requestBodyBytesMax = 8 * 1024 * 1024;
export const receivedRequestsMax = 1000;
export const batchItemsMax = 15_000;
export const pageSizeMax = 1000;
export const senderItemIdLengthMax = 63;

const informationLink = "https://developer.paypal.com/docs/api/payments.payouts-batch/#errors";

class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly body: unknown,
  ) {
    super(
      typeof body === "object" && body !== null && "name" in body ? String(body.name) : `status ${status}`,
    );
  }
}

function debugId(): string {
  return randomBytes(7).toString("hex").slice(0, 13);
}

function paypalError(
  status: number,
  name: string,
  message: string,
  details: { field?: string; location?: string; issue: string; link?: Link[] }[] = [],
): ApiError {
  return new ApiError(status, {
    name,
    message,
    debug_id: debugId(),
    information_link: informationLink,
    details,
    links: [],
  });
}

const validation = (field: string, issue: string) =>
  paypalError(400, "VALIDATION_ERROR", "Invalid request - see details.", [
    { field, location: "body", issue },
  ]);

/** PayPal's ids are 13 upper-case letters and digits. */
function paypalId(): string {
  const alphabet = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789";
  return Array.from(randomBytes(13), (b) => alphabet[b % alphabet.length]).join("");
}

const eventTypes: Partial<Record<ItemStatus, [string, string]>> = {
  SUCCESS: ["PAYMENT.PAYOUTS-ITEM.SUCCEEDED", "A payout item has succeeded"],
  FAILED: ["PAYMENT.PAYOUTS-ITEM.FAILED", "A payout item has failed"],
  BLOCKED: ["PAYMENT.PAYOUTS-ITEM.BLOCKED", "A payout item has been blocked"],
  ONHOLD: ["PAYMENT.PAYOUTS-ITEM.HELD", "A payout item is held"],
  UNCLAIMED: ["PAYMENT.PAYOUTS-ITEM.UNCLAIMED", "A payout item is unclaimed"],
  RETURNED: ["PAYMENT.PAYOUTS-ITEM.RETURNED", "A payout item has been returned"],
  REFUNDED: ["PAYMENT.PAYOUTS-ITEM.REFUNDED", "A payout item has been refunded"],
};

const itemErrors: Partial<Record<ItemStatus, { name: string; message: string }>> = {
  UNCLAIMED: { name: "RECEIVER_UNREGISTERED", message: "Receiver is unregistered" },
  FAILED: { name: "RECEIVER_ACCOUNT_LOCKED", message: "Receiver's account is locked or inactive" },
  BLOCKED: { name: "RISK_DECLINE", message: "Transaction declined due to risk" },
};

/** Statuses after which the money is no longer held for the receiver: it is back in the balance. */
const givesBack: readonly ItemStatus[] = ["FAILED", "BLOCKED", "RETURNED", "REFUNDED", "REVERSED"];

export async function startPaypalStandIn(opts: PaypalStandInOptions = {}): Promise<PaypalStandIn> {
  const clientId = opts.clientId ?? `standin-client-${randomBytes(6).toString("hex")}`;
  const clientSecret = opts.clientSecret ?? `standin-secret-${randomBytes(12).toString("hex")}`;
  const webhookId = opts.webhookId ?? paypalId();
  const tokenTtlSeconds = opts.tokenTtlSeconds ?? 32_400;
  const clock = opts.clock ?? Date.now;
  const iso = () => new Date(clock()).toISOString().replace(/\.\d{3}Z$/, "Z");
  const { privateKey, publicKey } = generateKeyPairSync("rsa", { modulusLength: 2048 });
  const tokens = new Map<string, number>();
  let issued = 0;
  const batches = new Map<string, PayoutBatchObject>();
  const bySenderBatchId = new Map<string, string>();
  const items = new Map<string, PayoutItemObject>();
  const balances = new Map(Object.entries(opts.balances ?? {}));
  const requests: ReceivedRequest[] = [];
  const faults: { method: string; path: string; fault: Fault }[] = [];
  let url = "";
  const certUrl = () => `${url}/v1/notifications/certs/CERT-360caa42-fca2a594-standin`;

  function record(req: IncomingMessage, path: string, status: number, body?: unknown) {
    requests.push({ method: req.method ?? "", path, status, ...(body === undefined ? {} : { body }) });
    if (requests.length > receivedRequestsMax) requests.shift();
  }

  async function readBody(req: IncomingMessage): Promise<string> {
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of req) {
      size += (chunk as Buffer).length;
      if (size > requestBodyBytesMax)
        throw paypalError(413, "REQUEST_ENTITY_TOO_LARGE", "The request is too large.");
      chunks.push(chunk as Buffer);
    }
    return Buffer.concat(chunks).toString("utf8");
  }

  function jsonBody(text: string): Record<string, unknown> {
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      throw paypalError(400, "MALFORMED_REQUEST_JSON", "The request JSON is not well formed.");
    }
    if (typeof parsed !== "object" || parsed === null || Array.isArray(parsed)) {
      throw paypalError(400, "MALFORMED_REQUEST_JSON", "The request JSON is not well formed.");
    }
    return parsed as Record<string, unknown>;
  }

  // --- OAuth2 -------------------------------------------------------------------------------

  function issueToken(req: IncomingMessage, body: string) {
    const header = req.headers.authorization ?? "";
    const [id, secret] = header.startsWith("Basic ")
      ? Buffer.from(header.slice(6), "base64").toString("utf8").split(":")
      : [];
    if (id !== clientId || secret !== clientSecret) {
      throw new ApiError(401, { error: "invalid_client", error_description: "Client Authentication failed" });
    }
    const grant = new URLSearchParams(body).get("grant_type");
    if (grant === null) {
      throw new ApiError(400, { error: "unsupported_grant_type", error_description: "Grant Type is NULL" });
    }
    if (grant !== "client_credentials") {
      throw new ApiError(400, {
        error: "unsupported_grant_type",
        error_description: `Grant Type ${grant} is not supported`,
      });
    }
    const token = `A21AA${randomBytes(24).toString("base64url")}`;
    tokens.set(token, Date.now() + tokenTtlSeconds * 1000);
    issued += 1;
    return {
      scope:
        "https://uri.paypal.com/services/payments/payouts https://uri.paypal.com/services/applications/webhooks",
      access_token: token,
      token_type: "Bearer",
      app_id: "APP-80W284485P519543T",
      expires_in: tokenTtlSeconds,
      nonce: `${iso()}${randomBytes(8).toString("hex")}`,
    };
  }

  function authenticate(req: IncomingMessage) {
    const header = req.headers.authorization ?? "";
    const token = header.startsWith("Bearer ") ? header.slice(7) : "";
    const expiresAt = tokens.get(token);
    if (expiresAt === undefined) {
      throw new ApiError(401, {
        error: "invalid_token",
        error_description: "Token signature verification failed",
      });
    }
    if (Date.now() >= expiresAt) {
      throw new ApiError(401, {
        error: "invalid_token",
        error_description: "Access Token not found in cache",
      });
    }
  }

  // --- Payouts ------------------------------------------------------------------------------

  function batchLink(id: string): Link {
    return {
      href: `${url}/v1/payments/payouts/${id}`,
      rel: "self",
      method: "GET",
      encType: "application/json",
    };
  }

  function itemLinks(item: PayoutItemObject): Link[] {
    return [
      {
        href: `${url}/v1/payments/payouts-item/${item.payout_item_id}`,
        rel: "self",
        method: "GET",
        encType: "application/json",
      },
      {
        href: `${url}/v1/payments/payouts/${item.payout_batch_id}`,
        rel: "batch",
        method: "GET",
        encType: "application/json",
      },
    ];
  }

  function minorOf(amount: Money): bigint {
    return parseMajor(amount.value, amount.currency, { max: 10n ** 18n, allowZero: false });
  }

  function createBatch(body: Record<string, unknown>) {
    const header = body.sender_batch_header;
    if (typeof header !== "object" || header === null)
      throw validation("sender_batch_header", "MISSING_REQUIRED_PARAMETER");
    const senderBatchHeader = header as Record<string, unknown>;
    const senderBatchId = senderBatchHeader.sender_batch_id;
    if (typeof senderBatchId !== "string" || senderBatchId.length > 256) {
      throw validation("sender_batch_header.sender_batch_id", "MISSING_REQUIRED_PARAMETER");
    }
    const rawItems = body.items;
    if (!Array.isArray(rawItems) || rawItems.length === 0)
      throw validation("items", "MISSING_REQUIRED_PARAMETER");
    if (rawItems.length > batchItemsMax)
      throw validation("items", `Batch size exceeds the maximum of ${batchItemsMax} items`);
    const existing = bySenderBatchId.get(senderBatchId);
    if (existing !== undefined) {
      throw paypalError(400, "USER_BUSINESS_ERROR", "User business error.", [
        {
          field: "SENDER_BATCH_ID",
          location: "body",
          issue: "Batch with given sender_batch_id already exists",
          link: [
            {
              href: `${url}/v1/payments/payouts/${existing}`,
              rel: "self",
              method: "GET",
              encType: "application/json",
            },
          ],
        },
      ]);
    }
    const seen = new Set<string>();
    const totals = new Map<string, bigint>();
    const parsed = rawItems.map((raw, index) => {
      const field = `items[${index}]`;
      if (typeof raw !== "object" || raw === null) throw validation(field, "INVALID_PARAMETER_SYNTAX");
      const item = raw as Record<string, unknown>;
      const recipientType = item.recipient_type ?? senderBatchHeader.recipient_type;
      if (!["EMAIL", "PHONE", "PAYPAL_ID"].includes(String(recipientType))) {
        throw validation(`${field}.recipient_type`, "MISSING_REQUIRED_PARAMETER");
      }
      const amount = item.amount as Money | undefined;
      if (
        typeof amount?.value !== "string" ||
        typeof amount.currency !== "string" ||
        !/^[A-Z]{3}$/.test(amount.currency)
      ) {
        throw validation(`${field}.amount`, "MISSING_REQUIRED_PARAMETER");
      }
      let minor: bigint;
      try {
        minor = minorOf(amount);
      } catch {
        throw validation(`${field}.amount.value`, "CURRENCY_AMOUNT_INVALID");
      }
      if (typeof item.receiver !== "string" || item.receiver === "") {
        throw validation(`${field}.receiver`, "MISSING_REQUIRED_PARAMETER");
      }
      if (recipientType === "EMAIL" && !/^[^\s@]+@[^\s@]+\.[^\s@]+$/.test(item.receiver)) {
        throw validation(`${field}.receiver`, "RECEIVER_INVALID");
      }
      const senderItemId = item.sender_item_id;
      if (senderItemId !== undefined) {
        if (typeof senderItemId !== "string" || senderItemId.length > senderItemIdLengthMax) {
          throw validation(`${field}.sender_item_id`, "INVALID_PARAMETER_SYNTAX");
        }
        if (seen.has(senderItemId)) throw validation(`${field}.sender_item_id`, "DUPLICATE_ITEM");
        seen.add(senderItemId);
      }
      totals.set(amount.currency, (totals.get(amount.currency) ?? 0n) + minor);
      return {
        recipientType: String(recipientType),
        amount,
        receiver: item.receiver,
        senderItemId,
        note: item.note,
      };
    });
    for (const [currency, total] of totals) {
      const balance = balances.get(currency);
      if (balance !== undefined && balance < total) {
        throw paypalError(
          422,
          "INSUFFICIENT_FUNDS",
          "Sender does not have sufficient funds. Please add funds and retry.",
        );
      }
    }
    for (const [currency, total] of totals) {
      const balance = balances.get(currency);
      if (balance !== undefined) balances.set(currency, balance - total);
    }
    const id = paypalId();
    const batch: PayoutBatchObject = {
      payout_batch_id: id,
      sender_batch_header: { ...senderBatchHeader, sender_batch_id: senderBatchId },
      time_created: iso(),
      itemIds: [],
    };
    for (const p of parsed) {
      const item: PayoutItemObject = {
        payout_item_id: paypalId(),
        transaction_id: null,
        transaction_status: "PENDING",
        payout_item_fee: { currency: p.amount.currency, value: formatMajor(0n, p.amount.currency) },
        payout_batch_id: id,
        sender_batch_id: senderBatchId,
        payout_item: {
          recipient_type: p.recipientType,
          amount: { currency: p.amount.currency, value: p.amount.value },
          ...(typeof p.note === "string" ? { note: p.note } : {}),
          receiver: p.receiver,
          ...(p.senderItemId === undefined ? {} : { sender_item_id: p.senderItemId }),
          recipient_wallet: "PAYPAL",
        },
        time_processed: null,
        links: [],
      };
      item.links = itemLinks(item);
      items.set(item.payout_item_id, item);
      batch.itemIds.push(item.payout_item_id);
    }
    batches.set(id, batch);
    bySenderBatchId.set(senderBatchId, id);
    return {
      batch_header: {
        payout_batch_id: id,
        batch_status: "PENDING",
        sender_batch_header: batch.sender_batch_header,
      },
      links: [batchLink(id)],
    };
  }

  function batchStatus(batch: PayoutBatchObject): string {
    const statuses = batch.itemIds.map((id) => items.get(id)!.transaction_status);
    if (statuses.every((s) => s === "PENDING")) return "PENDING";
    return statuses.some((s) => s === "PENDING" || s === "ONHOLD") ? "PROCESSING" : "SUCCESS";
  }

  function readBatch(id: string, query: URLSearchParams) {
    const batch = batches.get(id);
    if (batch === undefined) {
      throw paypalError(404, "INVALID_RESOURCE_ID", "Requested resource ID was not found.");
    }
    const pageSize = Number(query.get("page_size") ?? "1000");
    const page = Number(query.get("page") ?? "1");
    if (!Number.isInteger(pageSize) || pageSize < 1 || pageSize > pageSizeMax) {
      throw paypalError(400, "VALIDATION_ERROR", "Invalid request - see details.", [
        { field: "page_size", location: "query", issue: `page_size must be 1 to ${pageSizeMax}` },
      ]);
    }
    if (!Number.isInteger(page) || page < 1) {
      throw paypalError(400, "VALIDATION_ERROR", "Invalid request - see details.", [
        { field: "page", location: "query", issue: "page must be 1 or more" },
      ]);
    }
    const all = batch.itemIds.map((itemId) => items.get(itemId)!);
    const totalPages = Math.max(1, Math.ceil(all.length / pageSize));
    const pageItems = all
      .slice((page - 1) * pageSize, page * pageSize)
      .map(({ sender_batch_id: _, ...item }) => item);
    const status = batchStatus(batch);
    const totals = new Map<string, bigint>();
    for (const item of all) {
      const amount = item.payout_item.amount;
      totals.set(amount.currency, (totals.get(amount.currency) ?? 0n) + minorOf(amount));
    }
    const [currency, total] = [...totals][0]!;
    const links: Link[] = [batchLink(id)];
    if (page < totalPages) {
      links.push({
        href: `${url}/v1/payments/payouts/${id}?page_size=${pageSize}&page=${page + 1}`,
        rel: "next",
        method: "GET",
        encType: "application/json",
      });
    }
    return {
      ...(query.get("total_required") === "true" ? { total_items: all.length, total_pages: totalPages } : {}),
      batch_header: {
        payout_batch_id: id,
        batch_status: status,
        time_created: batch.time_created,
        ...(status === "SUCCESS" ? { time_completed: iso(), time_closed: iso() } : {}),
        sender_batch_header: batch.sender_batch_header,
        amount: { currency, value: formatMajor(total, currency) },
        fees: { currency, value: formatMajor(0n, currency) },
      },
      items: pageItems,
      links,
    };
  }

  function readItem(id: string): PayoutItemObject {
    const item = items.get(id);
    if (item === undefined)
      throw paypalError(404, "INVALID_RESOURCE_ID", "Requested resource ID was not found.");
    return item;
  }

  function cancelItem(id: string): PayoutItemObject {
    const item = readItem(id);
    if (item.transaction_status !== "UNCLAIMED") {
      throw paypalError(400, "USER_BUSINESS_ERROR", "User business error.", [
        {
          field: "payout_item_id",
          location: "path",
          issue: `Only an UNCLAIMED item can be cancelled; this one is ${item.transaction_status}`,
        },
      ]);
    }
    move(item, "RETURNED");
    return item;
  }

  // --- Webhooks -----------------------------------------------------------------------------

  function signatureBase(transmissionId: string, time: string, forWebhook: string, body: string): string {
    return `${transmissionId}|${time}|${forWebhook}|${crc32(Buffer.from(body, "utf8"))}`;
  }

  function verifySignature(body: Record<string, unknown>) {
    for (const field of [
      "auth_algo",
      "cert_url",
      "transmission_id",
      "transmission_sig",
      "transmission_time",
      "webhook_id",
    ]) {
      if (typeof body[field] !== "string" || body[field] === "")
        throw validation(field, "MISSING_REQUIRED_PARAMETER");
    }
    if (typeof body.webhook_event !== "object" || body.webhook_event === null) {
      throw validation("webhook_event", "MISSING_REQUIRED_PARAMETER");
    }
    const ok =
      body.webhook_id === webhookId &&
      body.auth_algo === "SHA256withRSA" &&
      body.cert_url === certUrl() &&
      verifyWith(
        publicKey,
        signatureBase(
          String(body.transmission_id),
          String(body.transmission_time),
          webhookId,
          JSON.stringify(body.webhook_event),
        ),
        String(body.transmission_sig),
      );
    return { verification_status: ok ? "SUCCESS" : "FAILURE" };
  }

  function event(item: PayoutItemObject, type: [string, string]): PaypalEvent {
    const id = `WH-${paypalId()}-${paypalId()}`;
    return {
      id,
      event_version: "1.0",
      create_time: iso(),
      resource_type: "payouts_item",
      event_type: type[0],
      summary: type[1],
      resource: structuredClone(item),
      links: [
        { href: `${url}/v1/notifications/webhooks-events/${id}`, rel: "self", method: "GET" },
        { href: `${url}/v1/notifications/webhooks-events/${id}/resend`, rel: "resend", method: "POST" },
      ],
    };
  }

  /** One status change, with the balance and fields PayPal keeps with it. */
  function move(
    item: PayoutItemObject,
    status: ItemStatus,
    errors?: { name: string; message: string },
  ): void {
    const wasHeld = !givesBack.includes(item.transaction_status);
    item.transaction_status = status;
    item.time_processed = iso();
    if (status === "SUCCESS" || status === "UNCLAIMED") item.transaction_id ??= paypalId().slice(0, 17);
    const error = errors ?? itemErrors[status];
    if (error !== undefined) item.errors = { ...error, information_link: informationLink };
    else delete item.errors;
    if (wasHeld && givesBack.includes(status)) {
      const balance = balances.get(item.payout_item.amount.currency);
      if (balance !== undefined)
        balances.set(item.payout_item.amount.currency, balance + minorOf(item.payout_item.amount));
    }
  }

  function latestItemOf(senderItemId: string): PayoutItemObject {
    const found = [...items.values()].filter((i) => i.payout_item.sender_item_id === senderItemId).at(-1);
    if (found === undefined) throw new Error(`the stand-in has no item for ${senderItemId}`);
    return found;
  }

  // --- The server ---------------------------------------------------------------------------

  function send(res: ServerResponse, status: number, body: unknown) {
    const text = JSON.stringify(body);
    res.writeHead(status, {
      "Content-Type": "application/json",
      "Content-Length": Buffer.byteLength(text),
      "Paypal-Debug-Id": debugId(),
    });
    res.end(text);
  }

  function takeFault(method: string, path: string): Fault | undefined {
    const index = faults.findIndex((f) => f.method === method && f.path === path);
    if (index === -1) return undefined;
    return faults.splice(index, 1)[0]!.fault;
  }

  async function route(
    req: IncomingMessage,
    path: string,
    query: URLSearchParams,
    text: string,
  ): Promise<[number, unknown]> {
    const method = req.method ?? "";
    if (method === "POST" && path === "/v1/oauth2/token") return [200, issueToken(req, text)];
    const cert = /^\/v1\/notifications\/certs\/[^/]+$/.test(path);
    if (method === "GET" && cert)
      return [
        200,
        {
          note: "the stand-in serves its public key in PEM",
          pem: publicKey.export({ type: "spki", format: "pem" }),
        },
      ];
    authenticate(req);
    if (method === "POST" && path === "/v1/payments/payouts") return [201, createBatch(jsonBody(text))];
    if (method === "POST" && path === "/v1/notifications/verify-webhook-signature")
      return [200, verifySignature(jsonBody(text))];
    const batch = /^\/v1\/payments\/payouts\/([^/]+)$/.exec(path);
    if (method === "GET" && batch) return [200, readBatch(decodeURIComponent(batch[1]!), query)];
    const item = /^\/v1\/payments\/payouts-item\/([^/]+)$/.exec(path);
    if (method === "GET" && item) return [200, readItem(decodeURIComponent(item[1]!))];
    const cancel = /^\/v1\/payments\/payouts-item\/([^/]+)\/cancel$/.exec(path);
    if (method === "POST" && cancel) return [200, cancelItem(decodeURIComponent(cancel[1]!))];
    throw paypalError(404, "RESOURCE_NOT_FOUND", "The specified resource does not exist.");
  }

  async function handle(req: IncomingMessage, res: ServerResponse) {
    const parsed = new URL(req.url ?? "/", "http://stand-in");
    const path = parsed.pathname;
    const method = req.method ?? "";
    let text = "";
    try {
      text = await readBody(req);
      const fault = takeFault(method, path);
      if (fault?.kind === "fail") {
        record(req, path, fault.status);
        send(res, fault.status, fault.body);
        return;
      }
      const [status, body] = await route(req, path, parsed.searchParams, text);
      record(req, path, status, jsonOrUndefined(method, text));
      // The work is done; only the answer is late or lost, as when a network drops it.
      if (fault?.kind === "drop") {
        req.socket.destroy();
        return;
      }
      if (fault?.kind === "delay") await new Promise((resolve) => setTimeout(resolve, fault.ms));
      if (res.destroyed || req.socket.destroyed) return;
      send(res, status, body);
    } catch (error) {
      const apiError =
        error instanceof ApiError
          ? error
          : paypalError(500, "INTERNAL_SERVICE_ERROR", `Stand-in failure: ${String(error)}`);
      record(req, path, apiError.status, jsonOrUndefined(method, text));
      if (!res.destroyed) send(res, apiError.status, apiError.body);
    }
  }

  const server = createServer((req, res) => {
    void handle(req, res);
  });
  await new Promise<void>((resolve, reject) => {
    server.once("error", reject);
    server.listen(opts.port ?? 0, "127.0.0.1", () => resolve());
  });
  url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;

  return {
    url,
    clientId,
    clientSecret,
    webhookId,
    batches,
    items,
    requests,
    balances,
    tokensIssued: () => issued,
    expireTokens: () => tokens.clear(),
    itemsOf: (senderItemId) =>
      [...items.values()].filter((i) => i.payout_item.sender_item_id === senderItemId),
    faultNext(method, path, fault) {
      faults.push({ method, path, fault });
    },
    process() {
      const events: PaypalEvent[] = [];
      for (const item of items.values()) {
        if (item.transaction_status !== "PENDING") continue;
        const local = item.payout_item.receiver.split("@")[0]!.split("+")[0]!.toLowerCase();
        const status: ItemStatus =
          local === "unclaimed"
            ? "UNCLAIMED"
            : local === "fail"
              ? "FAILED"
              : local === "blocked"
                ? "BLOCKED"
                : local === "hold"
                  ? "ONHOLD"
                  : "SUCCESS";
        move(item, status);
        events.push(event(item, eventTypes[status]!));
      }
      return events;
    },
    setItemStatus(senderItemId, status, errors) {
      const item = latestItemOf(senderItemId);
      move(item, status, errors);
      const type = eventTypes[status];
      return type === undefined ? null : event(item, type);
    },
    signedDelivery(delivered, deliveryOpts = {}) {
      // PayPal posts compact JSON; the signature covers a CRC32 of exactly those bytes.
      const body = JSON.stringify(delivered);
      const transmissionId = randomBytes(16)
        .toString("hex")
        .replace(/(.{8})(.{4})(.{4})(.{4})(.{12})/, "$1-$2-$3-$4-$5");
      const time = new Date().toISOString();
      const signature = signWith(
        privateKey,
        signatureBase(transmissionId, time, deliveryOpts.webhookId ?? webhookId, body),
      );
      return {
        body: deliveryOpts.tamper ? body.replace('"transaction_status":"', '"transaction_status":"X') : body,
        headers: {
          "content-type": "application/json",
          "paypal-auth-algo": "SHA256withRSA",
          "paypal-cert-url": certUrl(),
          "paypal-transmission-id": transmissionId,
          "paypal-transmission-sig": signature,
          "paypal-transmission-time": time,
        },
      };
    },
    close() {
      return new Promise<void>((resolve, reject) => {
        server.close((error) => (error ? reject(error) : resolve()));
        server.closeAllConnections();
      });
    },
  };
}

/** A POST's JSON body, for the request log; nothing for other requests or bodies. */
function jsonOrUndefined(method: string, text: string): unknown {
  if (method !== "POST" || !text.startsWith("{")) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

function signWith(key: KeyObject, text: string): string {
  const signer = createSign("sha256");
  signer.update(text);
  return signer.sign(key, "base64");
}

function verifyWith(key: KeyObject, text: string, signature: string): boolean {
  const verifier = createVerify("sha256");
  verifier.update(text);
  try {
    return verifier.verify(key, signature, "base64");
  } catch {
    return false;
  }
}
