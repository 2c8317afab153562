import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../../config/load.js";
import { openStore } from "../runtime.js";
import { TransferError } from "./transfer-error.js";
import { markImportFinished, markImportStarted, unfinishedImportKey } from "./unfinished-import.js";

const dirs: string[] = [];
afterEach(() => {
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** A configuration on a SQLite file of its own. */
function sqliteConfig() {
  const dir = mkdtempSync(join(tmpdir(), "giftstream-unfinished-"));
  dirs.push(dir);
  return loadConfig({ env: { GIFTSTREAM_DATA_DIR: dir } });
}

describe("an import that did not finish", () => {
  it("is refused by openStore, with where it came from, until its mark is cleared", async () => {
    const config = sqliteConfig();
    const store = await openStore(config);
    await markImportStarted(store, "/backups/dump.ndjson.gz", Date.UTC(2026, 10, 28, 5, 0, 0));
    await store.close();

    const refused = openStore(config);
    await expect(refused).rejects.toBeInstanceOf(TransferError);
    await expect(refused).rejects.toHaveProperty(
      "message",
      "this database holds an import that did not finish (from /backups/dump.ndjson.gz, started 2026-11-28T05:00:00.000Z): it holds part of a dump at most. Drop it (delete the SQLite file, or drop and recreate the PostgreSQL schema), run giftstream migrate, and import again",
    );

    // The import itself opens it, and clears the mark once its checks pass.
    const importing = await openStore(config, { unfinishedImport: "allow" });
    await markImportFinished(importing);
    await importing.close();
    const opened = await openStore(config);
    expect(await opened.get("SELECT COUNT(*) AS n FROM settings")).toEqual({ n: 0n });
    await opened.close();
  });

  it("is refused even when its mark cannot be read", async () => {
    const config = sqliteConfig();
    const store = await openStore(config);
    await store.execute([
      { sql: "INSERT INTO settings (key, value) VALUES (?, ?)", params: [unfinishedImportKey, "{not json"] },
    ]);
    await store.close();
    await expect(openStore(config)).rejects.toThrow(/^this database holds an import that did not finish: /);
  });
});
