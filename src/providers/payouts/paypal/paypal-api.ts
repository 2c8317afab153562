/**
 * A small client of PayPal's REST API over node's fetch: OAuth2 client credentials with the token
 * cached until shortly before it expires, a timeout on every call, bounded response bodies, and
 * PayPal's error bodies raised as PaypalApiError. No PayPal SDK: the Payouts API is four calls.
 */
import { invariant } from "../../../errors.js";

export interface PaypalApiOptions {
  /** `https://api-m.paypal.com`, the sandbox, or a stand-in; no trailing slash. */
  baseUrl: string;
  clientId: string;
  clientSecret: string;
  /** How long one call may take, body included. */
  timeoutMs: number;
  /** Real time, for the token's expiry: PayPal's clock, not the service's test clock. */
  now?: () => number;
}

/** The largest response read: a page of 1,000 payout items is about 1 MB. */
export const paypalResponseBytesMax = 16 * 1024 * 1024;
/** A token is renewed this long before PayPal says it expires, so no call carries a dying one. */
export const paypalTokenRenewMarginMs = 60_000;

/** An error body as PayPal writes them: `{name, message, debug_id, details[]}`, or OAuth's `{error, error_description}`. */
export interface PaypalErrorBody {
  name?: string;
  message?: string;
  debug_id?: string;
  information_link?: string;
  details?: {
    field?: string;
    location?: string;
    issue?: string;
    description?: string;
    link?: { href?: string; rel?: string; method?: string }[];
  }[];
  error?: string;
  error_description?: string;
}

/** PayPal answered with a status other than 2xx. */
export class PaypalApiError extends Error {
  /** PayPal's answer, kept off the enumerable properties (see the constructor). */
  declare readonly body: PaypalErrorBody | null;

  constructor(
    readonly status: number,
    body: PaypalErrorBody | null,
    what: string,
  ) {
    const reason = body?.name ?? body?.error ?? "no error body";
    const detail = body?.details?.[0]?.issue ?? body?.message ?? body?.error_description ?? "";
    super(`PayPal ${what} answered ${status} ${reason}${detail === "" ? "" : `: ${detail}`}`);
    this.name = "PaypalApiError";
    // pino's error serializer logs every enumerable property, and a validation error's details
    // can echo the request, receivers' emails included: the message names the issue instead.
    Object.defineProperty(this, "body", { value: body, enumerable: false });
  }

  /** PayPal's error name (`VALIDATION_ERROR`, `USER_BUSINESS_ERROR`, …) or OAuth's error code. */
  get errorName(): string | undefined {
    return this.body?.name ?? this.body?.error;
  }
}

/** PayPal said something this client cannot read (not JSON, a field missing or of the wrong type). */
export class PaypalDataError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "PaypalDataError";
  }
}

export class PaypalApi {
  readonly #o: PaypalApiOptions;
  readonly #now: () => number;
  #token: { value: string; expiresAtMs: number } | null = null;
  /** One token request at a time: concurrent calls wait for the same one. */
  #tokenPending: Promise<string> | null = null;

  constructor(options: PaypalApiOptions) {
    invariant(
      /^https?:\/\/[^/]+$/.test(options.baseUrl),
      `baseUrl is scheme://host[:port], got ${options.baseUrl}`,
    );
    invariant(options.clientId.length > 0 && options.clientSecret.length > 0, "PayPal credentials are set");
    invariant(
      Number.isInteger(options.timeoutMs) && options.timeoutMs > 0,
      `timeoutMs is a positive integer, got ${options.timeoutMs}`,
    );
    this.#o = options;
    this.#now = options.now ?? Date.now;
  }

  /** The origin calls go to, for links PayPal returns (a duplicate batch names the original). */
  get baseUrl(): string {
    return this.#o.baseUrl;
  }

  /**
   * One authenticated call; the parsed JSON of a 2xx answer. A token PayPal no longer accepts
   * (401 `invalid_token`) is dropped and the call made once more with a new one.
   */
  async call<T>(method: "GET" | "POST", path: string, body?: string): Promise<T> {
    const first = await this.#token_();
    try {
      return await this.#send<T>(method, path, first, body);
    } catch (error) {
      if (!(error instanceof PaypalApiError) || error.status !== 401) throw error;
      this.#token = null;
      return this.#send<T>(method, path, await this.#token_(), body);
    }
  }

  async #send<T>(method: "GET" | "POST", path: string, token: string, body?: string): Promise<T> {
    const headers: Record<string, string> = {
      Authorization: `Bearer ${token}`,
      Accept: "application/json",
    };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    return this.#fetchJson<T>(`${method} ${path}`, this.#o.baseUrl + path, {
      method,
      headers,
      ...(body === undefined ? {} : { body }),
    });
  }

  async #token_(): Promise<string> {
    const cached = this.#token;
    if (cached !== null && this.#now() < cached.expiresAtMs - paypalTokenRenewMarginMs) return cached.value;
    this.#tokenPending ??= this.#requestToken().finally(() => {
      this.#tokenPending = null;
    });
    return this.#tokenPending;
  }

  async #requestToken(): Promise<string> {
    const basic = Buffer.from(`${this.#o.clientId}:${this.#o.clientSecret}`).toString("base64");
    const askedAtMs = this.#now();
    const json = await this.#fetchJson<{ access_token?: unknown; expires_in?: unknown }>(
      "POST /v1/oauth2/token",
      `${this.#o.baseUrl}/v1/oauth2/token`,
      {
        method: "POST",
        headers: {
          Authorization: `Basic ${basic}`,
          Accept: "application/json",
          "Content-Type": "application/x-www-form-urlencoded",
        },
        body: "grant_type=client_credentials",
      },
    );
    if (typeof json.access_token !== "string" || json.access_token === "") {
      throw new PaypalDataError("the OAuth2 token response has no access_token");
    }
    const expiresInSeconds = json.expires_in;
    if (
      typeof expiresInSeconds !== "number" ||
      !Number.isInteger(expiresInSeconds) ||
      expiresInSeconds <= 0
    ) {
      throw new PaypalDataError(
        `the OAuth2 token response has no usable expires_in: ${String(expiresInSeconds)}`,
      );
    }
    // Counted from when it was asked for, so a slow answer cannot make it look fresher than it is.
    this.#token = { value: json.access_token, expiresAtMs: askedAtMs + expiresInSeconds * 1000 };
    return json.access_token;
  }

  async #fetchJson<T>(what: string, url: string, init: RequestInit): Promise<T> {
    const response = await fetch(url, { ...init, signal: AbortSignal.timeout(this.#o.timeoutMs) });
    const text = await readBounded(response, paypalResponseBytesMax, what);
    let json: unknown = null;
    if (text.trim() !== "") {
      try {
        json = JSON.parse(text);
      } catch {
        if (response.ok)
          throw new PaypalDataError(
            `PayPal ${what} answered ${response.status} with a body that is not JSON`,
          );
      }
    }
    if (!response.ok) {
      const body = typeof json === "object" && json !== null ? (json as PaypalErrorBody) : null;
      throw new PaypalApiError(response.status, body, what);
    }
    if (typeof json !== "object" || json === null) {
      throw new PaypalDataError(`PayPal ${what} answered ${response.status} without a JSON object`);
    }
    return json as T;
  }
}

/** The body as text, refusing to hold more than `bytesMax` of it. */
async function readBounded(response: Response, bytesMax: number, what: string): Promise<string> {
  const declared = Number(response.headers.get("content-length") ?? "0");
  if (declared > bytesMax) {
    await response.body?.cancel();
    throw new PaypalDataError(`PayPal ${what} answered with ${declared} bytes, more than ${bytesMax}`);
  }
  if (response.body === null) return "";
  const reader = response.body.getReader();
  const chunks: Uint8Array[] = [];
  let size = 0;
  for (;;) {
    const { done, value } = await reader.read();
    if (done) break;
    size += value.byteLength;
    if (size > bytesMax) {
      await reader.cancel().catch(() => undefined);
      throw new PaypalDataError(`PayPal ${what} answered with more than ${bytesMax} bytes`);
    }
    chunks.push(value);
  }
  return Buffer.concat(chunks).toString("utf8");
}
