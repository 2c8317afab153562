import { randomBytes } from "node:crypto";
import { afterEach, beforeEach, describe, expect, it } from "vitest";
import { fingerprintContext, replyContext } from "../../api/replays.js";
import { Sealer, sealedKeyId } from "../../crypto/sealed.js";
import { keyringOf, type SecretKey, secretKeyOf } from "../../crypto/secret-key.js";
import { documentContext, submissionContext } from "../../economy/kyc/kyc.js";
import { detailsContext } from "../../economy/payout-methods/payout-methods.js";
import { fileSealContext } from "../../providers/payouts/files/file-rail.js";
import { SqlKycDocumentStore } from "./kyc-document-store.js";
import { SqlKycStore } from "./kyc-store.js";
import { testPayoutFile, testPayoutLine } from "./payout-file-rows.testkit.js";
import { SqlPayoutFileStore } from "./payout-file-store.js";
import { SqlPayoutMethodStore } from "./payout-method-store.js";
import { requestContext, SqlPaypalPayoutStore } from "./paypal-store.js";
import { SqlReplyStore } from "./reply-store.js";
import { type ResealOptions, type ResealProblem, resealAll, rowAttemptsMax } from "./reseal.js";
import { sealedColumnName, sealedColumns } from "./sealed-columns.js";
import type { SqlDb, Statement } from "./sql-db.js";

/**
 * `giftstream reseal` against one kind of database, written once and run on a SQLite file
 * (reseal.test.ts) and on PostgreSQL (reseal.postgres.test.ts). `open` gives a migrated, empty
 * database and a second connection to it: another process, writing while the reseal runs.
 */
export interface ResealHarness {
  open(): Promise<{ db: SqlDb; other: SqlDb; close(): Promise<void> }>;
  /** Every column of the schema holding bytes (BLOB, bytea), as `table.column`. */
  byteColumns(db: SqlDb): Promise<string[]>;
}

/** Rows per sealed column: more than one page of `pageRowsMax`, and not a multiple of it. */
const rowsPerColumn = 5;
const pageRowsMax = 2;

const keyOf = () => secretKeyOf(randomBytes(32));
const sealerOf = (...keys: SecretKey[]) => new Sealer(keyringOf(keys));

interface Plain {
  /** `kyc.submission:usr_1` → what was sealed there. */
  byContext: Map<string, Buffer>;
}

/** Writes `rowsPerColumn` rows of every sealed column through the stores that write them. */
async function fill(db: SqlDb, sealer: Sealer): Promise<Plain> {
  const byContext = new Map<string, Buffer>();
  const sealed = (plaintext: Buffer, context: string) => {
    byContext.set(context, plaintext);
    return sealer.seal(plaintext, context);
  };
  const kyc = new SqlKycStore(db);
  const documents = new SqlKycDocumentStore(db);
  const methods = new SqlPayoutMethodStore(db);
  const files = new SqlPayoutFileStore(db);
  for (let i = 0; i < rowsPerColumn; i++) {
    const userId = `usr_${i}`;
    const submission = Buffer.from(JSON.stringify({ legalName: `Person ${i}`, birthDate: "1990-01-01" }));
    expect(await kyc.submit(userId, sealed(submission, submissionContext(userId)), 1000 + i)).toBe(true);
    const documentId = `kdoc_${i}`;
    const document = randomBytes(64 + i);
    const put = await documents.put({
      id: documentId,
      userId,
      contentType: "image/png",
      sizeBytes: document.length,
      content: sealed(document, documentContext(userId, documentId)),
      uploadedAt: 1000 + i,
    });
    expect(put).toBe(true);
    const methodId = `pm_${i}`;
    const details = Buffer.from(JSON.stringify({ holderName: `Person ${i}`, details: { iban: `DE${i}` } }));
    const inserted = await methods.insert(
      {
        id: methodId,
        userId,
        type: "bank_account",
        sealed: sealed(details, detailsContext(userId, methodId)),
        masked: "DE****",
        createdAt: 1000 + i,
        deletedAt: null,
      },
      rowsPerColumn,
    );
    expect(inserted).toBe(true);
    const fileId = `pf_${i}`;
    const content = Buffer.from(`file ${i}: account 12345678${i}`);
    await files.insert(testPayoutFile(fileId, "nacha", 1000 + i), sealed(content, fileSealContext(fileId)), [
      testPayoutLine(`co_f${i}`, fileId, "nacha", 1, i + 1),
    ]);
    // The PayPal store seals the request itself, given the sealer.
    const senderBatchId = `sb_${i}`;
    const request = JSON.stringify({ items: [{ receiver: `person${i}@example.com` }] });
    byContext.set(requestContext(senderBatchId), Buffer.from(request));
    await new SqlPaypalPayoutStore(db, sealer).saveBatch(
      { senderBatchId, payoutBatchId: null, request, itemCount: 1, createdAt: 1000 + i, refused: null },
      [`co_p${i}`],
    );
    const replies = new SqlReplyStore(db);
    const claim = { key: `http:k${i}`, leaseUntilMs: 60_000 };
    const print = Buffer.from(`fingerprint ${i}`);
    expect(await replies.insert(claim, sealed(print, fingerprintContext(claim.key)), 1000 + i)).toBe(true);
    const answer = Buffer.from(JSON.stringify({ headers: {}, body: `{"key":"gs_secret_${i}"}` }));
    expect(await replies.finish(claim, 201, sealed(answer, replyContext(claim.key)))).toBe(true);
  }
  return { byContext };
}

/** Every sealed value in the database, by its context. */
async function storedValues(db: SqlDb): Promise<Map<string, Buffer>> {
  const values = new Map<string, Buffer>();
  for (const column of sealedColumns) {
    const selected = [column.key, ...column.contextColumns, `${column.column} AS sealed`].join(", ");
    for (const row of await db.all(
      `SELECT ${selected} FROM ${column.table} WHERE ${column.column} IS NOT NULL`,
    )) {
      values.set(column.context(row), row.sealed as Buffer);
    }
  }
  return values;
}

/** Opens every stored value with `sealer` and compares it with what was sealed there. */
async function expectAllOpen(db: SqlDb, sealer: Sealer, plain: Plain): Promise<void> {
  const stored = await storedValues(db);
  expect([...stored.keys()].sort()).toEqual([...plain.byContext.keys()].sort());
  for (const [context, value] of stored) {
    expect(sealer.open(value, context).equals(plain.byContext.get(context)!), context).toBe(true);
  }
}

/** The ids of the keys the stored values are under, with how many values each. */
async function keyIds(db: SqlDb): Promise<Record<string, number>> {
  const ids: Record<string, number> = {};
  for (const value of (await storedValues(db)).values()) {
    const id = sealedKeyId(value)?.toString("hex") ?? "none";
    ids[id] = (ids[id] ?? 0) + 1;
  }
  return ids;
}

const hex = (key: SecretKey) => key.id.toString("hex");

/** A SqlDb that runs `before` ahead of each write it is asked for: another process, at the worst time. */
function racing(db: SqlDb, before: (statements: readonly Statement[]) => Promise<void>): SqlDb {
  return {
    dialect: db.dialect,
    all: (sql, params) => db.all(sql, params),
    get: (sql, params) => db.get(sql, params),
    async execute(statements) {
      await before(statements);
      return db.execute(statements);
    },
  };
}

export function describeReseal(name: string, harness: ResealHarness): void {
  describe(`encryption key rotation: ${name}`, () => {
    let db: SqlDb;
    let other: SqlDb;
    let close: (() => Promise<void>) | undefined;
    const oldKey = keyOf();
    const newKey = keyOf();
    const before = sealerOf(oldKey);
    const rotated = sealerOf(newKey, oldKey);
    const after = sealerOf(newKey);
    let problems: ResealProblem[];
    const reseal = (over: Partial<ResealOptions> = {}) =>
      resealAll({ db, sealer: rotated, pageRowsMax, onProblem: (p) => problems.push(p), ...over });
    const counts = (report: Awaited<ReturnType<typeof resealAll>>) =>
      Object.fromEntries(report.columns.map((c) => [c.name, c.counts]));
    const each = (c: Partial<Record<"resealed" | "current" | "unopened" | "contended", number>>) =>
      Object.fromEntries(
        sealedColumns.map((column) => [
          sealedColumnName(column),
          { resealed: 0, current: 0, unopened: 0, contended: 0, ...c },
        ]),
      );

    beforeEach(async () => {
      ({ db, other, close } = await harness.open());
      problems = [];
    });
    afterEach(async () => {
      await close?.();
      close = undefined;
    });

    it("lists every column of the schema that holds bytes", async () => {
      const listed = sealedColumns.map(sealedColumnName).sort();
      // A new BLOB column is sealed personal data until shown otherwise: list it in sealedColumns.
      expect((await harness.byteColumns(db)).sort()).toEqual(listed);
    });

    it("opens values sealed under the previous key after a rotation, and seals new ones under the new key", async () => {
      const plain = await fill(db, before);
      expect(await keyIds(db)).toEqual({ [hex(oldKey)]: rowsPerColumn * sealedColumns.length });
      await expectAllOpen(db, rotated, plain);
      // Without the previous key they would not open: that is what previousKeys is for.
      await expect(expectAllOpen(db, after, plain)).rejects.toThrow(/key this server does not have/);
      const fresh = rotated.seal(Buffer.from("x"), submissionContext("usr_new"));
      expect(sealedKeyId(fresh)?.equals(newKey.id)).toBe(true);
    });

    it("moves every value under the new key, in pages, after which the old key can be dropped", async () => {
      const plain = await fill(db, before);
      const report = await reseal();
      expect(problems).toEqual([]);
      expect(report.ok).toBe(true);
      expect(counts(report)).toEqual(each({ resealed: rowsPerColumn }));
      expect(await keyIds(db)).toEqual({ [hex(newKey)]: rowsPerColumn * sealedColumns.length });
      await expectAllOpen(db, after, plain);
      // Through the stores too, with the new key alone.
      expect((await new SqlPaypalPayoutStore(db, after).itemOf("co_p3"))?.batch.request).toBe(
        plain.byContext.get(requestContext("sb_3"))!.toString(),
      );

      // A second run finds nothing to do, and changes nothing.
      const stored = await storedValues(db);
      const again = await reseal({ sealer: after });
      expect(again.ok).toBe(true);
      expect(counts(again)).toEqual(each({ current: rowsPerColumn }));
      expect(await storedValues(db)).toEqual(stored);
    });

    it("finishes, when run again, a run that stopped part way", async () => {
      const plain = await fill(db, before);
      let writes = 0;
      const stopping = racing(db, async () => {
        if (++writes > 7) throw new Error("the process was stopped");
      });
      await expect(reseal({ db: stopping })).rejects.toThrow(/stopped/);
      const total = rowsPerColumn * sealedColumns.length;
      expect(await keyIds(db)).toEqual({ [hex(newKey)]: 7, [hex(oldKey)]: total - 7 });

      const report = await reseal();
      expect(report.ok).toBe(true);
      const resealed = report.columns.reduce((sum, c) => sum + c.counts.resealed, 0);
      const current = report.columns.reduce((sum, c) => sum + c.counts.current, 0);
      expect([resealed, current]).toEqual([total - 7, 7]);
      await expectAllOpen(db, after, plain);
    });

    it("reports a value under a key it lacks, or damaged, leaves it as it is, and fails", async () => {
      const plain = await fill(db, before);
      const unknown = keyOf();
      const foreign = sealerOf(unknown).seal(Buffer.from("sealed elsewhere"), submissionContext("usr_2"));
      const damaged = Buffer.from((await storedValues(db)).get(detailsContext("usr_4", "pm_4"))!);
      damaged[damaged.length - 1]! ^= 0x01;
      await db.execute([
        { sql: "UPDATE kyc SET submission = ? WHERE user_id = ?", params: [foreign, "usr_2"] },
        { sql: "UPDATE payout_methods SET details = ? WHERE id = ?", params: [damaged, "pm_4"] },
      ]);

      const report = await reseal();
      expect(report.ok).toBe(false);
      expect(problems).toEqual([
        {
          column: "kyc.submission",
          context: "kyc.submission:usr_2",
          reason: `sealed under a key this server does not have (key id ${hex(unknown)})`,
        },
        {
          column: "payout_methods.details",
          context: "payout_methods.details:usr_4/pm_4",
          reason: `the sealed value does not open as payout_methods.details:usr_4/pm_4 (key id ${hex(oldKey)})`,
        },
      ]);
      const c = counts(report);
      expect(c["kyc.submission"]).toEqual({ resealed: 4, current: 0, unopened: 1, contended: 0 });
      expect(c["payout_methods.details"]).toEqual({ resealed: 4, current: 0, unopened: 1, contended: 0 });
      const stored = await storedValues(db);
      expect(stored.get(submissionContext("usr_2"))).toEqual(foreign);
      expect(stored.get(detailsContext("usr_4", "pm_4"))).toEqual(damaged);
      // Everything else moved, and opens without the old key.
      for (const [context, value] of stored) {
        if (value.equals(foreign) || value.equals(damaged)) continue;
        expect(after.open(value, context).equals(plain.byContext.get(context)!), context).toBe(true);
      }
      // Run again, the same two values fail again: nothing was lost in between.
      problems = [];
      expect((await reseal()).ok).toBe(false);
      expect(problems.map((p) => p.context)).toEqual([
        "kyc.submission:usr_2",
        "payout_methods.details:usr_4/pm_4",
      ]);
    });

    it("does not overwrite a value another process changed while it ran, and reseals the new one", async () => {
      const plain = await fill(db, before);
      // Between the reseal's read of usr_1's submission and its write, usr_1 resubmits, on a
      // server still sealing under the old key.
      const resubmitted = Buffer.from(JSON.stringify({ legalName: "Changed Meanwhile" }));
      let raced = false;
      const report = await reseal({
        db: racing(db, async (statements) => {
          if (
            raced ||
            !statements[0]!.sql.startsWith("UPDATE kyc ") ||
            statements[0]!.params[1] !== "usr_1"
          ) {
            return;
          }
          raced = true;
          const sealed = before.seal(resubmitted, submissionContext("usr_1"));
          expect(await new SqlKycStore(other).submit("usr_1", sealed, 5000)).toBe(true);
        }),
      });
      expect(raced).toBe(true);
      expect(report.ok).toBe(true);
      expect(counts(report)["kyc.submission"]).toEqual({
        resealed: 5,
        current: 0,
        unopened: 0,
        contended: 0,
      });
      plain.byContext.set(submissionContext("usr_1"), resubmitted);
      await expectAllOpen(db, after, plain);
    });

    it("counts a value another process sealed under the new key meanwhile as current", async () => {
      const plain = await fill(db, before);
      const replaced = randomBytes(80);
      let raced = false;
      const report = await reseal({
        db: racing(db, async (statements) => {
          if (raced || !statements[0]!.sql.startsWith("UPDATE kyc_documents ")) return;
          raced = true;
          const sealed = rotated.seal(replaced, documentContext("usr_0", "kdoc_9"));
          await other.execute([
            {
              sql: "UPDATE kyc_documents SET id = ?, content = ? WHERE user_id = ?",
              params: ["kdoc_9", sealed, "usr_0"],
            },
          ]);
        }),
      });
      expect(report.ok).toBe(true);
      expect(counts(report)["kyc_documents.content"]).toEqual({
        resealed: 4,
        current: 1,
        unopened: 0,
        contended: 0,
      });
      plain.byContext.delete(documentContext("usr_0", "kdoc_0"));
      plain.byContext.set(documentContext("usr_0", "kdoc_9"), replaced);
      await expectAllOpen(db, after, plain);
    });

    it("leaves a row that changes at every attempt to a later run, and says so", async () => {
      const plain = await fill(db, before);
      let changes = 0;
      const report = await reseal({
        db: racing(db, async (statements) => {
          if (
            !statements[0]!.sql.startsWith("UPDATE paypal_batches ") ||
            statements[0]!.params[1] !== "sb_0"
          ) {
            return;
          }
          changes += 1;
          // Nothing but reseal rewrites a request; an old-key copy of the same one stands in for it.
          const request = plain.byContext.get(requestContext("sb_0"))!;
          await other.execute([
            {
              sql: "UPDATE paypal_batches SET request = ? WHERE sender_batch_id = ?",
              params: [before.seal(request, requestContext("sb_0")), "sb_0"],
            },
          ]);
        }),
      });
      expect(changes).toBe(rowAttemptsMax);
      expect(report.ok).toBe(false);
      expect(counts(report)["paypal_batches.request"]).toEqual({
        resealed: 4,
        current: 0,
        unopened: 0,
        contended: 1,
      });
      expect(problems).toEqual([
        {
          column: "paypal_batches.request",
          context: "paypal_batches.request:sb_0",
          reason: `changed by another process at each of ${rowAttemptsMax} attempts; run reseal again`,
        },
      ]);
      // The other process's last write stands, and a later run moves it.
      expect(sealedKeyId((await storedValues(db)).get(requestContext("sb_0"))!)?.equals(oldKey.id)).toBe(
        true,
      );
      expect((await reseal()).ok).toBe(true);
      await expectAllOpen(db, after, plain);
    });
  });
}
