import { randomBytes } from "node:crypto";
import { afterEach, describe, expect, it } from "vitest";
import { fingerprintContext, replyContext } from "../../api/replays.js";
import { Sealer } from "../../crypto/sealed.js";
import { keyringOf, secretKeyOf } from "../../crypto/secret-key.js";
import { openTestLedger } from "../../ledger/ledger.testkit.js";
import { createTestSchema, requirePostgres, testDatabaseUrl } from "../postgres/postgres.testkit.js";
import { PostgresLedgerStore } from "../postgres/postgres-ledger-store.js";
import { SqlReplyStore } from "./reply-store.js";
import { resealAll } from "./reseal.js";
import { sealedColumns } from "./sealed-columns.js";
import type { SqlDb } from "./sql-db.js";

const available = await requirePostgres();

const cleanups: (() => Promise<void>)[] = [];
afterEach(async () => {
  for (const cleanup of cleanups.splice(0).reverse()) await cleanup();
});

/** Two stores on one database, as two processes would hold them. */
async function openPair(dialect: "sqlite" | "postgres"): Promise<[SqlDb, SqlDb]> {
  if (dialect === "sqlite") {
    const t = openTestLedger();
    cleanups.push(() => t.dispose());
    return [t.store, t.store];
  }
  const { schema, drop } = await createTestSchema();
  cleanups.push(drop);
  const a = await PostgresLedgerStore.open({ url: testDatabaseUrl, schema });
  cleanups.push(() => a.close());
  const b = await PostgresLedgerStore.open({ url: testDatabaseUrl, schema });
  cleanups.push(() => b.close());
  return [a, b];
}

const reply = Buffer.from("sealed elsewhere");
const print = Buffer.from("a sealed fingerprint");
const claimOf = (key: string, leaseUntilMs: number) => ({ key, leaseUntilMs });

describe.each([
  ["sqlite", true],
  ["postgres", available],
] as const)("kept replies on %s", (dialect, runs) => {
  it.runIf(runs)("takes a key once, and keeps its answer once", async () => {
    const [a, b] = await openPair(dialect);
    const one = new SqlReplyStore(a);
    const two = new SqlReplyStore(b);
    const claim = claimOf("k", 61_000);
    expect(await one.insert(claim, print, 1000)).toBe(true);
    expect(await two.insert(claimOf("k", 62_000), Buffer.from("other"), 2000)).toBe(false);
    const held = await two.get("k");
    expect(held).toMatchObject({ status: null, reply: null, leaseUntilMs: 61_000 });
    expect(Buffer.from(held!.fingerprint).equals(print)).toBe(true);
    expect(await one.finish(claim, 201, reply)).toBe(true);
    const answered = await two.get("k");
    expect(answered).toMatchObject({ status: 201 });
    expect(Buffer.from(answered!.reply!).equals(reply)).toBe(true);
    // Answered once: a second finish, or a release, of the same claim changes nothing.
    expect(await one.finish(claim, 500, Buffer.from("x"))).toBe(false);
    await one.release(claim);
    expect(await two.get("k")).toMatchObject({ status: 201 });
    // An answered key cannot be taken over.
    expect(await two.takeOver(claimOf("k", 99_000), 61_000)).toBe(false);
  });

  it.runIf(runs)(
    "lets one of two retries take over a lease, and the old holder can no longer answer",
    async () => {
      const [a, b] = await openPair(dialect);
      const one = new SqlReplyStore(a);
      const two = new SqlReplyStore(b);
      const first = claimOf("k", 2000);
      expect(await one.insert(first, print, 1000)).toBe(true);
      const racing = await Promise.all([
        one.takeOver(claimOf("k", 5000), 2000),
        two.takeOver(claimOf("k", 5001), 2000),
      ]);
      expect(racing.filter(Boolean)).toHaveLength(1);
      expect(await one.finish(first, 200, reply)).toBe(false);
      await one.release(first);
      const taken = claimOf("k", racing[0] ? 5000 : 5001);
      expect(await two.finish(taken, 200, reply)).toBe(true);
      expect(await one.get("k")).toMatchObject({ status: 200, leaseUntilMs: taken.leaseUntilMs });
    },
  );

  it.runIf(runs)("gives a released key back to the next request, and purges by age in pages", async () => {
    const [a] = await openPair(dialect);
    const store = new SqlReplyStore(a);
    const held = claimOf("k", 9000);
    expect(await store.insert(held, print, 1000)).toBe(true);
    await store.release(held);
    expect(await store.get("k")).toBeUndefined();
    expect(await store.insert(claimOf("k", 9500), print, 1500)).toBe(true);
    for (let i = 0; i < 5; i++) await store.insert(claimOf(`old${i}`, 60_000), print, 100 + i);
    // Taken exactly at the cut-off: not created before it, so kept (as the ledger's keys are).
    expect(await store.insert(claimOf("edge", 60_000), print, 1000)).toBe(true);
    expect(await store.purge(1000, 3)).toBe(3);
    expect(await store.purge(1000, 3)).toBe(2);
    expect(await store.purge(1000, 3)).toBe(0);
    // The newer keys stay.
    expect(await store.get("k")).toBeDefined();
    expect(await store.get("edge")).toBeDefined();
  });

  it.runIf(runs)(
    "is resealed by giftstream reseal: the fingerprint of a running request, and each answer",
    async () => {
      const [a] = await openPair(dialect);
      const store = new SqlReplyStore(a);
      const oldKey = secretKeyOf(randomBytes(32));
      const newKey = secretKeyOf(randomBytes(32));
      const before = new Sealer(keyringOf([oldKey]));
      const done = claimOf("done", 9000);
      expect(await store.insert(done, before.seal(print, fingerprintContext("done")), 1000)).toBe(true);
      expect(await store.finish(done, 201, before.seal(reply, replyContext("done")))).toBe(true);
      const running = claimOf("running", 9000);
      expect(await store.insert(running, before.seal(print, fingerprintContext("running")), 1000)).toBe(true);
      const after = new Sealer(keyringOf([newKey, oldKey]));
      const report = await resealAll({
        db: a,
        sealer: after,
        pageRowsMax: 10,
        columns: sealedColumns.filter((c) => c.table === "http_replies"),
        onProblem: (problem) => expect.fail(JSON.stringify(problem)),
      });
      expect(report.ok).toBe(true);
      expect(report.columns.map((c) => [c.name, c.counts.resealed])).toEqual([
        ["http_replies.fingerprint", 2],
        ["http_replies.reply", 1],
      ]);
      const answered = await store.get("done");
      expect(after.isCurrent(Buffer.from(answered!.reply!))).toBe(true);
      expect(after.open(answered!.reply!, replyContext("done")).equals(reply)).toBe(true);
      expect(await store.get("running")).toMatchObject({ status: null, reply: null });
    },
  );
});
