import Type from "typebox";
import type { Access } from "../../access/access.js";
import { GiftstreamError } from "../../errors.js";
import type { GiftstreamApp } from "../app.js";
import { errorResponses } from "../problem.js";
import { cursorRowId } from "../query-values.js";

const auditPageMax = 200;

const Entry = Type.Object(
  {
    id: Type.String(),
    actor: Type.String({ description: "The API key id that acted, or `system`." }),
    action: Type.String(),
    target: Type.String(),
    before: Type.Unknown(),
    after: Type.Unknown(),
    at: Type.String({ format: "date-time" }),
  },
  { additionalProperties: false },
);

/** `GET /v1/admin/audit`: every admin action, newest first. */
export function auditRoutes(app: GiftstreamApp, access: Access): void {
  app.get(
    "/v1/admin/audit",
    {
      config: { scope: "admin" },
      schema: {
        summary: "Read the audit log",
        tags: ["access"],
        querystring: Type.Object(
          {
            cursor: Type.Optional(Type.String({ pattern: "^[1-9][0-9]{0,18}$" })),
            limit: Type.Optional(Type.String({ pattern: "^[1-9][0-9]{0,2}$" })),
          },
          { additionalProperties: false },
        ),
        response: {
          200: Type.Object({ data: Type.Array(Entry), nextCursor: Type.Union([Type.String(), Type.Null()]) }),
          ...errorResponses("invalid_request", "unauthenticated", "forbidden"),
        },
      },
    },
    async (request) => {
      const limit = Number(request.query.limit ?? "50");
      if (limit > auditPageMax)
        throw new GiftstreamError("invalid_request", `limit is at most ${auditPageMax}`);
      const before = cursorRowId(request.query.cursor);
      const rows = await access.listAudit(before, limit + 1);
      const page = rows.slice(0, limit);
      return {
        data: page.map((e) => ({ ...e, id: e.id.toString(), at: new Date(e.at).toISOString() })),
        nextCursor: rows.length > limit ? page.at(-1)!.id.toString() : null,
      };
    },
  );
}
