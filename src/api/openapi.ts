import { readFileSync } from "node:fs";
import swagger from "@fastify/swagger";
import swaggerUi from "@fastify/swagger-ui";
import type { GiftstreamApp } from "./app.js";

/** The package's version, found by walking up from this file (it runs from src/ and from dist/src/). */
function packageVersion(): string {
  let url = new URL("./", import.meta.url);
  for (let depth = 0; depth < 5; depth++) {
    try {
      const manifest = JSON.parse(readFileSync(new URL("package.json", url), "utf8")) as {
        name?: string;
        version?: string;
      };
      if (manifest.name === "giftstream" && manifest.version !== undefined) return manifest.version;
    } catch {
      // no package.json at this level; keep climbing
    }
    url = new URL("../", url);
  }
  return "0.0.0";
}

/**
 * Generates OpenAPI 3.1 from the routes' schemas: served at `GET /openapi.json` (and by Swagger UI at
 * `/docs/json`), browsable at `/docs`, whose assets come from its package, not a CDN. Register it
 * before any route, since it collects routes as they are added.
 */
export async function registerOpenApi(app: GiftstreamApp): Promise<void> {
  await app.register(swagger, {
    openapi: {
      openapi: "3.1.0",
      info: {
        title: "Giftstream API",
        version: packageVersion(),
        description:
          "Virtual gifting economies on an exact double-entry ledger. Amounts are strings of integers; errors are RFC 9457 problem+json with a stable `code`.",
      },
    },
  });
  await app.register(swaggerUi, {
    routePrefix: "/docs",
    staticCSP: true,
  });
  app.get("/openapi.json", { schema: { hide: true } }, async () => app.swagger());
}
