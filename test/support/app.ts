import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Logger, pino } from "pino";
import { type Composed, composeApp } from "../../src/cli/serve.js";
import { type LoadConfigOptions, loadConfig } from "../../src/config/index.js";
import { createTestSchema, requirePostgres, schemaUrl } from "../../src/store/postgres/postgres.testkit.js";

export const adminKey = "gs_test_admin_key_0123456789abcdefghij";

export interface TestApp extends Composed {
  dir: string;
  /** `Authorization` headers for the seeded admin key. */
  admin: { authorization: string };
  dispose(): Promise<void>;
}

/**
 * Which store the HTTP suites run on: SQLite, or PostgreSQL when `GIFTSTREAM_TEST_STORE=postgres`
 * (the `postgres` project of vitest.config.ts runs the suites that way). Read at each call, not
 * once: test files share their worker's modules (`isolate: false` in vitest.config.ts).
 */
export function testStore(): "sqlite" | "postgres" {
  return process.env.GIFTSTREAM_TEST_STORE === "postgres" ? "postgres" : "sqlite";
}

/** Secrets the PostgreSQL runs need from the environment (a shared database refuses generated ones). */
const postgresSecrets = {
  GIFTSTREAM_SECRET_KEY: "0123456789abcdef".repeat(4),
  GIFTSTREAM_TOKEN_SECRET: "giftstream-test-token-secret-0123456789",
};

/**
 * The whole service as `npm start` composes it: on a SQLite file in a fresh directory, or, in the
 * PostgreSQL runs, on a fresh schema of the test database (dropped by `dispose`).
 */
export async function openTestApp(
  overrides: LoadConfigOptions["overrides"] = {},
  logger: Logger = pino({ level: "silent" }),
  env: Record<string, string> = {},
  store: "sqlite" | "postgres" = testStore(),
): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), "giftstream-app-"));
  const database = store === "postgres" ? await postgresDatabase() : undefined;
  const config = loadConfig({
    env: {
      GIFTSTREAM_DATA_DIR: dir,
      GIFTSTREAM_API_KEY: adminKey,
      LOG_LEVEL: "silent",
      ...(database ? { DATABASE_URL: database.url, ...postgresSecrets } : {}),
      ...env,
    },
    overrides,
  });
  const composed = await composeApp(config, logger, { print: () => {} });
  // A suite meant for one store must never pass quietly on the other (unless the test named
  // its database itself).
  const named = overrides.databaseUrl !== undefined || env.DATABASE_URL !== undefined;
  if (!named && composed.runtime.store.dialect !== store) {
    await composed.close();
    await database?.drop();
    rmSync(dir, { recursive: true, force: true });
    throw new Error(`the test app opened ${composed.runtime.store.dialect}, not ${store}`);
  }
  await composed.app.ready();
  return {
    ...composed,
    dir,
    admin: { authorization: `Bearer ${adminKey}` },
    async dispose() {
      await composed.close();
      await database?.drop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

/** A fresh schema on the test database, as a URL whose connections all work in it. */
async function postgresDatabase(): Promise<{ url: string; drop(): Promise<void> }> {
  if (!(await requirePostgres())) throw new Error("GIFTSTREAM_TEST_STORE=postgres needs PostgreSQL");
  const { schema, drop } = await createTestSchema();
  return { url: schemaUrl(schema), drop };
}
