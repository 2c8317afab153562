import { validate } from "@readme/openapi-parser";
import Type from "typebox";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { loadConfig } from "../config/index.js";
import { buildApp, type GiftstreamApp } from "./app.js";
import { errorResponses } from "./problem.js";

let app: GiftstreamApp;
beforeAll(async () => {
  app = await buildApp({
    config: loadConfig({ env: {} }),
    logger: false,
    checks: { health: async () => ({ ok: true }) },
  });
  app.post(
    "/test/things",
    {
      schema: {
        body: Type.Object({ amount: Type.String() }, { additionalProperties: false }),
        response: {
          201: Type.Object({ id: Type.String() }),
          ...errorResponses("invalid_request", "unit_mismatch"),
        },
      },
    },
    async (_request, reply) => reply.code(201).send({ id: "thg_1" }),
  );
});
afterAll(() => app.close());

describe("GET /openapi.json", () => {
  it("is a valid OpenAPI 3.1 document", async () => {
    const response = await app.inject({ method: "GET", url: "/openapi.json" });
    expect(response.statusCode).toBe(200);
    const document = response.json();
    expect(document.openapi).toBe("3.1.0");
    const result = await validate(document);
    expect(result.valid ? [] : result.errors).toEqual([]);
    expect(result.valid).toBe(true);
    expect(result.warnings).toEqual([]);
  });

  it("documents the routes from their schemas, errors as problem+json, and hides its own plumbing", async () => {
    const document = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
    expect(Object.keys(document.paths).sort()).toEqual(["/healthz", "/test/things"]);
    const post = document.paths["/test/things"].post;
    expect(post.requestBody.content["application/json"].schema.additionalProperties).toBe(false);
    expect(Object.keys(post.responses).sort()).toEqual(["201", "400", "422"]);
    expect(post.responses["422"].content["application/problem+json"].schema.properties.code.enum).toEqual([
      "unit_mismatch",
    ]);
    expect(document.info.version).toMatch(/^\d+\.\d+\.\d+/);
  });
});

describe("/docs", () => {
  it("serves Swagger UI from the package, not a CDN", async () => {
    let response = await app.inject({ method: "GET", url: "/docs" });
    for (let hops = 0; response.statusCode >= 300 && response.statusCode < 400 && hops < 3; hops++) {
      response = await app.inject({ method: "GET", url: String(response.headers.location) });
    }
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^text\/html/);
    expect(response.body).toContain("swagger-ui");
    expect(response.body).not.toMatch(/<(script|link)[^>]+(src|href)="https?:/);
    const bundle = await app.inject({ method: "GET", url: "/docs/static/swagger-ui-bundle.js" });
    expect(bundle.statusCode).toBe(200);
    expect(bundle.headers["content-type"]).toMatch(/javascript/);
  });

  it("serves the same document at /docs/json", async () => {
    const fromDocs = (await app.inject({ method: "GET", url: "/docs/json" })).json();
    const fromRoot = (await app.inject({ method: "GET", url: "/openapi.json" })).json();
    expect(fromDocs).toEqual(fromRoot);
  });
});
