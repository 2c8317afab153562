import Type from "typebox";
import { extensionOf } from "../../economy/kyc/document-type.js";
import type { Kyc } from "../../economy/kyc/kyc.js";
import type { KycQueueCursor } from "../../economy/kyc/kyc-record.js";
import { identityDocumentTypes } from "../../economy/kyc/kyc-submission.js";
import { userIdPattern } from "../../economy/users/user.js";
import { GiftstreamError } from "../../errors.js";
import type { GiftstreamApp } from "../app.js";
import { actorOf } from "../auth.js";
import { errorResponses } from "../problem.js";
import { DocumentFileView, iso, KycStatusSchema, MaskedKycView, maskedKycView } from "./kyc-schemas.js";
import { UserIdParams } from "./users.js";

const queuePageMax = 200;
const rejectionReasonLengthMax = 500;
const authErrors = ["unauthenticated", "forbidden"] as const;

const QueueEntry = Type.Object(
  {
    userId: Type.String(),
    status: KycStatusSchema,
    submittedAt: Type.String({ format: "date-time" }),
    reviewedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
    rejectionReason: Type.Union([Type.String(), Type.Null()]),
    documentUploaded: Type.Boolean(),
  },
  { additionalProperties: false },
);

const Revision = Type.String({
  pattern: "^[A-Za-z0-9_.-]{1,80}$",
  description: "The `revision` of `GET /v1/admin/kyc/{userId}` that was reviewed.",
});

const Review = Type.Object(
  {
    userId: Type.String(),
    status: KycStatusSchema,
    legalName: Type.String(),
    birthDate: Type.String({ format: "date" }),
    address: Type.Object(
      {
        line1: Type.String(),
        line2: Type.Optional(Type.String()),
        city: Type.String(),
        postalCode: Type.String(),
        region: Type.Optional(Type.String()),
        country: Type.String(),
      },
      { additionalProperties: false },
    ),
    document: Type.Object(
      { type: Type.Enum([...identityDocumentTypes]), number: Type.String(), issuingCountry: Type.String() },
      { additionalProperties: false },
    ),
    documentFile: Type.Union([DocumentFileView, Type.Null()]),
    revision: Type.String({
      description:
        "What this review shows; pass it to approve or reject so they apply to it and nothing newer.",
    }),
    rejectionReason: Type.Union([Type.String(), Type.Null()]),
    submittedAt: Type.String({ format: "date-time" }),
    reviewedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
    reviewedBy: Type.Union([Type.String(), Type.Null()]),
  },
  { additionalProperties: false },
);

const binary = { schema: { description: "The document's bytes, as uploaded." } };

/**
 * The reviewers' side of identity verification, admin keys only: the queue, the full submission and
 * its document (each read is audited), and the decision (audited with the status before and after).
 */
export function kycReviewRoutes(app: GiftstreamApp, kyc: Kyc): void {
  app.get(
    "/v1/admin/kyc",
    {
      config: { scope: "admin" },
      schema: {
        summary: "The identity verification queue, oldest submission first",
        tags: ["kyc"],
        querystring: Type.Object(
          {
            status: Type.Optional(Type.Enum(["pending", "verified", "rejected"], { default: "pending" })),
            cursor: Type.Optional(Type.String({ maxLength: 200 })),
            limit: Type.Optional(Type.String({ pattern: "^[1-9][0-9]{0,2}$" })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            data: Type.Array(QueueEntry),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses("invalid_request", ...authErrors),
        },
      },
    },
    async (request) => {
      const limit = Number(request.query.limit ?? "50");
      if (limit > queuePageMax)
        throw new GiftstreamError("invalid_request", `limit is at most ${queuePageMax}`);
      const after = request.query.cursor === undefined ? null : decodeCursor(request.query.cursor);
      const rows = await kyc.queue(request.query.status ?? "pending", after, limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        data: page.map((entry) => ({
          ...entry,
          submittedAt: iso(entry.submittedAt)!,
          reviewedAt: iso(entry.reviewedAt),
        })),
        nextCursor: rows.length > limit && last ? encodeCursor(last) : null,
      };
    },
  );

  app.get(
    "/v1/admin/kyc/:userId",
    {
      config: { scope: "admin" },
      schema: {
        summary: "A submission in full, for its reviewer (audited)",
        tags: ["kyc"],
        params: UserIdParams,
        response: { 200: Review, ...errorResponses("not_found", ...authErrors) },
      },
    },
    async (request, reply) => {
      const review = await kyc.review(request.params.userId, actorOf(request.principal));
      return reply.header("cache-control", "no-store").send({
        userId: review.userId,
        status: review.status,
        ...review.submission,
        documentFile: review.documentFile && {
          ...review.documentFile,
          uploadedAt: iso(review.documentFile.uploadedAt)!,
        },
        rejectionReason: review.rejectionReason,
        submittedAt: iso(review.submittedAt)!,
        reviewedAt: iso(review.reviewedAt),
        reviewedBy: review.reviewedBy,
        revision: review.revision,
      });
    },
  );

  app.get(
    "/v1/admin/kyc/:userId/document",
    {
      config: { scope: "admin" },
      schema: {
        summary: "The identity document's bytes, with their detected type (audited)",
        tags: ["kyc"],
        params: UserIdParams,
        response: {
          200: {
            description: "The document, as uploaded.",
            content: { "image/jpeg": binary, "image/png": binary, "application/pdf": binary },
          },
          ...errorResponses("not_found", ...authErrors),
        },
      },
    },
    async (request, reply) => {
      const { userId } = request.params;
      const document = await kyc.document(userId, actorOf(request.principal));
      return reply
        .type(document.contentType)
        .header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff")
        .header(
          "content-disposition",
          `attachment; filename="kyc-${userId}.${extensionOf(document.contentType)}"`,
        )
        .send(document.bytes);
    },
  );

  app.post(
    "/v1/admin/kyc/:userId/approve",
    {
      config: { scope: "admin" },
      // The body is optional: a bare POST approves.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
      schema: {
        summary: "Approve a pending identity verification",
        tags: ["kyc"],
        params: UserIdParams,
        body: Type.Object({ revision: Type.Optional(Revision) }, { additionalProperties: false }),
        response: {
          200: MaskedKycView,
          ...errorResponses(
            "invalid_request",
            "not_found",
            "kyc_not_pending",
            "kyc_document_missing",
            "kyc_changed",
            ...authErrors,
          ),
        },
      },
    },
    async (request, reply) =>
      // Personal data, masked or not, is never cached (kyc.md).
      reply
        .header("cache-control", "no-store")
        .send(
          maskedKycView(
            await kyc.approve(request.params.userId, actorOf(request.principal), request.body.revision),
          ),
        ),
  );

  app.post(
    "/v1/admin/kyc/:userId/reject",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Reject a pending identity verification, with a reason the user sees",
        tags: ["kyc"],
        params: UserIdParams,
        body: Type.Object(
          {
            reason: Type.String({
              minLength: 1,
              maxLength: rejectionReasonLengthMax,
              // One line: no control characters, nor Unicode's line and paragraph separators.
              pattern: "^[^\\p{Cc}\\p{Zl}\\p{Zp}]*\\S[^\\p{Cc}\\p{Zl}\\p{Zp}]*$",
              description:
                "Shown to the user and kept in the audit log: say what to fix, quote no personal data.",
            }),
            revision: Type.Optional(Revision),
          },
          { additionalProperties: false },
        ),
        response: {
          200: MaskedKycView,
          ...errorResponses("invalid_request", "not_found", "kyc_not_pending", "kyc_changed", ...authErrors),
        },
      },
    },
    async (request, reply) =>
      reply
        .header("cache-control", "no-store")
        .send(
          maskedKycView(
            await kyc.reject(
              request.params.userId,
              request.body.reason.trim(),
              actorOf(request.principal),
              request.body.revision,
            ),
          ),
        ),
  );
}

const cursorPattern = new RegExp(`^(\\d{1,16}):(${userIdPattern.slice(1, -1)})$`);

function encodeCursor(entry: KycQueueCursor): string {
  return Buffer.from(`${entry.submittedAt}:${entry.userId}`).toString("base64url");
}

function decodeCursor(cursor: string): KycQueueCursor {
  const match = cursorPattern.exec(Buffer.from(cursor, "base64url").toString());
  if (!match) throw new GiftstreamError("invalid_request", "cursor is not one this server issued");
  return { submittedAt: Number(match[1]), userId: match[2]! };
}
