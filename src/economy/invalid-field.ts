import { GiftstreamError } from "../errors.js";

/**
 * A 400 about one field of the body, shaped like a schema violation (`errors[].pointer`), for the
 * checks a schema cannot express: a checksum, a real country code. The detail never quotes the
 * value, which may be personal data.
 */
export function invalidField(pointer: string, detail: string): GiftstreamError {
  return new GiftstreamError("invalid_request", `body${pointer} ${detail}`, {
    errors: [{ in: "body", pointer, detail }],
  });
}
