import { isUtf8 } from "node:buffer";
import type { FastifyInstance, FastifyRequest } from "fastify";
import { GiftstreamError } from "../errors.js";

/**
 * Fastify's JSON parser decodes a body as UTF-8 whatever it holds: bytes that are not UTF-8 became
 * U+FFFD and were stored instead of what was sent, and a body declared `charset=iso-8859-1` was
 * read as UTF-8 all the same. This one reads the bytes, refuses any charset but UTF-8 (415) and
 * any body that is not valid UTF-8 (400), then hands them to Fastify's own parser, with its
 * prototype-poisoning checks.
 */
export function useStrictJsonParser(app: FastifyInstance): void {
  const parse = app.getDefaultJsonParser("error", "error");
  app.removeContentTypeParser("application/json");
  app.addContentTypeParser(
    "application/json",
    { parseAs: "buffer" },
    (request: FastifyRequest, body: Buffer, done: (error: Error | null, value?: unknown) => void) => {
      const charset = charsetOf(request.headers["content-type"]);
      if (charset !== undefined && charset !== "utf-8" && charset !== "utf8") {
        done(
          new GiftstreamError("unsupported_media_type", `The request body must be UTF-8, not ${charset}.`),
        );
        return;
      }
      if (!isUtf8(body)) {
        done(new GiftstreamError("invalid_request", "The request body is not valid UTF-8."));
        return;
      }
      // Valid UTF-8 by now, so the decoding is exact.
      parse(request, body.toString("utf8"), done);
    },
  );
}

/** The `charset` parameter of a Content-Type, lower-cased and unquoted; undefined when there is none. */
export function charsetOf(contentType: string | undefined): string | undefined {
  const match = /;\s*charset\s*=\s*("?)([^";\s]*)\1/i.exec(contentType ?? "");
  return match ? match[2]!.toLowerCase() : undefined;
}
