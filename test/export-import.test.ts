import { spawn, spawnSync } from "node:child_process";
import { existsSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { gunzipSync, gzipSync } from "node:zlib";
import Database from "better-sqlite3";
import pg from "pg";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { createTestSchema, requirePostgres, schemaUrl } from "../src/store/postgres/postgres.testkit.js";
import { PostgresLedgerStore } from "../src/store/postgres/postgres-ledger-store.js";
import type { SqlDb } from "../src/store/sql/sql-db.js";
import { migrate } from "../src/store/sqlite/migrate.js";
import { migrations } from "../src/store/sqlite/migrations.js";
import { SqliteStore } from "../src/store/sqlite/sqlite-store.js";
import { type PaypalStandIn, startPaypalStandIn } from "./stand-ins/paypal-stand-in.js";
import { type StripeStandIn, startStripeStandIn } from "./stand-ins/stripe-stand-in.js";
import { openTestApp, type TestApp } from "./support/app.js";
import { cliArgs } from "./support/cli.js";
import {
  type CreatorApp,
  earn,
  linkPaypal,
  linkUsBank,
  newKey,
  openCreatorApp,
  verify,
} from "./support/creator.js";
import {
  cashOut,
  linkStripeAccount,
  payoutsEconomy,
  railTimeoutMs,
  standInRailsConfig,
} from "./support/payouts.js";

const available = await requirePostgres();

const cli = cliArgs;

/** Secrets both apps share: the SQLite app's KYC data must open on PostgreSQL. */
const secrets = {
  GIFTSTREAM_SECRET_KEY: "0123456789abcdef".repeat(4),
  GIFTSTREAM_TOKEN_SECRET: "giftstream-test-token-secret-0123456789",
};

/** The environment every command here runs with, on `databaseUrl`. */
function runEnv(databaseUrl: string): Record<string, string> {
  return {
    LOG_LEVEL: "warn",
    GIFTSTREAM_CONFIG: "",
    GIFTSTREAM_DATA_DIR: dir,
    DATABASE_URL: databaseUrl,
    ...secrets,
  };
}

function run(args: string[], databaseUrl: string) {
  return spawnSync(process.execPath, [...cli, ...args], {
    env: { ...process.env, ...runEnv(databaseUrl) },
    encoding: "utf8",
    timeout: 60_000,
  });
}

async function freshSchema(): Promise<string> {
  const { schema, drop } = await createTestSchema();
  drops.push(drop);
  return schemaUrl(schema);
}

const digestOf = (stdout: string) => /ledger digest: ([0-9a-f]{64})/.exec(stdout)?.[1];

const dir = mkdtempSync(join(tmpdir(), "giftstream-export-"));
const sourceUrl = `sqlite:${join(dir, "source.db")}`;
const dumpPath = join(dir, "source.ndjson.gz");
const drops: (() => Promise<void>)[] = [];
let paypal: PaypalStandIn;
let stripe: StripeStandIn;
/** Configuration both apps run with, apart from the database. */
let shared: Record<string, unknown>;
/** What the SQLite app answered, per user, before it closed. */
let before: Map<string, UserView>;
let exportDigest: string;

interface UserView {
  wallet: unknown;
  transactions: unknown[];
}

describe.skipIf(!available)("giftstream export and import", { timeout: 120_000 }, () => {
  beforeAll(async () => {
    paypal = await startPaypalStandIn();
    stripe = await startStripeStandIn();
    shared = {
      ...payoutsEconomy,
      ...standInRailsConfig(paypal, stripe, { timeoutMs: railTimeoutMs, networkRetriesMax: 0 }),
      encryption: { key: secrets.GIFTSTREAM_SECRET_KEY },
      auth: { tokenSecret: secrets.GIFTSTREAM_TOKEN_SECRET },
    };
    // On SQLite whatever GIFTSTREAM_TEST_STORE says: the URL in the overrides wins.
    const source = await openCreatorApp("US", { ...shared, databaseUrl: sourceUrl });
    try {
      await buildHistory(source);
      before = await viewsOf(source);
    } finally {
      await source.dispose();
    }
    const exported = run(["export", dumpPath], sourceUrl);
    expect(exported.stderr).toContain("export transfers:");
    expect(exported.status, exported.stderr).toBe(0);
    exportDigest = digestOf(exported.stdout)!;
    expect(exportDigest).toMatch(/^[0-9a-f]{64}$/);
  }, 180_000);

  afterAll(async () => {
    for (const drop of drops.splice(0)) await drop();
    await paypal?.close();
    await stripe?.close();
    rmSync(dir, { recursive: true, force: true });
  });

  it("moves SQLite to PostgreSQL: every table, every wallet and every history page identical", async () => {
    const target = await freshSchema();
    const imported = run(["import", dumpPath], target);
    expect(imported.status, `${imported.stdout}\n${imported.stderr}`).toBe(0);
    expect(imported.stdout).toContain(`ledgers identical: ${exportDigest}`);
    expect(imported.stdout).not.toContain("PROBLEM");

    // Row for row, through neither the export code nor the service.
    const sqlite = new SqliteStore({ path: sourceUrl.slice("sqlite:".length) });
    const postgres = await PostgresLedgerStore.open({ url: target });
    try {
      const names = await tableNamesOf(sqlite);
      expect(await tableNamesOf(postgres)).toEqual(names);
      for (const table of names) {
        expect(await rowsOf(postgres, table), table).toEqual(await rowsOf(sqlite, table));
      }
      // Closed holds are kept on PostgreSQL: written back from their transfers.
      const closed = await postgres.all("SELECT COUNT(*) AS n FROM holds WHERE status <> 0");
      expect(Number(closed[0]!.n)).toBeGreaterThan(0);
    } finally {
      await sqlite.close();
      await postgres.close();
    }

    const app = await openTestApp({ testMode: true, ...shared, databaseUrl: target });
    try {
      const after = await viewsOf(app);
      expect([...after.keys()]).toEqual([...before.keys()]);
      for (const [user, view] of before) expect(after.get(user), user).toEqual(view);

      // The service goes on where the SQLite one stopped: the sequences were moved past the ids.
      const creator = Object.assign(app, {
        inject: (method: string, url: string, payload?: unknown, headers: Record<string, string> = {}) =>
          app.app.inject({
            method: method as "GET",
            url,
            headers: { ...app.admin, ...headers },
            ...(payload === undefined ? {} : { payload: payload as object }),
          }),
      }) as unknown as CreatorApp;
      await earn(creator, "live", "rose", 3);
      // The viewer's bonus grant is a new activity row (its gift's entries are read from the gift row).
      const page = (await creator.inject("GET", "/v1/users/viewer/transactions?limit=10")).json() as {
        data: { id: string; kind: string }[];
      };
      const bonus = page.data.find((e) => e.kind === "bonus")!;
      expect(BigInt(bonus.id)).toBeGreaterThan(maxActivityId(before));
    } finally {
      await app.dispose();
    }
  });

  it("refuses a target that is not empty, and an export over an existing file", async () => {
    const target = await freshSchema();
    expect(run(["import", dumpPath], target).status).toBe(0);
    const again = run(["import", dumpPath], target);
    expect(again.status).toBe(1);
    expect(again.stderr).toMatch(/import: the target database is not empty \(rows in accounts, activity, /);

    const over = run(["export", dumpPath], sourceUrl);
    expect(over.status).toBe(1);
    expect(over.stderr).toContain("already exists");
  });

  it("fails the digest check when a transfer is altered in the file", async () => {
    const lines = gunzipSync(readFileSync(dumpPath)).toString("utf8").split("\n");
    const start = lines.indexOf(JSON.stringify({ table: "transfers" }));
    const row = JSON.parse(lines[start + 1]!) as string[];
    // The kind, not an amount: every balance still matches its entries, only the digest can tell.
    row[5] = "tampered";
    lines[start + 1] = JSON.stringify(row);
    const altered = join(dir, "altered.ndjson.gz");
    writeFileSync(altered, gzipSync(lines.join("\n")));

    const imported = run(["import", altered], `sqlite:${join(dir, "altered.db")}`);
    expect(imported.status).toBe(1);
    expect(imported.stdout).toMatch(
      /PROBLEM ledger digest differs: the dump's is [0-9a-f]{64}, the target's/,
    );
    expect(imported.stdout).not.toContain("ledgers identical");
    expect(imported.stdout).not.toContain("PROBLEM account");
    // Emptied again, so that nothing mistakes the altered copy for the dump: the whole dump loads.
    expect(imported.stdout).toContain("the target is empty, as before");
    const retried = run(["import", dumpPath], `sqlite:${join(dir, "altered.db")}`);
    expect(retried.status, retried.stderr).toBe(0);
    expect(retried.stdout).toContain(`ledgers identical: ${exportDigest}`);
  });

  it("refuses a file cut off in the middle", async () => {
    const whole = gunzipSync(readFileSync(dumpPath));
    const cut = join(dir, "cut.ndjson.gz");
    writeFileSync(cut, gzipSync(whole.subarray(0, Math.floor(whole.length / 2))));
    const imported = run(["import", cut], `sqlite:${join(dir, "cut.db")}`);
    expect(imported.status).toBe(1);
    expect(imported.stderr).toMatch(/import: .*(ends where|ends in the middle of a line)/);
    // The rows loaded before the cut are deleted again: a half-loaded target reconciles on what it
    // holds, and would pass for a copy. The same target then takes the whole dump.
    expect(imported.stderr).toContain("the rows it had loaded were deleted again");
    const counted = new SqliteStore({ path: join(dir, "cut.db") });
    try {
      expect(await counted.get("SELECT COUNT(*) AS n FROM accounts")).toEqual({ n: 0n });
    } finally {
      await counted.close();
    }
    const retried = run(["import", dumpPath], `sqlite:${join(dir, "cut.db")}`);
    expect(retried.status, retried.stderr).toBe(0);
  });

  it("empties PostgreSQL again after a database error mid-load, said as a failed import", async () => {
    // A text PostgreSQL cannot store (NUL: the API refuses it, an older version or a hand-made
    // row may not have), reached after the ledger's tables were loaded.
    const nulPath = join(dir, "nul.db");
    writeFileSync(nulPath, readFileSync(join(dir, "source.db")));
    const store = new SqliteStore({ path: nulPath });
    try {
      await store.execute([
        {
          sql: "UPDATE users SET display_name = ? WHERE id = (SELECT MIN(id) FROM users)",
          params: ["Zo\u0000e"],
        },
      ]);
    } finally {
      await store.close();
    }
    const nulDump = join(dir, "nul.ndjson.gz");
    const exported = run(["export", nulDump], `sqlite:${nulPath}`);
    expect(exported.status, exported.stderr).toBe(0);
    const target = await freshSchema();
    const imported = run(["import", nulDump], target);
    expect(imported.status).toBe(1);
    expect(imported.stderr).toMatch(/^import: .+/m);
    expect(imported.stderr).not.toMatch(/^\s+at /m);
    expect(imported.stderr).toContain("the rows it had loaded were deleted again");
    const postgres = await PostgresLedgerStore.open({ url: target });
    try {
      expect(await postgres.get("SELECT COUNT(*) AS n FROM transfers")).toEqual({ n: 0n });
    } finally {
      await postgres.close();
    }
    const retried = run(["import", dumpPath], target);
    expect(retried.status, retried.stderr).toBe(0);
    expect(retried.stdout).toContain(`ledgers identical: ${exportDigest}`);
  });

  it("leaves a killed import's rows marked, and every command refuses them until the target is recreated", async () => {
    const target = await freshSchema();
    // The tables exist before the import starts, so that one of them can be held against it.
    const migrated = run(["migrate"], target);
    expect(migrated.status, migrated.stderr).toBe(0);
    const header = JSON.parse(gunzipSync(readFileSync(dumpPath)).toString("utf8").split("\n")[0]!) as {
      tables: { name: string; rows: number }[];
    };
    const filled = header.tables.filter((t) => t.rows > 0);
    const held = filled.at(-1)!;
    const first = filled[0]!;
    expect(first.name).not.toBe(held.name);
    // Holding the last filled table against writes (reads pass: the import first checks that
    // every table is empty) stops the import there, with the tables before it loaded:
    // a deterministic "part way" at which to kill it, as a crash or SIGKILL would.
    const locker = new pg.Client({ connectionString: target });
    await locker.connect();
    const importer = spawn(process.execPath, [...cli, "import", dumpPath], {
      env: { ...process.env, ...runEnv(target) },
      stdio: ["ignore", "ignore", "pipe"],
    });
    let importerErr = "";
    importer.stderr?.on("data", (d) => {
      importerErr += String(d);
    });
    const exited = new Promise((resolve) => importer.once("exit", resolve));
    try {
      await locker.query("BEGIN");
      await locker.query(`LOCK TABLE ${held.name} IN EXCLUSIVE MODE`);
      // Watched from a connection of its own: inside the locker's transaction, pg_stat_activity
      // would show the same snapshot every time.
      const watcher = new pg.Client({ connectionString: target });
      await watcher.connect();
      try {
        for (let waited = 0; ; waited += 100) {
          const { rows } = await watcher.query(
            "SELECT 1 FROM pg_stat_activity WHERE wait_event_type = 'Lock' AND query LIKE $1",
            [`INSERT INTO "${held.name}"%`],
          );
          if (rows.length > 0) break;
          if (waited > 60_000) throw new Error(`the import never reached ${held.name}: ${importerErr}`);
          await new Promise((resolve) => setTimeout(resolve, 100));
        }
        importer.kill("SIGKILL");
        await exited;
        // Part of the dump is in the target: the first table whole.
        const { rows } = await watcher.query(`SELECT COUNT(*)::int AS n FROM ${first.name}`);
        expect(rows[0]?.n).toBe(first.rows);
      } finally {
        await watcher.end();
      }
    } finally {
      importer.kill("SIGKILL");
      await locker.query("ROLLBACK");
      await locker.end();
    }

    const refusal =
      /this database holds an import that did not finish \(from .+source\.ndjson\.gz, started [0-9T:.-]+Z\)/;
    for (const args of [["migrate"], ["reconcile"], ["import", dumpPath]]) {
      const refused = run(args, target);
      expect(refused.status, `${args[0]}: ${refused.stdout}`).toBe(1);
      expect(refused.stderr).toMatch(new RegExp(`^${args[0]}: ${refusal.source}`, "m"));
      expect(refused.stderr).not.toMatch(/^\s+at /m);
    }
    const copyPath = join(dir, "half.ndjson.gz");
    const exported = run(["export", copyPath], target);
    expect(exported.status).toBe(1);
    expect(exported.stderr).toMatch(refusal);
    expect(existsSync(copyPath)).toBe(false);
    // The server refuses to start on it (a server that started would run until the timeout).
    // With an option before the command, which the message must not take for it.
    const served = spawnSync(process.execPath, [...cli, "--workers", "1", "serve"], {
      env: { ...process.env, ...runEnv(target), PORT: "0" },
      encoding: "utf8",
      timeout: 30_000,
    });
    expect(served.status, served.stderr).toBe(1);
    expect(served.stderr).toMatch(new RegExp(`^serve: ${refusal.source}`, "m"));
  });

  it("refuses to export a database that is not there, or not at this version's schema, and changes neither", async () => {
    const missing = join(dir, "typo", "giftstream.db");
    const typo = run(["export", join(dir, "typo.ndjson.gz")], `sqlite:${missing}`);
    expect(typo.status).toBe(1);
    expect(typo.stderr).toContain(`export: there is no database at ${missing}`);
    expect(existsSync(missing)).toBe(false);
    expect(existsSync(join(dir, "typo.ndjson.gz"))).toBe(false);

    // A database two versions behind: export neither migrates it (which rewrites rows) nor reads it.
    const oldPath = join(dir, "old.db");
    const old = new Database(oldPath);
    migrate(old, migrations.slice(0, -2));
    old.close();
    const older = run(["export", join(dir, "old.ndjson.gz")], `sqlite:${oldPath}`);
    expect(older.status).toBe(1);
    expect(older.stderr).toContain(`the source's schema is at version ${migrations.length - 2}`);
    const reopened = new Database(oldPath, { readonly: true });
    try {
      expect(reopened.prepare("SELECT MAX(version) AS v FROM schema_migrations").get()).toEqual({
        v: migrations.length - 2,
      });
    } finally {
      reopened.close();
    }
  });

  it("moves PostgreSQL back to SQLite: the same tables and the same ledger digest", async () => {
    const pg = await freshSchema();
    expect(run(["import", dumpPath], pg).status).toBe(0);
    const pgDump = join(dir, "postgres.ndjson.gz");
    const exported = run(["export", pgDump], pg);
    expect(exported.status, exported.stderr).toBe(0);
    expect(digestOf(exported.stdout)).toBe(exportDigest);

    const back = `sqlite:${join(dir, "back.db")}`;
    const imported = run(["import", pgDump], back);
    expect(imported.status, `${imported.stdout}\n${imported.stderr}`).toBe(0);
    expect(imported.stdout).toContain(`ledgers identical: ${exportDigest}`);

    const original = new SqliteStore({ path: sourceUrl.slice("sqlite:".length) });
    const copy = new SqliteStore({ path: back.slice("sqlite:".length) });
    try {
      for (const table of await tableNamesOf(original)) {
        expect(await rowsOf(copy, table), table).toEqual(await rowsOf(original, table));
      }
    } finally {
      await original.close();
      await copy.close();
    }
  });
});

/**
 * A buyer who buys and is refunded, a viewer who gifts on video and live, a verified creator with
 * three payout methods, cash-outs paid, failed and still on hold, and a webhook endpoint.
 */
async function buildHistory(t: CreatorApp): Promise<void> {
  const ok = async (res: Promise<{ statusCode: number; body: string }>, status = 201) => {
    const reply = await res;
    expect(reply.statusCode, reply.body).toBe(status);
    return JSON.parse(reply.body);
  };
  // In the UK, so that unused web-bought coins can be refunded.
  await ok(
    t.inject("PUT", "/v1/users/buyer", { country: "GB", birthDate: "1990-01-01", displayName: "Buyer" }),
    201,
  );
  const buy = (packId: string) =>
    ok(
      t.inject(
        "POST",
        "/v1/purchases",
        { userId: "buyer", packId, provider: "test" },
        { "idempotency-key": newKey() },
      ),
    );
  const first = await buy("gb-1000");
  const disputed = await buy("gb-100");
  const refunded = await buy("gb-500");
  await ok(
    t.inject("POST", `/v1/purchases/${refunded.id}/refund`, undefined, { "idempotency-key": newKey() }),
    200,
  );
  await ok(t.inject("POST", `/v1/test/purchases/${disputed.id}/dispute`), 200);
  await ok(
    t.inject(
      "POST",
      "/v1/gifts/send",
      {
        senderId: "buyer",
        recipientId: "creator",
        giftId: "hand-hearts",
        quantity: 3,
        context: { type: "live", id: "live-1" },
      },
      { "idempotency-key": newKey() },
    ),
  );
  expect(first.status).toBe("completed");
  await ok(t.inject("POST", "/v1/webhook-endpoints", { url: "http://127.0.0.1:9/hook", events: ["*"] }));

  await earn(t, "video", "galaxy", 100);
  await earn(t, "live", "rose", 120);
  await verify(t);
  const bank = await linkUsBank(t);
  const failing = await linkUsBank(t, "Ada Lovelace", "000123450002");
  const mail = await linkPaypal(t);
  const connected = await linkStripeAccount(t, stripe.createConnectedAccount());
  await cashOut(t, bank, "30000");
  await cashOut(t, failing, "30000");
  await cashOut(t, connected, "30000");
  await t.cashouts.process();
  // Requested after the pass: approved, its diamonds on hold when the export runs.
  await cashOut(t, mail, "30000");
  // Whatever the background job would mature later is matured now, so neither app moves on its own.
  while ((await t.gifts.mature()) > 0) {}
}

async function viewsOf(app: TestApp): Promise<Map<string, UserView>> {
  const users = await app.runtime.store.all("SELECT id FROM users ORDER BY id");
  const views = new Map<string, UserView>();
  for (const { id } of users) {
    const get = (url: string) => app.app.inject({ method: "GET", url, headers: app.admin });
    const wallet = await get(`/v1/users/${id}/wallet`);
    expect(wallet.statusCode, wallet.body).toBe(200);
    const transactions: unknown[] = [];
    let cursor: string | null = null;
    // Small pages, so that the cursors are compared too.
    for (let pages = 0; pages < 1000; pages++) {
      const res = await get(
        `/v1/users/${id}/transactions?limit=7${cursor === null ? "" : `&cursor=${cursor}`}`,
      );
      expect(res.statusCode, res.body).toBe(200);
      const page = res.json() as { data: unknown[]; nextCursor: string | null };
      transactions.push(page);
      cursor = page.nextCursor;
      if (cursor === null) break;
    }
    views.set(String(id), { wallet: wallet.json(), transactions });
  }
  expect(views.size).toBeGreaterThanOrEqual(3);
  return views;
}

function maxActivityId(views: Map<string, UserView>): bigint {
  let max = 0n;
  for (const { transactions } of views.values()) {
    for (const page of transactions as { data: { id: string }[] }[]) {
      for (const entry of page.data) {
        // Activity rows have numbered ids; a gift's entries carry the gift's id.
        if (/^[0-9]+$/.test(entry.id) && BigInt(entry.id) > max) max = BigInt(entry.id);
      }
    }
  }
  return max;
}

async function tableNamesOf(db: SqlDb): Promise<string[]> {
  const rows =
    db.dialect === "sqlite"
      ? await db.all("SELECT name FROM sqlite_schema WHERE type = 'table' AND name <> 'schema_migrations'")
      : await db.all(
          `SELECT table_name AS name FROM information_schema.tables
           WHERE table_schema = current_schema() AND table_type = 'BASE TABLE' AND table_name <> 'schema_migrations'`,
        );
  return rows.map((r) => String(r.name)).sort();
}

/** SQLite tables whose implicit rowid is PostgreSQL's `rowid` column. */
const rowidTables = new Set(["gifts", "purchases", "payout_methods"]);

/**
 * A table's rows in a form both databases give alike: integers as bigint, bytes as base64, keys
 * sorted, rows sorted; SQLite's implicit rowid where PostgreSQL has the column, and on PostgreSQL
 * the open holds only, without their status (SQLite keeps no closed holds).
 */
async function rowsOf(db: SqlDb, table: string): Promise<string[]> {
  const rows =
    db.dialect === "sqlite"
      ? await db.all(`SELECT ${rowidTables.has(table) ? "rowid AS rowid, " : ""}* FROM "${table}"`)
      : await db.all(`SELECT * FROM "${table}"${table === "holds" ? " WHERE status = 0" : ""}`);
  return rows
    .map((row) => {
      if (db.dialect === "postgres" && table === "holds") delete row.status;
      const entries = Object.entries(row).map(([key, value]) => {
        if (typeof value === "number") return [key, `int:${value}`];
        if (typeof value === "bigint") return [key, `int:${value}`];
        if (value instanceof Uint8Array) return [key, `bytes:${Buffer.from(value).toString("base64")}`];
        return [key, value];
      });
      return JSON.stringify(
        Object.fromEntries(entries.sort(([a], [b]) => String(a).localeCompare(String(b)))),
      );
    })
    .sort();
}
