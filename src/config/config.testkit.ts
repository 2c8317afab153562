import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, expect } from "vitest";
import { ConfigError } from "./config-error.js";

/**
 * Config files for one test file, in a directory (`dir`) of its own removed after its tests:
 * `file(name, text)` writes one and answers its path.
 */
export function configFiles(prefix: string): { dir: string; file(name: string, text: string): string } {
  const dir = mkdtempSync(join(tmpdir(), `giftstream-${prefix}-`));
  afterAll(() => rmSync(dir, { recursive: true, force: true }));
  let count = 0;
  return {
    dir,
    file(name, text) {
      const path = join(dir, `${count++}-${name}`);
      writeFileSync(path, text);
      return path;
    },
  };
}

/** The problems loadConfig reports, failing the test if it does not throw a ConfigError. */
export function problemsOf(load: () => unknown): string[] {
  try {
    load();
  } catch (error) {
    expect(error).toBeInstanceOf(ConfigError);
    const configError = error as ConfigError;
    for (const problem of configError.problems) expect(configError.message).toContain(problem);
    return configError.problems;
  }
  throw new Error("expected a ConfigError");
}
