/**
 * The bounds of `giftstream export` and `giftstream import`. Both stream: memory stays within a
 * page or a batch, whatever the size of the database.
 */
export const transferLimits = {
  /** Rows read per page of a table on export (keyset paging by primary key). */
  pageRowsMax: 1_000,
  /**
   * Bytes of binary columns per page: a table with BLOB/bytea columns (KYC documents, payout
   * files) is paged by size as well, so that a page of large documents stays small. A single row
   * larger than this is read alone.
   */
  pageBytesMax: 16 * 1024 * 1024,
  /** Rows per INSERT statement on import. */
  insertRowsMax: 1_000,
  /** Bound parameters per INSERT statement: under SQLite's 32,766 and PostgreSQL's 65,535. */
  insertParamsMax: 30_000,
  /** Bytes of dump lines per INSERT statement; a single larger row goes alone. */
  insertBytesMax: 16 * 1024 * 1024,
  /** The longest line a dump may have: a row with the largest KYC document, base64, fits. */
  lineBytesMax: 128 * 1024 * 1024,
  /** Tables and columns a dump header may list. */
  tablesMax: 1_000,
  columnsMax: 1_000,
} as const;
