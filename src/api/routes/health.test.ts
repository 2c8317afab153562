import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../config/index.js";
import { buildApp, type GiftstreamApp } from "../app.js";
import type { HealthReport } from "./health.js";

const apps: GiftstreamApp[] = [];
afterEach(async () => {
  await Promise.all(apps.splice(0).map((app) => app.close()));
});

async function appWith(health: () => Promise<HealthReport>) {
  const app = await buildApp({ config: loadConfig({ env: {} }), logger: false, checks: { health } });
  apps.push(app);
  return app;
}

describe("GET /healthz", () => {
  it("answers 200 with the checks' details", async () => {
    const app = await appWith(async () => ({ ok: true, details: { store: "sqlite", queueDepth: 3 } }));
    const response = await app.inject({ method: "GET", url: "/healthz" });
    expect(response.statusCode).toBe(200);
    expect(response.headers["content-type"]).toMatch(/^application\/json/);
    expect(response.json()).toEqual({ status: "ok", store: "sqlite", queueDepth: 3 });
  });

  it("keeps status ok even if a detail is called status", async () => {
    const app = await appWith(async () => ({ ok: true, details: { status: "weird" } }));
    expect((await app.inject({ method: "GET", url: "/healthz" })).json()).toEqual({ status: "ok" });
  });

  it("answers 503 unavailable, without details, when a check fails", async () => {
    const app = await appWith(async () => ({ ok: false, details: { store: "disk full at /secret/path" } }));
    const response = await app.inject({ method: "GET", url: "/healthz" });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ status: "unavailable" });
  });

  it("answers 503 when the check itself throws", async () => {
    const app = await appWith(async () => {
      throw new Error("store closed");
    });
    const response = await app.inject({ method: "GET", url: "/healthz" });
    expect(response.statusCode).toBe(503);
    expect(response.json()).toEqual({ status: "unavailable" });
  });
});
