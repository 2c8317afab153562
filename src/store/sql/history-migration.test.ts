import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import Database from "better-sqlite3";
import { describe, expect, it } from "vitest";
import type { Activity } from "../../economy/history/activity.js";
import { migratePostgres } from "../postgres/migrate.js";
import { postgresMigrations } from "../postgres/migrations.js";
import { numbered } from "../postgres/placeholders.js";
import { openPool } from "../postgres/pool.js";
import { createTestSchema, requirePostgres, testDatabaseUrl } from "../postgres/postgres.testkit.js";
import { PostgresLedgerStore } from "../postgres/postgres-ledger-store.js";
import { migrate } from "../sqlite/migrate.js";
import { migrations } from "../sqlite/migrations.js";
import { SqliteStore } from "../sqlite/sqlite-store.js";
import { SqlActivityStore } from "./activity-store.js";
import type { SqlDb } from "./sql-db.js";

/**
 * A database with gifts recorded before gift history moved to the gift rows (SQLite 12,
 * PostgreSQL 4: each gift wrote a gift_sent and a gift_received activity row), migrated: every
 * user's history reads as it did, entry for entry, and the gifts' activity rows are gone, so that
 * no history read walks past old gift rows. A gift whose sender's entry is missing keeps its rows.
 */
const available = await requirePostgres();

interface OldGift {
  id: string;
  sender: string;
  recipient: string;
  coins: number;
  diamonds: number;
  context: { type: string; id: string };
  at: number;
  /** Which of its two activity rows it wrote. */
  rows: ("sent" | "received")[];
}

const oldGifts: OldGift[] = [
  {
    id: "gft_a",
    sender: "v1",
    recipient: "c1",
    coins: 10,
    diamonds: 5,
    context: { type: "live", id: "s1" },
    at: 1000,
    rows: ["sent", "received"],
  },
  {
    id: "gft_b",
    sender: "v2",
    recipient: "c1",
    coins: 30,
    diamonds: 0,
    context: { type: "video", id: "vid 9" },
    at: 2000,
    rows: ["sent", "received"],
  },
  {
    id: "gft_c",
    sender: "v1",
    recipient: "c2",
    coins: 7,
    diamonds: 3,
    context: { type: "video", id: "v2" },
    at: 3000,
    rows: ["received"],
  },
];
const users = ["v1", "v2", "c1", "c2"];

function activityRows(): Activity[] {
  const rows: Activity[] = [
    {
      userId: "v1",
      kind: "bonus",
      at: 500,
      amounts: { coins: "100" },
      counterparty: null,
      context: null,
      economyVersion: null,
      ref: null,
    },
    {
      userId: "c1",
      kind: "maturation",
      at: 4000,
      amounts: { diamonds: "5" },
      counterparty: null,
      context: null,
      economyVersion: null,
      ref: "gft_a",
    },
  ];
  for (const g of oldGifts) {
    const common = { at: g.at, context: g.context, economyVersion: "ev_1", ref: g.id };
    if (g.rows.includes("sent")) {
      rows.push({
        ...common,
        userId: g.sender,
        kind: "gift_sent",
        amounts: { coins: String(g.coins) },
        counterparty: g.recipient,
      });
    }
    if (g.rows.includes("received")) {
      rows.push({
        ...common,
        userId: g.recipient,
        kind: "gift_received",
        amounts: { diamonds: String(g.diamonds) },
        counterparty: g.sender,
      });
    }
  }
  return rows;
}

/** The rows as the code before wrote them, in `?` SQL (numbered for PostgreSQL by the caller). */
function oldRowStatements(): { sql: string; params: unknown[] }[] {
  const statements = oldGifts.map((g) => ({
    sql: `INSERT INTO gifts (id, sender_id, recipient_id, catalog_id, quantity, coins, diamonds, source, context_id,
            value_usd, commission_rate, economy_version, status, created_at, matures_at)
          VALUES (?, ?, ?, 'rose', 1, ?, ?, 'paid', ?, '0.005', '0.5', 'ev_1', 'pending', ?, ?)`,
    params: [
      g.id,
      g.sender,
      g.recipient,
      BigInt(g.coins),
      BigInt(g.diamonds),
      g.context.id,
      BigInt(g.at),
      BigInt(g.at + 10),
    ],
  }));
  for (const a of activityRows()) {
    statements.push({
      sql: "INSERT INTO activity (user_id, kind, at, data) VALUES (?, ?, ?, ?)",
      params: [a.userId, a.kind, BigInt(a.at), JSON.stringify(a)],
    });
  }
  return statements;
}

async function expectHistoryKept(db: SqlDb): Promise<void> {
  const history = new SqlActivityStore(db);
  for (const user of users) {
    const expected = activityRows()
      .filter((a) => a.userId === user)
      .sort((a, b) => b.at - a.at);
    const read = (await history.list(user, null, 100)).map(
      ({ id: _id, position: _position, ...entry }) => entry,
    );
    expect(read, user).toEqual(expected);
  }
  // The gifts with a sender's entry are read from their rows now; the one without keeps its row.
  const left = await db.all("SELECT kind, data FROM activity ORDER BY at");
  expect(left.map((row) => row.kind)).toEqual(["bonus", "gift_received", "maturation"]);
  expect(JSON.parse(left[1]!.data as string)).toMatchObject({ ref: "gft_c" });
  const types = await db.all("SELECT id, context_type FROM gifts ORDER BY id");
  expect(types.map((row) => [row.id, row.context_type])).toEqual([
    ["gft_a", "live"],
    ["gft_b", "video"],
    ["gft_c", null],
  ]);
}

describe("gift history moved to the gift rows, on a database with gifts", () => {
  it("keeps every user's history on SQLite", async () => {
    const dir = mkdtempSync(join(tmpdir(), "giftstream-history-migration-"));
    const path = join(dir, "old.db");
    try {
      const raw = new Database(path);
      migrate(raw, migrations.slice(0, 12));
      raw.transaction(() => {
        for (const s of oldRowStatements()) raw.prepare(s.sql).run(...s.params);
      })();
      raw.close();
      const store = new SqliteStore({ path });
      try {
        // Up to the latest migration, past the one under test.
        expect(store.migration.version).toBe(migrations.at(-1)!.version);
        await expectHistoryKept(store);
      } finally {
        await store.close();
      }
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it.skipIf(!available)("keeps every user's history on PostgreSQL", async () => {
    const { schema, drop } = await createTestSchema();
    try {
      const pool = openPool({ url: testDatabaseUrl, schema });
      try {
        await migratePostgres(pool, postgresMigrations.slice(0, 4));
        for (const s of oldRowStatements()) await pool.query(numbered(s.sql), s.params);
      } finally {
        await pool.end();
      }
      const store = await PostgresLedgerStore.open({ url: testDatabaseUrl, schema, connectionsMax: 2 });
      try {
        expect(store.migration.version).toBe(postgresMigrations.at(-1)!.version);
        await expectHistoryKept(store);
      } finally {
        await store.close();
      }
    } finally {
      await drop();
    }
  });
});
