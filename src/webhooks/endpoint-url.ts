import { GiftstreamError } from "../errors.js";

export const endpointUrlLengthMax = 2048;

/**
 * Where deliveries may go: an absolute http or https URL with a host, no credentials (they would
 * show in every read of the endpoint, and the signature already authenticates the sender) and no
 * fragment (never sent). Returns the URL as WHATWG normalises it.
 */
export function parseEndpointUrl(text: string): string {
  if (text.length > endpointUrlLengthMax) {
    throw new GiftstreamError("invalid_request", `url is longer than ${endpointUrlLengthMax} characters`);
  }
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw new GiftstreamError("invalid_request", "url is not an absolute URL");
  }
  if (url.protocol !== "https:" && url.protocol !== "http:") {
    throw new GiftstreamError("invalid_request", "url must be http or https");
  }
  if (url.hostname === "") throw new GiftstreamError("invalid_request", "url needs a host");
  if (url.username !== "" || url.password !== "") {
    throw new GiftstreamError("invalid_request", "url must not carry credentials");
  }
  if (url.hash !== "" || text.includes("#")) {
    throw new GiftstreamError("invalid_request", "url must not have a fragment");
  }
  return url.href;
}
