import { GiftstreamError } from "../errors.js";

/**
 * A route that declares no body schema takes no body: without this, its handler never looked at
 * one, so `POST /v1/purchases/{id}/refund` with `{"coins": "1"}` refunded every unused coin, and
 * any field was silently ignored where every other route refuses an unknown one. No body, an empty
 * body, `{}` and `null` are fine; so are bytes, which only routes with their own content-type
 * parser receive (signed webhooks, uploads), and which they check themselves.
 */
export function refuseUnexpectedBody(body: unknown): void {
  if (body === undefined || body === null || ArrayBuffer.isView(body)) return;
  if (typeof body === "object" && !Array.isArray(body) && Object.keys(body).length === 0) return;
  const fields =
    typeof body === "object" && !Array.isArray(body)
      ? `: unknown fields ${Object.keys(body).slice(0, 5).join(", ")}`
      : "";
  throw new GiftstreamError("invalid_request", `this endpoint takes no body${fields}`);
}

/**
 * Likewise a `/v1` route that declares no query schema takes no query parameters: routes that
 * declare one refuse an unknown parameter, so `GET /v1/webhook-endpoints?limit=0` answering every
 * endpoint as if nothing were asked was the odd one out. (Only `/v1`, and not the provider
 * webhooks: the OpenAPI browser's files are served beside the API as a browser asks for them, and
 * a provider calls whatever URL it was given.)
 */
export function refuseUnexpectedQuery(query: unknown): void {
  if (typeof query !== "object" || query === null) return;
  const names = Object.keys(query);
  if (names.length === 0) return;
  throw new GiftstreamError(
    "invalid_request",
    `this endpoint takes no query parameters: unknown ${names.slice(0, 5).join(", ")}`,
  );
}
