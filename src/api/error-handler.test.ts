import { Writable } from "node:stream";
import pg from "pg";
import pino from "pino";
import Type from "typebox";
import { afterEach, describe, expect, it } from "vitest";
import { type ConfigInput, loadConfig } from "../config/index.js";
import { GiftstreamError, InvariantViolation } from "../errors.js";
import { buildApp, type GiftstreamApp } from "./app.js";
import { mapError } from "./error-handler.js";
import { errorResponses, problemTypeBase } from "./problem.js";

const apps: GiftstreamApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

/** Log lines written by the app, parsed. */
function memoryLogger() {
  const lines: Record<string, unknown>[] = [];
  const stream = new Writable({
    write(chunk, _encoding, done) {
      for (const line of String(chunk).split("\n")) if (line !== "") lines.push(JSON.parse(line));
      done();
    },
  });
  return { logger: pino({ level: "info" }, stream), lines };
}

const Transfer = Type.Object(
  {
    amount: Type.String({ pattern: "^[1-9][0-9]*$" }),
    memo: Type.Optional(Type.String({ maxLength: 10 })),
    count: Type.Optional(Type.Integer()),
  },
  { additionalProperties: false },
);

/** An app with a test-only route that echoes its body, or throws what `memo` asks for. */
async function testApp(overrides: ConfigInput = {}, logger = memoryLogger()) {
  const config = loadConfig({ env: {}, overrides });
  const app = await buildApp({
    config,
    logger: logger.logger,
    checks: { health: async () => ({ ok: true }) },
  });
  apps.push(app);
  app.post(
    "/test/transfers",
    {
      schema: {
        body: Transfer,
        response: { 200: Transfer, ...errorResponses("invalid_request", "account_not_found") },
      },
    },
    async (request) => {
      if (request.body.memo === "giftstream") {
        throw new GiftstreamError("account_not_found", "No account acc_42.", {
          accountId: "acc_42",
          balance: 7n,
        });
      }
      if (request.body.memo === "plain") throw new Error("connection string postgres://u:hunter2@db");
      if (request.body.memo === "invariant") throw new InvariantViolation("sum of balances is zero");
      return request.body;
    },
  );
  app.get("/test/log-headers", async (request) => {
    request.log.info({ headers: request.headers, request: { headers: request.headers } }, "headers");
    return { ok: true };
  });
  return { app, lines: logger.lines };
}

function post(app: GiftstreamApp, payload: string, contentType = "application/json") {
  return app.inject({
    method: "POST",
    url: "/test/transfers?secret=1",
    payload,
    headers: { "content-type": contentType },
  });
}

function expectProblem(
  response: { statusCode: number; headers: Record<string, unknown>; json(): unknown },
  status: number,
  code: string,
) {
  expect(response.statusCode).toBe(status);
  expect(String(response.headers["content-type"])).toMatch(/^application\/problem\+json/);
  const body = response.json() as Record<string, unknown>;
  expect(body).toMatchObject({ type: `${problemTypeBase}${code}`, status, code });
  expect(typeof body.title).toBe("string");
  expect(typeof body.detail).toBe("string");
  return body;
}

describe("a schema'd route", () => {
  it("accepts a valid body and keeps it as sent", async () => {
    const { app } = await testApp();
    const response = await post(app, '{"amount":"100","count":3}');
    expect(response.statusCode).toBe(200);
    expect(response.json()).toEqual({ amount: "100", count: 3 });
  });

  it("rejects an unknown field instead of stripping it", async () => {
    const { app } = await testApp();
    const body = expectProblem(await post(app, '{"amount":"100","admin":true}'), 400, "invalid_request");
    expect(body.detail).toBe("body/admin is not allowed (unknown field)");
    expect(body.errors).toEqual([
      { in: "body", pointer: "/admin", detail: "is not allowed (unknown field)" },
    ]);
    expect(body.instance).toBe("/test/transfers");
  });

  it("rejects a wrong type without coercing it", async () => {
    const { app } = await testApp();
    const amountAsNumber = expectProblem(await post(app, '{"amount":100}'), 400, "invalid_request");
    expect(amountAsNumber.detail).toBe("body/amount must be string");
    const countAsString = expectProblem(
      await post(app, '{"amount":"1","count":"3"}'),
      400,
      "invalid_request",
    );
    expect(countAsString.detail).toBe("body/count must be integer");
  });

  it("rejects a missing field and a pattern mismatch", async () => {
    const { app } = await testApp();
    expect(expectProblem(await post(app, "{}"), 400, "invalid_request").detail).toBe(
      "body/amount is required",
    );
    expect(expectProblem(await post(app, '{"amount":"1.5"}'), 400, "invalid_request").detail).toMatch(
      /^body\/amount must match pattern/,
    );
  });

  it("rejects bad JSON, an empty JSON body and a body that is not an object", async () => {
    const { app } = await testApp();
    const bad = expectProblem(await post(app, '{"amount":'), 400, "invalid_request");
    expect(bad.detail).toBe("The request body is not valid JSON.");
    expectProblem(await post(app, ""), 400, "invalid_request");
    expect(expectProblem(await post(app, "[1]"), 400, "invalid_request").detail).toBe("body must be object");
  });

  it("rejects prototype poisoning", async () => {
    const { app } = await testApp();
    expectProblem(await post(app, '{"amount":"1","__proto__":{"admin":true}}'), 400, "invalid_request");
    expectProblem(await post(app, '{"amount":"1","constructor":{"prototype":{}}}'), 400, "invalid_request");
  });

  it("answers 413 for a body over server.bodyLimitBytes", async () => {
    const { app } = await testApp({ server: { bodyLimitBytes: 1024 } });
    const payload = JSON.stringify({ amount: "1", memo: "x".repeat(2000) });
    expectProblem(await post(app, payload), 413, "payload_too_large");
    const justUnder = JSON.stringify({ amount: "1", memo: "x".repeat(9) });
    expect((await post(app, justUnder)).statusCode).toBe(200);
  });

  it("answers 415 for text/plain and other media types", async () => {
    const { app } = await testApp();
    expectProblem(await post(app, '{"amount":"1"}', "text/plain"), 415, "unsupported_media_type");
    expectProblem(
      await post(app, "amount=1", "application/x-www-form-urlencoded"),
      415,
      "unsupported_media_type",
    );
  });

  it("accepts application/json with a charset", async () => {
    const { app } = await testApp();
    expect((await post(app, '{"amount":"1"}', "application/json; charset=utf-8")).statusCode).toBe(200);
  });
});

describe("errors thrown by handlers", () => {
  it("a GiftstreamError answers with its status, code, detail and extra members", async () => {
    const { app, lines } = await testApp();
    const response = await post(app, '{"amount":"1","memo":"giftstream"}');
    const body = expectProblem(response, 422, "account_not_found");
    expect(body).toMatchObject({
      title: "Account not found",
      detail: "No account acc_42.",
      accountId: "acc_42",
      balance: "7",
      instance: "/test/transfers",
    });
    expect(body.requestId).toBe(response.headers["x-request-id"]);
    expect(lines.some((line) => line.code === "account_not_found" && line.level === 30)).toBe(true);
  });

  it("a plain Error answers 500 internal_error and keeps its message in the log only", async () => {
    const { app, lines } = await testApp();
    const response = await post(app, '{"amount":"1","memo":"plain"}');
    const body = expectProblem(response, 500, "internal_error");
    expect(body.detail).toBe("An unexpected error occurred.");
    expect(response.body).not.toContain("hunter2");
    expect(response.body).not.toContain("postgres");
    const logged = lines.find((line) => line.level === 50);
    expect(JSON.stringify(logged)).toContain("hunter2");
  });

  it("an InvariantViolation answers 500 and is logged at fatal level", async () => {
    const { app, lines } = await testApp();
    const response = await post(app, '{"amount":"1","memo":"invariant"}');
    expectProblem(response, 500, "internal_error");
    expect(response.body).not.toContain("balances");
    expect(lines.some((line) => line.level === 60)).toBe(true);
  });
});

describe("mapError", () => {
  it("treats non-Error throws and unknown errors as internal", () => {
    expect(mapError("boom").code).toBe("internal_error");
    expect(mapError(undefined).code).toBe("internal_error");
    expect(mapError(Object.assign(new Error("x"), { statusCode: 500 })).code).toBe("internal_error");
  });

  it("maps PostgreSQL being unavailable to 503 database_unavailable, and its other errors to internal", () => {
    const database = (code: string) => Object.assign(new pg.DatabaseError("x", 0, "error"), { code });
    expect(mapError(database("57014"))).toMatchObject({ code: "database_unavailable" });
    expect(mapError(database("40001"))).toMatchObject({ code: "database_unavailable" });
    expect(mapError(database("08006"))).toMatchObject({ code: "database_unavailable" });
    expect(mapError(new Error("Client has encountered a connection error and is not queryable")).code).toBe(
      "database_unavailable",
    );
    // A statement in flight when the socket closed may have been a COMMIT that committed.
    expect(mapError(new Error("Connection terminated unexpectedly")).code).toBe("internal_error");
    // A constraint or a syntax error points at the code, not at the database's state.
    expect(mapError(database("23505")).code).toBe("internal_error");
    expect(mapError(database("42601")).code).toBe("internal_error");
  });

  it("maps other client errors by status", () => {
    expect(mapError(Object.assign(new Error("x"), { statusCode: 404 })).code).toBe("not_found");
    expect(mapError(Object.assign(new Error("x"), { statusCode: 406 })).code).toBe("invalid_request");
  });
});

describe("unknown routes and URLs", () => {
  it("answers 404 not_found as problem+json, without echoing the query", async () => {
    const { app } = await testApp();
    const response = await app.inject({ method: "GET", url: "/v1/nothing-here?token=abc" });
    const body = expectProblem(response, 404, "not_found");
    expect(body.detail).toBe("No route GET /v1/nothing-here.");
    expect(body.instance).toBe("/v1/nothing-here");
    expect(response.body).not.toContain("abc");
  });

  it("answers 404 for a known path with another method", async () => {
    const { app } = await testApp();
    expectProblem(await app.inject({ method: "DELETE", url: "/healthz" }), 404, "not_found");
  });

  it("answers a malformed URL with 400 invalid_request", async () => {
    const { app } = await testApp();
    app.get("/test/items/:id", async () => ({ ok: true }));
    expectProblem(await app.inject({ method: "GET", url: "/test/items/%E0%A4%A" }), 400, "invalid_request");
  });
});

describe("request ids and logging", () => {
  it("echoes a sane X-Request-Id and replaces an unsafe one", async () => {
    const { app } = await testApp();
    const kept = await app.inject({ method: "GET", url: "/healthz", headers: { "x-request-id": "abc-123" } });
    expect(kept.headers["x-request-id"]).toBe("abc-123");
    const replaced = await app.inject({
      method: "GET",
      url: "/healthz",
      headers: { "x-request-id": "bad id\twith spaces" },
    });
    expect(replaced.headers["x-request-id"]).toMatch(/^[0-9a-f-]{36}$/);
  });

  it("redacts credentials from logged headers", async () => {
    const { app, lines } = await testApp();
    await app.inject({
      method: "GET",
      url: "/test/log-headers",
      headers: {
        authorization: "Bearer s3cr3t",
        cookie: "session=s3cr3t",
        "x-api-key": "s3cr3t",
        "x-request-id": "req-log-1",
      },
    });
    const logged = lines.find((line) => line.msg === "headers");
    expect(logged).toBeDefined();
    // The request's logger is made on first use (lazy-logger.ts) and still carries its id.
    expect(logged?.reqId).toBe("req-log-1");
    expect(JSON.stringify(logged)).not.toContain("s3cr3t");
    expect(logged).toMatchObject({
      headers: { authorization: "[redacted]", cookie: "[redacted]" },
      request: { headers: { "x-api-key": "[redacted]" } },
    });
  });

  it("accepts Fastify logger options and silence", async () => {
    const config = loadConfig({ env: {} });
    const checks = { health: async () => ({ ok: true }) };
    for (const logger of [false, { level: "warn" }, undefined]) {
      const app = await buildApp({
        config: { ...config, log: { level: "silent", requests: true } },
        logger,
        checks,
      });
      apps.push(app);
      expect((await app.inject({ method: "GET", url: "/healthz" })).statusCode).toBe(200);
    }
  });
});
