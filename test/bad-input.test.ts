import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestApp, type TestApp } from "./support/app.js";
import { count } from "./support/sql.js";

/**
 * Every route that writes (POST, PUT, DELETE), with a body schema or without one (which then takes
 * no body: an unknown field is as much a 400 there), table-driven: the same bad inputs each get their DESIGN.md §5
 * status and code, and change nothing. Routes come from the OpenAPI document, so a new route is
 * covered without anyone remembering to add it.
 */
let t: TestApp;
let routes: { method: string; url: string; path: string; bodied: boolean; admin: boolean }[];

beforeAll(async () => {
  t = await openTestApp({ testMode: true });
  await t.app.inject({
    method: "PUT",
    url: "/v1/users/u1",
    headers: t.admin,
    payload: { country: "US", birthDate: "1990-01-01", displayName: "U" },
  });
  const spec = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json() as {
    paths: Record<string, Record<string, { requestBody?: unknown }>>;
  };
  routes = [];
  for (const [path, methods] of Object.entries(spec.paths)) {
    if (!path.startsWith("/v1/") || path.startsWith("/v1/webhooks/")) continue;
    for (const [method, op] of Object.entries(methods)) {
      if (!["post", "put", "delete"].includes(method)) continue;
      const url = path
        .replace("{userId}", "u1")
        .replace("{purchaseId}", "pur_missing")
        .replace("{id}", "key_missing");
      routes.push({
        method: method.toUpperCase(),
        url,
        path,
        bodied: op.requestBody !== undefined,
        admin: path.startsWith("/v1/admin/"),
      });
    }
  }
  expect(routes.length).toBeGreaterThanOrEqual(8);
});

afterAll(async () => {
  await t.dispose();
});

/** Everything a request could change. */
async function snapshot() {
  const db = t.runtime.store;
  return {
    transfers: await count(db, "transfers"),
    accounts: await count(db, "accounts"),
    purchases: await count(db, "purchases"),
    users: await db.all("SELECT id, status, country, display_name FROM users ORDER BY id"),
    keys: await count(db, "api_keys"),
    versions: await count(db, "economy_versions"),
    idempotency: await count(db, "idempotency"),
  };
}

const headers = (extra: Record<string, string> = {}) => ({
  ...t.admin,
  "idempotency-key": `bad-${Math.random()}`,
  ...extra,
});

describe("bad input on every route", () => {
  const cases: [
    string,
    (r: (typeof routes)[number]) => { headers: Record<string, string>; payload?: string },
    number,
    string,
  ][] = [
    [
      "no API key",
      () => ({ headers: { "content-type": "application/json" }, payload: "{}" }),
      401,
      "unauthenticated",
    ],
    [
      "a wrong API key",
      () => ({
        headers: {
          authorization: "Bearer gs_not_a_key_not_a_key_not_a_key_x",
          "content-type": "application/json",
        },
        payload: "{}",
      }),
      401,
      "unauthenticated",
    ],
    [
      "malformed JSON",
      () => ({ headers: headers({ "content-type": "application/json" }), payload: '{"a":' }),
      400,
      "invalid_request",
    ],
    [
      "a JSON array body",
      () => ({ headers: headers({ "content-type": "application/json" }), payload: "[1,2]" }),
      400,
      "invalid_request",
    ],
    [
      "an unknown field",
      () => ({
        headers: headers({ "content-type": "application/json" }),
        payload: JSON.stringify({ sneaky: "1" }),
      }),
      400,
      "invalid_request",
    ],
    [
      "an oversized body",
      () => ({
        headers: headers({ "content-type": "application/json" }),
        payload: JSON.stringify({ x: "y".repeat(1_100_000) }),
      }),
      413,
      "payload_too_large",
    ],
    [
      "a text body",
      () => ({ headers: headers({ "content-type": "text/plain" }), payload: "coins=5" }),
      415,
      "unsupported_media_type",
    ],
  ];

  for (const [name, build, status, code] of cases) {
    it(`answers ${name} with ${status} ${code} on every route, changing nothing`, async () => {
      for (const route of routes) {
        const before = await snapshot();
        const { headers: h, payload } = build(route);
        const res = await t.app.inject({
          method: route.method as "POST",
          url: route.url,
          headers: h,
          payload,
        });
        expect({ route: route.path, status: res.statusCode }).toEqual({ route: route.path, status });
        expect(res.headers["content-type"]).toContain("application/problem+json");
        expect(res.json()).toMatchObject({ code });
        expect(await snapshot()).toEqual(before);
      }
    });
  }

  it("answers an unknown query parameter with 400 invalid_request on every GET route, declared query or not", async () => {
    const spec = (await t.app.inject({ method: "GET", url: "/openapi.json" })).json() as {
      paths: Record<string, Record<string, unknown>>;
    };
    const gets = Object.entries(spec.paths)
      .filter(([path, methods]) => path.startsWith("/v1/") && "get" in methods)
      .map(([path]) => path.replace(/\{[^}]+\}/g, "u1"));
    expect(gets.length).toBeGreaterThanOrEqual(20);
    for (const url of gets) {
      const res = await t.app.inject({ method: "GET", url: `${url}?sneaky=1`, headers: t.admin });
      expect({ url, status: res.statusCode, code: res.json().code }).toEqual({
        url,
        status: 400,
        code: "invalid_request",
      });
    }
  });

  it.each([
    ["a float", "1.5"],
    ["an exponent", "1e3"],
    ["a negative", "-5"],
    ["zero", "0"],
    ["a value beyond 2^63", "9223372036854775808"],
    ["a JSON number", 5],
    ["NaN", "NaN"],
  ])("refuses %s as an amount with 400, changing nothing", async (_name, coins) => {
    const before = await snapshot();
    const res = await t.app.inject({
      method: "POST",
      url: "/v1/admin/users/u1/bonus",
      headers: headers(),
      payload: { coins },
    });
    expect(res.statusCode).toBe(400);
    expect(["invalid_amount", "invalid_request"]).toContain(res.json().code);
    expect(await snapshot()).toEqual(before);
  });
});
