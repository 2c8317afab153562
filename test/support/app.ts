import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { type Logger, pino } from "pino";
import { type Composed, composeApp } from "../../src/cli/serve.js";
import { type LoadConfigOptions, loadConfig } from "../../src/config/index.js";

export const adminKey = "gs_test_admin_key_0123456789abcdefghij";

export interface TestApp extends Composed {
  dir: string;
  /** `Authorization` headers for the seeded admin key. */
  admin: { authorization: string };
  dispose(): Promise<void>;
}

/** The whole service as `npm start` composes it, on a SQLite file in a fresh directory. */
export async function openTestApp(
  overrides: LoadConfigOptions["overrides"] = {},
  logger: Logger = pino({ level: "silent" }),
): Promise<TestApp> {
  const dir = mkdtempSync(join(tmpdir(), "giftstream-app-"));
  const config = loadConfig({
    env: { GIFTSTREAM_DATA_DIR: dir, GIFTSTREAM_API_KEY: adminKey, LOG_LEVEL: "silent" },
    overrides,
  });
  const composed = await composeApp(config, logger, { print: () => {} });
  await composed.app.ready();
  return {
    ...composed,
    dir,
    admin: { authorization: `Bearer ${adminKey}` },
    async dispose() {
      await composed.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
