import { describe, expect, it } from "vitest";
import { errorCatalogue } from "../errors.js";
import { errorResponses, problemOf, problemSchema } from "./problem.js";

describe("problemOf", () => {
  it("fills the RFC 9457 members from the catalogue", () => {
    expect(problemOf("not_found", "No such gift.", { instance: "/v1/gifts/x" })).toEqual({
      type: "https://giftstream.dev/errors/not_found",
      title: "Not found",
      status: 404,
      detail: "No such gift.",
      code: "not_found",
      instance: "/v1/gifts/x",
    });
  });

  it("adds extension members but never lets them replace the standard ones", () => {
    const problem = problemOf("overloaded", "Queue full.", {
      extra: { status: 200, code: "ok", type: "x", retryAfterMs: 50 },
    });
    expect(problem).toMatchObject({ status: 503, code: "overloaded", retryAfterMs: 50 });
    expect(problem.type).toBe("https://giftstream.dev/errors/overloaded");
    expect(problem).not.toHaveProperty("instance");
  });
});

describe("errorResponses", () => {
  it("groups codes by status and documents each", () => {
    const responses = errorResponses("invalid_request", "account_not_found", "unit_mismatch") as Record<
      number,
      {
        description: string;
        content: Record<string, { schema: { properties: { code: { enum: string[] } } } }>;
      }
    >;
    expect(Object.keys(responses).sort()).toEqual(["400", "422"]);
    const unprocessable = responses[422]!;
    expect(unprocessable.description).toContain("`account_not_found`");
    expect(unprocessable.content["application/problem+json"]!.schema.properties.code.enum).toEqual([
      "account_not_found",
      "unit_mismatch",
    ]);
  });

  it("the default problem schema lists every code", () => {
    const schema = problemSchema() as unknown as { properties: { code: { enum: string[] } } };
    expect(schema.properties.code.enum).toEqual(Object.keys(errorCatalogue));
  });
});
