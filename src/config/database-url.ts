import { join } from "node:path";
import { invariant } from "../errors.js";

/**
 * Where the ledger's data lives. SQLite is the whole product; PostgreSQL has the ledger store and
 * `giftstream migrate` so far (docs/postgres.md), and `serve` refuses it clearly.
 */
export type DatabaseLocation =
  | {
      kind: "sqlite";
      /** A file path. */
      path: string;
    }
  | {
      kind: "postgres";
      /** The `postgres://` or `postgresql://` URL, as given. */
      url: string;
    };

export type DatabaseUrlResult = { ok: true; location: DatabaseLocation } | { ok: false; problem: string };

/** The SQLite file used when `databaseUrl` is not set. */
export const defaultDatabaseFile = "giftstream.db";

// Two letters at least, so that a Windows drive (`C:\data\x.db`) reads as a plain path.
const schemePattern = /^([a-zA-Z][a-zA-Z0-9+.-]+):/;

/**
 * Reads `databaseUrl`: `sqlite:<path>`, `sqlite://<path>`, `file:<path>`, `file://<path>` or a plain
 * path name a SQLite file. An in-memory database is refused: the writer thread opens its own
 * connection, which could not see it. `postgres://` and `postgresql://` URLs name a PostgreSQL
 * database; the server, credentials and database are checked when a command connects.
 */
export function parseDatabaseUrl(url: string): DatabaseUrlResult {
  const match = schemePattern.exec(url);
  if (match === null) return sqlite(url);
  const scheme = match[1]!.toLowerCase();
  if (scheme === "postgres" || scheme === "postgresql") return postgres(url);
  if (scheme !== "sqlite" && scheme !== "file") {
    return {
      ok: false,
      problem: `unsupported scheme "${scheme}:"; use a sqlite: or file: URL or a file path`,
    };
  }
  let rest = url.slice(match[0].length);
  if (rest.startsWith("//")) rest = rest.slice(2);
  if (rest.includes("?") || rest.includes("#")) {
    return { ok: false, problem: "query strings and fragments are not supported in a SQLite URL" };
  }
  return sqlite(rest);
}

function sqlite(path: string): DatabaseUrlResult {
  if (path.length === 0) return { ok: false, problem: "names no file" };
  if (path === ":memory:" || path.startsWith("file::memory:")) {
    return {
      ok: false,
      problem: "an in-memory SQLite database is not supported: the writer thread needs a file it can open",
    };
  }
  return { ok: true, location: { kind: "sqlite", path } };
}

function postgres(url: string): DatabaseUrlResult {
  let parsed: URL;
  try {
    parsed = new URL(url);
  } catch {
    return { ok: false, problem: "is not a valid PostgreSQL URL (postgres://user@host:5432/database)" };
  }
  if (!url.includes("//") || parsed.hostname === "") {
    return { ok: false, problem: "a PostgreSQL URL names its host: postgres://user@host:5432/database" };
  }
  return { ok: true, location: { kind: "postgres", url } };
}

/** Where the loaded configuration says the database is: `databaseUrl`, else `<dataDir>/giftstream.db`. */
export function databaseLocation(config: { dataDir: string; databaseUrl?: string }): DatabaseLocation {
  if (config.databaseUrl === undefined)
    return { kind: "sqlite", path: join(config.dataDir, defaultDatabaseFile) };
  const result = parseDatabaseUrl(config.databaseUrl);
  // loadConfig already refused an invalid URL; reaching here with one is a bug.
  invariant(result.ok, "databaseUrl was validated by loadConfig");
  return result.location;
}
