import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { InvariantViolation } from "../errors.js";
import { databaseLocation, parseDatabaseUrl } from "./database-url.js";

describe("parseDatabaseUrl", () => {
  it.each([
    ["sqlite:./data/ledger.db", "./data/ledger.db"],
    ["sqlite:///var/lib/giftstream.db", "/var/lib/giftstream.db"],
    ["SQLITE:relative.db", "relative.db"],
    ["file:/tmp/x.db", "/tmp/x.db"],
    ["file:///tmp/x.db", "/tmp/x.db"],
    ["./data/ledger.db", "./data/ledger.db"],
    ["/abs/ledger.db", "/abs/ledger.db"],
    ["C:\\data\\ledger.db", "C:\\data\\ledger.db"],
  ])("reads %s as the SQLite file %s", (url, path) => {
    expect(parseDatabaseUrl(url)).toEqual({ ok: true, location: { kind: "sqlite", path } });
  });

  it.each([
    "postgres://localhost/giftstream",
    "postgresql://u:p@h:5432/db",
    "POSTGRES://h/db?sslmode=disable",
  ])("reads %s as a PostgreSQL database", (url) => {
    expect(parseDatabaseUrl(url)).toEqual({ ok: true, location: { kind: "postgres", url } });
  });

  it.each(["postgres://", "postgres:db", "postgresql://:5432/db"])("refuses the PostgreSQL URL %s", (url) => {
    const result = parseDatabaseUrl(url);
    expect(result.ok).toBe(false);
    if (!result.ok) expect(result.problem).toMatch(/PostgreSQL URL/);
  });

  it.each([
    "mysql://h/db",
    "sqlite:",
    "sqlite://",
    "sqlite:x.db?mode=ro",
    "file:x.db#frag",
    "sqlite::memory:",
    ":memory:",
  ])("refuses %s", (url) => {
    expect(parseDatabaseUrl(url).ok).toBe(false);
  });
});

describe("databaseLocation", () => {
  it("defaults to giftstream.db in the data directory", () => {
    expect(databaseLocation({ dataDir: "/srv/data" })).toEqual({
      kind: "sqlite",
      path: join("/srv/data", "giftstream.db"),
    });
  });

  it("follows databaseUrl", () => {
    expect(databaseLocation({ dataDir: "/srv", databaseUrl: "sqlite:/x/y.db" })).toEqual({
      kind: "sqlite",
      path: "/x/y.db",
    });
    expect(databaseLocation({ dataDir: "/srv", databaseUrl: "postgres://h/db" })).toEqual({
      kind: "postgres",
      url: "postgres://h/db",
    });
  });

  it("treats an unvalidated bad URL as a bug", () => {
    expect(() => databaseLocation({ dataDir: "/srv", databaseUrl: "mysql://h/db" })).toThrow(
      InvariantViolation,
    );
  });
});
