import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { SqliteStore } from "../../store/sqlite/sqlite-store.js";
import { readCatalog } from "./catalog.js";
import { portableTable } from "./store-differences.js";
import { countRows, tablePages } from "./table-pages.js";

const dir = mkdtempSync(join(tmpdir(), "giftstream-pages-"));
let store: SqliteStore;

beforeAll(async () => {
  store = new SqliteStore({ path: join(dir, "pages.db") });
  const sizes = [10, 5000, 100, 40_000, 1, 1, 1, 30_000];
  await store.execute(
    sizes.map((size, i) => ({
      sql: "INSERT INTO kyc_documents (user_id, id, content_type, size_bytes, content, uploaded_at) VALUES (?, ?, 'image/png', ?, ?, 0)",
      params: [`usr_${i}`, `doc_${i}`, BigInt(size), Buffer.alloc(size, i)],
    })),
  );
  const pairs = [
    ["a", "e1"],
    ["a", "e2"],
    ["b", "e1"],
    ["*", "e3"],
    ["b", "e0"],
  ];
  await store.execute(
    pairs.map(([type, endpoint]) => ({
      sql: "INSERT INTO webhook_subscriptions (type, endpoint_id) VALUES (?, ?)",
      params: [type, endpoint],
    })),
  );
});

afterAll(async () => {
  await store.close();
  rmSync(dir, { recursive: true, force: true });
});

async function pagesOf(name: string, limits: { pageRowsMax: number; pageBytesMax: number }) {
  const table = (await readCatalog(store)).find((t) => t.name === name)!;
  const portable = portableTable(table, "sqlite");
  const pages: unknown[][][] = [];
  for await (const page of tablePages(store, portable, limits)) pages.push(page);
  return { portable, pages };
}

describe("table pages", () => {
  it("pages a composite key in key order, every row once", async () => {
    const { pages } = await pagesOf("webhook_subscriptions", { pageRowsMax: 2, pageBytesMax: 1 });
    expect(pages.map((p) => p.length)).toEqual([2, 2, 1]);
    expect(pages.flat()).toEqual([
      ["*", "e3"],
      ["a", "e1"],
      ["a", "e2"],
      ["b", "e0"],
      ["b", "e1"],
    ]);
    expect(await countRows(store, "webhook_subscriptions")).toBe(5);
  });

  it("keeps a page of binary columns within pageBytesMax, a larger row alone", async () => {
    const { portable, pages } = await pagesOf("kyc_documents", { pageRowsMax: 3, pageBytesMax: 6000 });
    const content = portable.columns.findIndex((c) => c.name === "content");
    const bytes = pages.map((p) => p.reduce((sum, row) => sum + (row[content] as Buffer).length, 0));
    // 10 + 5000 + 100 fit; 40,000 comes alone; three of 1; 30,000 alone.
    expect(pages.map((p) => p.length)).toEqual([3, 1, 3, 1]);
    expect(bytes).toEqual([5110, 40_000, 3, 30_000]);
    expect(pages.flat().map((row) => row[0])).toEqual(Array.from({ length: 8 }, (_, i) => `usr_${i}`));
  });
});
