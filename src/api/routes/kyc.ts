import { documentContentTypes } from "../../economy/kyc/document-type.js";
import type { Kyc } from "../../economy/kyc/kyc.js";
import { GiftstreamError } from "../../errors.js";
import type { GiftstreamApp } from "../app.js";
import { errorResponses } from "../problem.js";
import { KycBody, MaskedKycView, maskedKycView } from "./kyc-schemas.js";
import { UserIdParams } from "./users.js";

const authErrors = ["unauthenticated", "forbidden"] as const;

/** The body types a document upload may declare; what it really is, is read from its bytes. */
const uploadContentTypes = [...documentContentTypes, "application/octet-stream"];

const binaryBody = {
  description: "The document's bytes: a JPEG, PNG or PDF, whatever the Content-Type says.",
};

/**
 * A user's identity verification: `POST /v1/users/{userId}/kyc`, the document upload and the
 * masked read. Responses carry personal data (masked), so nothing may cache them.
 */
export function kycRoutes(app: GiftstreamApp, kyc: Kyc, documentBytesMax: number): void {
  app.post(
    "/v1/users/:userId/kyc",
    {
      config: { userToken: "self" },
      schema: {
        summary: "Submit identity data for verification",
        tags: ["kyc"],
        params: UserIdParams,
        body: KycBody,
        response: {
          200: MaskedKycView,
          ...errorResponses(
            "invalid_request",
            "not_found",
            "kyc_already_verified",
            "underage",
            ...authErrors,
          ),
        },
      },
    },
    async (request, reply) => {
      const view = await kyc.submit(request.params.userId, request.body);
      return reply.header("cache-control", "no-store").send(maskedKycView(view));
    },
  );

  app.get(
    "/v1/users/:userId/kyc",
    {
      config: { userToken: "self" },
      schema: {
        summary: "Read the status of identity verification, with masked data",
        tags: ["kyc"],
        params: UserIdParams,
        response: { 200: MaskedKycView, ...errorResponses("not_found", ...authErrors) },
      },
    },
    async (request, reply) => {
      const view = await kyc.view(request.params.userId);
      return reply.header("cache-control", "no-store").send(maskedKycView(view));
    },
  );

  // Its own scope, so that only this route takes raw bodies, each up to the document limit; every
  // other route keeps answering a binary body with 415.
  void app.register(async (scope) => {
    scope.addContentTypeParser(
      uploadContentTypes,
      { parseAs: "buffer", bodyLimit: documentBytesMax },
      (_request, body, done) => done(null, body),
    );
    scope.put(
      "/v1/users/:userId/kyc/document",
      {
        config: { userToken: "self" },
        schema: {
          summary: "Upload the identity document (JPEG, PNG or PDF, detected from its content)",
          tags: ["kyc"],
          params: UserIdParams,
          body: {
            content: Object.fromEntries(uploadContentTypes.map((type) => [type, { schema: binaryBody }])),
          },
          response: {
            200: MaskedKycView,
            ...errorResponses(
              "invalid_request",
              "not_found",
              "kyc_already_verified",
              "payload_too_large",
              "unsupported_media_type",
              "unsupported_document_type",
              ...authErrors,
            ),
          },
        },
      },
      async (request, reply) => {
        const params = request.params as { userId: string };
        if (!Buffer.isBuffer(request.body)) {
          throw new GiftstreamError(
            "invalid_request",
            `send the document's bytes as the body, with Content-Type ${uploadContentTypes.join(", ")}`,
          );
        }
        const view = await kyc.uploadDocument(params.userId, request.body);
        return reply.header("cache-control", "no-store").send(maskedKycView(view));
      },
    );
  });
}
