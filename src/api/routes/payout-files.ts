import Type from "typebox";
import { cashoutStatuses } from "../../economy/cashouts/cashout.js";
import { GiftstreamError } from "../../errors.js";
import {
  type FilePageStart,
  type PayoutFile,
  type PayoutFileLine,
  payoutLineStatuses,
} from "../../providers/payouts/files/payout-file.js";
import type { PayoutFiles } from "../../providers/payouts/files/payout-files.js";
import { reasonLengthMax } from "../../providers/payouts/files/returns-csv.js";
import type { GiftstreamApp } from "../app.js";
import { actorOf } from "../auth.js";
import { errorResponses } from "../problem.js";

const authErrors = ["unauthenticated", "forbidden", "rate_limited"] as const;
const Id = Type.String({ pattern: "^[A-Za-z0-9_-]{1,64}$" });
const Amount = Type.String({ pattern: "^(0|[1-9][0-9]{0,18})$", description: "An integer string." });
const listLimitMax = 100;
const linesLimitMax = 1000;

const FileParams = Type.Object({ id: Id }, { additionalProperties: false });
const LineParams = Type.Object({ id: Id, cashoutId: Id }, { additionalProperties: false });
const PageQuery = {
  cursor: Type.Optional(Type.String({ maxLength: 200 })),
  limit: Type.Optional(Type.String({ pattern: "^[1-9][0-9]{0,3}$" })),
};

const Counts = Type.Object({
  pending: Type.Integer(),
  paid: Type.Integer(),
  returned: Type.Integer(),
});

const FileView = Type.Object({
  id: Type.String(),
  rail: Type.String(),
  format: Type.String({ description: "`pain.001.001.03` or `nacha`." }),
  filename: Type.String(),
  contentType: Type.String(),
  currency: Type.String(),
  lineCount: Type.Integer(),
  total: Amount,
  sha256: Type.String({ description: "SHA-256 of the file's bytes, hex." }),
  lines: Counts,
  createdAt: Type.String({ format: "date-time" }),
});

const LineView = Type.Object({
  cashoutId: Type.String(),
  position: Type.Integer(),
  reference: Type.String({
    description: "SEPA EndToEndId or NACHA trace number: what the bank echoes back.",
  }),
  userId: Type.String(),
  currency: Type.String(),
  net: Amount,
  status: Type.Enum([...payoutLineStatuses]),
  reason: Type.Union([Type.String(), Type.Null()]),
  paidAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  returnedAt: Type.Union([Type.String({ format: "date-time" }), Type.Null()]),
  updatedAt: Type.String({ format: "date-time" }),
  cashoutStatus: Type.Union([Type.Enum([...cashoutStatuses]), Type.Null()]),
});

const iso = (ms: number | null) => (ms === null ? null : new Date(ms).toISOString());

function fileView(file: PayoutFile, lines: Record<string, number>) {
  return {
    id: file.id,
    rail: file.rail,
    format: file.format,
    filename: file.filename,
    contentType: file.contentType,
    currency: file.currency,
    lineCount: file.lineCount,
    total: file.totalMinor.toString(),
    sha256: file.sha256,
    lines: { pending: lines.pending ?? 0, paid: lines.paid ?? 0, returned: lines.returned ?? 0 },
    createdAt: iso(file.createdAt)!,
  };
}

function lineView(line: PayoutFileLine, cashoutStatus: (typeof cashoutStatuses)[number] | null) {
  return {
    cashoutId: line.cashoutId,
    position: line.position,
    reference: line.reference,
    userId: line.userId,
    currency: line.currency,
    net: line.netMinor.toString(),
    status: line.status,
    reason: line.reason,
    paidAt: iso(line.paidAt),
    returnedAt: iso(line.returnedAt),
    updatedAt: iso(line.updatedAt)!,
    cashoutStatus,
  };
}

/** Bank files of the SEPA and NACHA rails: list, download, lines, and the bank's answers. */
export function payoutFileRoutes(
  app: GiftstreamApp,
  files: PayoutFiles,
  limits: { returnsCsvBytesMax: number },
): void {
  const withCashout = async (line: PayoutFileLine) =>
    lineView(line, (await files.cashoutsOf([line])).get(line.cashoutId)?.status ?? null);

  app.get(
    "/v1/admin/payout-files",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Bank files written by the file rails, newest first",
        tags: ["payouts", "admin"],
        querystring: Type.Object(
          { rail: Type.Optional(Type.String({ pattern: "^[a-z][a-z0-9_-]{0,31}$" })), ...PageQuery },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({
            data: Type.Array(FileView),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses("invalid_request", ...authErrors),
        },
      },
    },
    async (request) => {
      const limit = limitOf(request.query.limit, 20, listLimitMax);
      const rows = await files.list(request.query.rail ?? null, fileCursor(request.query.cursor), limit + 1);
      const page = rows.slice(0, limit);
      const last = page.at(-1);
      return {
        data: await Promise.all(page.map(async (f) => fileView(f, await files.lineCounts(f.id)))),
        nextCursor:
          rows.length > limit && last
            ? Buffer.from(`${last.createdAt}:${last.id}`).toString("base64url")
            : null,
      };
    },
  );

  app.get(
    "/v1/admin/payout-files/:id",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Download a bank file: its exact bytes (audited)",
        description:
          "`application/xml` for a SEPA pain.001 file, `text/plain` for a NACHA file, as an attachment with its file name. The files hold account numbers: each download is audited.",
        tags: ["payouts", "admin"],
        params: FileParams,
        response: {
          200: {
            description: "The file, as written.",
            content: {
              "application/xml": { schema: { description: "A pain.001.001.03 document." } },
              "text/plain": { schema: { description: "A NACHA file: 94-character records." } },
            },
          },
          ...errorResponses("invalid_request", "not_found", ...authErrors),
        },
      },
    },
    async (request, reply) => {
      const { file, content } = await files.download(request.params.id, actorOf(request.principal));
      return reply
        .type(file.contentType)
        .header("cache-control", "no-store")
        .header("x-content-type-options", "nosniff")
        .header("content-disposition", `attachment; filename="${file.filename}"`)
        .header("x-content-sha256", file.sha256)
        .send(content);
    },
  );

  app.get(
    "/v1/admin/payout-files/:id/lines",
    {
      config: { scope: "admin" },
      schema: {
        summary: "A bank file and its lines, in file order",
        tags: ["payouts", "admin"],
        params: FileParams,
        querystring: Type.Object(PageQuery, { additionalProperties: false }),
        response: {
          200: Type.Object({
            file: FileView,
            data: Type.Array(LineView),
            nextCursor: Type.Union([Type.String(), Type.Null()]),
          }),
          ...errorResponses("invalid_request", "not_found", ...authErrors),
        },
      },
    },
    async (request) => {
      const limit = limitOf(request.query.limit, 100, linesLimitMax);
      const after = lineCursor(request.query.cursor);
      const { file, lines } = await files.lines(request.params.id, after, limit + 1);
      const page = lines.slice(0, limit);
      const cashouts = await files.cashoutsOf(page);
      const last = page.at(-1);
      return {
        file: fileView(file, await files.lineCounts(file.id)),
        data: page.map((line) => lineView(line, cashouts.get(line.cashoutId)?.status ?? null)),
        nextCursor:
          lines.length > limit && last ? Buffer.from(`line:${last.position}`).toString("base64url") : null,
      };
    },
  );

  app.post(
    "/v1/admin/payout-files/:id/lines/:cashoutId/paid",
    {
      config: { scope: "admin" },
      // The body is optional: a bare POST marks the line paid.
      preValidation: async (request) => {
        if (request.body === undefined) request.body = {};
      },
      schema: {
        summary: "Mark a line paid: the bank executed it",
        description:
          "The line becomes `paid` and its cash-out `paid`. Marking a paid line again answers it as it is; a returned line: 409.",
        tags: ["payouts", "admin"],
        params: LineParams,
        body: Type.Object({}, { additionalProperties: false }),
        response: {
          200: LineView,
          ...errorResponses("invalid_request", "not_found", "payout_line_state_conflict", ...authErrors),
        },
      },
    },
    async (request) =>
      withCashout(
        await files.markPaid(request.params.id, request.params.cashoutId, actorOf(request.principal)),
      ),
  );

  app.post(
    "/v1/admin/payout-files/:id/lines/:cashoutId/returned",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Mark a line returned: the bank sent the money back or refused it",
        description:
          "The line becomes `returned`. Its cash-out goes to `failed` if the line had not been marked paid (the money never left), or to `returned` if it had; either way the diamonds come back.",
        tags: ["payouts", "admin"],
        params: LineParams,
        body: Type.Object(
          { reason: Type.String({ minLength: 1, maxLength: reasonLengthMax, pattern: "\\S" }) },
          { additionalProperties: false },
        ),
        response: {
          200: LineView,
          ...errorResponses("invalid_request", "not_found", "payout_line_state_conflict", ...authErrors),
        },
      },
    },
    async (request) =>
      withCashout(
        await files.markReturned(
          request.params.id,
          request.params.cashoutId,
          request.body.reason,
          actorOf(request.principal),
        ),
      ),
  );

  // Its own scope, so that only this route takes a CSV body, up to its own limit.
  void app.register(async (scope) => {
    scope.addContentTypeParser(
      "text/csv",
      { parseAs: "string", bodyLimit: limits.returnsCsvBytesMax },
      (_request, body, done) => done(null, body),
    );
    scope.post(
      "/v1/admin/payout-files/:id/returns",
      {
        config: { scope: "admin" },
        schema: {
          summary: "Upload the bank's answers for a file as a returns CSV",
          description:
            "`Content-Type: text/csv`, header `reference,status,reason` (docs/payouts.md). Every row is checked before anything changes: one bad row refuses the upload, with each problem's line number. With `unlisted=paid`, the file's pending lines the CSV does not name are marked paid.",
          tags: ["payouts", "admin"],
          params: FileParams,
          querystring: Type.Object(
            { unlisted: Type.Optional(Type.Enum(["pending", "paid"])) },
            { additionalProperties: false },
          ),
          body: { content: { "text/csv": { schema: { type: "string" } } } },
          response: {
            200: Type.Object({
              fileId: Type.String(),
              paid: Type.Integer({ description: "Lines that became paid." }),
              returned: Type.Integer({ description: "Lines that became returned." }),
              unchanged: Type.Integer({ description: "Lines named that already had that status." }),
              lines: Counts,
            }),
            ...errorResponses(
              "invalid_request",
              "invalid_returns_csv",
              "not_found",
              "payload_too_large",
              "unsupported_media_type",
              "payout_line_state_conflict",
              ...authErrors,
            ),
          },
        },
      },
      async (request) => {
        const { id } = request.params as { id: string };
        const { unlisted } = request.query as { unlisted?: "pending" | "paid" };
        if (typeof request.body !== "string") {
          throw new GiftstreamError(
            "invalid_request",
            "send the returns as the body, with Content-Type text/csv",
          );
        }
        const summary = await files.applyReturns(
          id,
          request.body,
          unlisted ?? "pending",
          actorOf(request.principal),
        );
        return { fileId: id, ...summary, lines: await files.lineCounts(id) };
      },
    );
  });
}

function limitOf(text: string | undefined, fallback: number, max: number): number {
  const limit = Number(text ?? fallback);
  if (limit > max) throw new GiftstreamError("invalid_request", `limit is at most ${max}`);
  return limit;
}

function fileCursor(cursor: string | undefined): FilePageStart | null {
  if (cursor === undefined) return null;
  const match = /^(\d{1,16}):(pf_[A-Za-z0-9_-]{1,40})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!match) throw new GiftstreamError("invalid_request", "cursor is not one this server issued");
  return { createdAt: Number(match[1]), id: match[2]! };
}

function lineCursor(cursor: string | undefined): number {
  if (cursor === undefined) return 0;
  const match = /^line:(\d{1,9})$/.exec(Buffer.from(cursor, "base64url").toString());
  if (!match) throw new GiftstreamError("invalid_request", "cursor is not one this server issued");
  return Number(match[1]);
}
