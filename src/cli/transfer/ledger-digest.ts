import { createHash } from "node:crypto";
import { encodeValue } from "./column-codec.js";
import { transferLimits } from "./limits.js";
import type { Reader } from "./snapshot.js";
import type { PortableTable } from "./store-differences.js";
import { tablePages } from "./table-pages.js";

/**
 * The ledger's rows, column by column, as the digest reads them: every column of accounts and
 * transfers (the history chain pointers too: ids are carried as they are, so the chains are the
 * same), and the open holds. Named here rather than read from the schema, so that the digest means
 * the same on both stores whatever else their tables carry.
 */
const ledgerTables: readonly PortableTable[] = [
  {
    name: "accounts",
    key: ["id"],
    columns: [
      { name: "id", type: "text" },
      { name: "unit", type: "text" },
      { name: "flags", type: "int" },
      { name: "debits_posted", type: "int" },
      { name: "credits_posted", type: "int" },
      { name: "debits_pending", type: "int" },
      { name: "credits_pending", type: "int" },
      { name: "created_at", type: "int" },
      { name: "last_transfer_id", type: "int" },
    ],
  },
  {
    name: "transfers",
    key: ["id"],
    columns: [
      { name: "id", type: "int" },
      { name: "type", type: "int" },
      { name: "debit_account_id", type: "text" },
      { name: "credit_account_id", type: "text" },
      { name: "amount", type: "int" },
      { name: "kind", type: "text" },
      { name: "pending_id", type: "int" },
      { name: "expires_at", type: "int" },
      { name: "metadata", type: "text" },
      { name: "created_at", type: "int" },
      { name: "debit_prev_id", type: "int" },
      { name: "credit_prev_id", type: "int" },
    ],
  },
  {
    name: "holds",
    key: ["transfer_id"],
    columns: [
      { name: "transfer_id", type: "int" },
      { name: "debit_account_id", type: "text" },
      { name: "credit_account_id", type: "text" },
      { name: "amount", type: "int" },
      { name: "expires_at", type: "int" },
    ],
  },
];

const digestVersion = "giftstream-ledger-digest 1";

/**
 * SHA-256 over the whole ledger in key order, the same function on either store: equal digests
 * mean equal accounts (balances, heads), equal transfers (every column) and equal open holds.
 * Both stores order text keys bytewise (SQLite's BINARY, PostgreSQL's "C"), so the order agrees.
 */
export async function ledgerDigest(reader: Reader): Promise<string> {
  const hash = createHash("sha256");
  hash.update(`${digestVersion}\n`);
  for (const table of ledgerTables) {
    hash.update(`${JSON.stringify({ table: table.name })}\n`);
    for await (const page of tablePages(reader, table, transferLimits)) {
      for (const row of page) {
        const encoded = row.map((value, i) => {
          const column = table.columns[i]!;
          return encodeValue(column.type, value, `${table.name}.${column.name}`);
        });
        hash.update(`${JSON.stringify(encoded)}\n`);
      }
    }
  }
  return hash.digest("hex");
}
