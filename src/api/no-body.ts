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
