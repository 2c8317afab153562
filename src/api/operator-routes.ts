/**
 * A route of the operator API: under `/v1`, except the providers' webhooks (`/v1/webhooks/*`),
 * which carry their own signatures instead of credentials, and whose URL and query a provider
 * chooses. Authentication, the strict query check and idempotency keys apply to these routes only.
 */
export function isOperatorRoute(url: string | undefined): boolean {
  return url?.startsWith("/v1/") === true && !url.startsWith("/v1/webhooks/");
}
