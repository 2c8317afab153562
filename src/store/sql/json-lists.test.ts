import fc from "fast-check";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openTestLedger, type TestLedger } from "../../ledger/ledger.testkit.js";
import { openTestPostgresStore, requirePostgres } from "../postgres/postgres.testkit.js";
import type { PostgresLedgerStore } from "../postgres/postgres-ledger-store.js";
import { jsonDocuments, jsonIntegers, jsonTexts, pgArray } from "./json-lists.js";

const available = await requirePostgres();

/**
 * Texts a list could hold: quotes, backslashes, braces, commas, words SQL or JSON treat specially,
 * and any UTF-16 code units, lone surrogates among them (read back as U+FFFD).
 */
const text = fc.oneof(
  fc.string({ unit: "grapheme" }),
  fc.string({ unit: "binary" }),
  fc.constantFrom("\ud800", "a\udfffb", "\ud83c\udf81"),
  fc.constantFrom("NULL", "null", "", " ", '"', "\\", "{}", "a,b", '{"k":"v\\"w"}', "\u2028", "\n\t"),
);
// NUL is refused before any text reaches a store (src/api/nul-text.ts); PostgreSQL cannot hold it.
const storable = text.filter((s) => !s.includes("\u0000"));
const integer = fc.bigInt({ min: -(2n ** 63n), max: 2n ** 63n - 1n });
/** JSON documents as the stores write them: JSON.stringify of any JSON value, odd text included. */
const document = fc
  .oneof(fc.jsonValue(), fc.dictionary(text, fc.oneof(text, fc.integer())), text)
  .map((value) => JSON.stringify(value))
  .filter((s) => !s.includes("\u0000"));

describe("JSON lists", () => {
  it("writes integers exactly, however large, and nulls", () => {
    expect(jsonIntegers([1n, null, 2n ** 63n - 1n, -5, 0])).toBe("[1,null,9223372036854775807,-5,0]");
    expect(jsonIntegers([])).toBe("[]");
    expect(() => jsonIntegers([1, 2.5])).toThrow(TypeError);
    expect(() => jsonIntegers(["1,2" as unknown as number])).toThrow(TypeError);
    expect(() => jsonIntegers([2 ** 53])).toThrow(TypeError);
    fc.assert(
      fc.property(fc.array(fc.option(integer)), (values) => {
        const parsed = JSON.parse(jsonIntegers(values).replace(/-?\d+/g, '"$&"')) as (string | null)[];
        expect(parsed).toEqual(values.map((v) => (v === null ? null : v.toString())));
      }),
    );
  });
});

describe("JSON document lines", () => {
  it("writes a document a line, and a null as a line no document is", () => {
    expect(jsonDocuments(['{"a":1}', null, "[]", '"x\\ny"'])).toBe('{"a":1}\n-\n[]\n"x\\ny"');
    expect(jsonDocuments([])).toBe("");
    expect(jsonDocuments([null])).toBe("-");
  });

  it("refuses what could read back as another row: a line break, an empty text, the null line", () => {
    for (const bad of ['{"a":\n1}', "", "-", "\n"]) {
      expect(() => jsonDocuments(['{"ok":true}', bad])).toThrow(TypeError);
    }
    fc.assert(
      fc.property(fc.array(document), (documents) => {
        expect(() => jsonDocuments(documents)).not.toThrow();
      }),
    );
  });
});

describe("JSON lists on SQLite", () => {
  let sqlite: TestLedger;
  beforeAll(() => {
    sqlite = openTestLedger();
  });
  afterAll(() => sqlite.dispose());

  it("reads back every text, in order", async () => {
    await fc.assert(
      fc.asyncProperty(fc.array(fc.option(storable), { maxLength: 30 }), async (values) => {
        const rows = await sqlite.store.all("SELECT value FROM json_each(?) ORDER BY key", [
          jsonTexts(values),
        ]);
        expect(rows.map((r) => r.value)).toEqual(values.map((v) => v?.toWellFormed() ?? null));
      }),
      { numRuns: 50 },
    );
  });
});

describe.skipIf(!available)("JSON lists on PostgreSQL", () => {
  let store: PostgresLedgerStore;
  let dispose: () => Promise<void>;
  beforeAll(async () => {
    ({ store, dispose } = await openTestPostgresStore());
  });
  afterAll(() => dispose());

  it("turns texts and integers into arrays that unnest row by row, in order, with nulls", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.option(storable), fc.option(integer)), { maxLength: 30 }),
        async (pairs) => {
          const { rows } = await store.pool.query<{ t: string | null; n: bigint | null; i: string }>(
            `SELECT u.t, u.n, u.i::text AS i
             FROM unnest(${pgArray("$1", "text")}, ${pgArray("$2", "bigint")}) WITH ORDINALITY AS u (t, n, i)`,
            [jsonTexts(pairs.map(([t]) => t)), jsonIntegers(pairs.map(([, n]) => n))],
          );
          expect(rows.map((r) => [r.t, r.n])).toEqual(pairs.map(([t, n]) => [t?.toWellFormed() ?? null, n]));
          expect(rows.map((r) => r.i)).toEqual(pairs.map((_, i) => String(i + 1)));
        },
      ),
      { numRuns: 50 },
    );
  });

  it("splits document lines into an array that unnests beside the others, in order, with nulls", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.tuple(fc.option(document), fc.option(integer)), { maxLength: 30 }),
        async (pairs) => {
          const { rows } = await store.pool.query<{ d: string | null; n: bigint | null }>(
            `SELECT u.d, u.n
             FROM unnest(${pgArray("$1", "document")}, ${pgArray("$2", "bigint")}) WITH ORDINALITY AS u (d, n, i)
             ORDER BY u.i`,
            [jsonDocuments(pairs.map(([d]) => d)), jsonIntegers(pairs.map(([, n]) => n))],
          );
          // Byte for byte (a lone surrogate, which JSON.stringify escapes, is plain ASCII here).
          expect(rows.map((r) => [r.d, r.n])).toEqual(pairs);
        },
      ),
      { numRuns: 100 },
    );
  });
});
