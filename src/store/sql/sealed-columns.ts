import { fingerprintContext, replyContext } from "../../api/replays.js";
import { documentContext, submissionContext } from "../../economy/kyc/kyc.js";
import { detailsContext } from "../../economy/payout-methods/payout-methods.js";
import { fileSealContext } from "../../providers/payouts/files/file-rail.js";
import { requestContext } from "./paypal-store.js";
import type { Row } from "./sql-db.js";

/** A column whose every value is sealed (src/crypto/sealed.ts), and where each value belongs. */
export interface SealedColumn {
  table: string;
  column: string;
  /** The table's primary key, one text column: pages are read in its order, writes name it. */
  key: string;
  /** The other columns the context is made of. */
  contextColumns: readonly string[];
  /** The context the value was sealed with, from the key and context columns of its row. */
  context(row: Row): string;
}

const text = (row: Row, column: string) => row[column] as string;

/**
 * Every sealed column of the schema, the one list `giftstream reseal` walks. Each context comes
 * from the code that seals the column, so a value is sealed again exactly where it was.
 * sealed-columns.test.ts checks that every BLOB column of the schema is here.
 */
export const sealedColumns: readonly SealedColumn[] = [
  {
    table: "kyc",
    column: "submission",
    key: "user_id",
    contextColumns: [],
    context: (row) => submissionContext(text(row, "user_id")),
  },
  {
    table: "kyc_documents",
    column: "content",
    key: "user_id",
    contextColumns: ["id"],
    context: (row) => documentContext(text(row, "user_id"), text(row, "id")),
  },
  {
    table: "payout_methods",
    column: "details",
    key: "id",
    contextColumns: ["user_id"],
    context: (row) => detailsContext(text(row, "user_id"), text(row, "id")),
  },
  {
    table: "paypal_batches",
    column: "request",
    key: "sender_batch_id",
    contextColumns: [],
    context: (row) => requestContext(text(row, "sender_batch_id")),
  },
  {
    table: "payout_files",
    column: "content",
    key: "id",
    contextColumns: [],
    context: (row) => fileSealContext(text(row, "id")),
  },
  {
    table: "http_replies",
    column: "fingerprint",
    key: "key",
    contextColumns: [],
    context: (row) => fingerprintContext(text(row, "key")),
  },
  {
    table: "http_replies",
    column: "reply",
    key: "key",
    contextColumns: [],
    context: (row) => replyContext(text(row, "key")),
  },
];

/** `kyc.submission`: how reports name a column. */
export function sealedColumnName(column: SealedColumn): string {
  return `${column.table}.${column.column}`;
}
