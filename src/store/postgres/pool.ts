import pg from "pg";

export interface PostgresPoolOptions {
  /** A `postgres://` or `postgresql://` URL. */
  url: string;
  /** Sets `search_path` on every connection: tests give each suite its own schema. */
  schema?: string;
  /** Most connections this pool opens: writes in flight (ledger.pipelineBatchesMax) plus reads. */
  connectionsMax?: number;
  /** How long to wait for a connection to open, or for a free one from the pool. */
  connectTimeoutMs?: number;
  /** Told about errors on idle connections (a server restart, say); the next query reopens. */
  onIdleError?: (error: Error) => void;
  /** Longest one statement may run, lock waits included (`statement_timeout`). */
  statementTimeoutMs?: number;
  /**
   * Longest a transaction may sit between statements (`idle_in_transaction_session_timeout`):
   * the server then ends the session, which rolls the transaction back and frees its locks.
   */
  idleInTransactionTimeoutMs?: number;
}

export const poolDefaults = {
  connectionsMax: 10,
  connectTimeoutMs: 10_000,
  statementTimeoutMs: 60_000,
  idleInTransactionTimeoutMs: 60_000,
} as const;

const schemaPattern = /^[a-z_][a-z0-9_]{0,62}$/;

/**
 * Amounts and ids are `bigint` columns: read them as JS bigints, never as numbers, and leave
 * `numeric` (what SUM over bigint returns) as its exact string. These parsers apply to this
 * pool's connections only, so nothing else in the process sees its types change.
 */
type TypeId = Parameters<typeof pg.types.getTypeParser>[0];
const int8Oid = 20;
const int8ArrayOid = 1016;
const numericOid = 1700;

function getTypeParser(oid: number, format?: "text" | "binary"): (value: string) => unknown {
  if (format === undefined || format === "text") {
    if (oid === int8Oid) return (value) => BigInt(value);
    if (oid === int8ArrayOid) {
      const strings = pg.types.getTypeParser(oid as TypeId, "text") as (value: string) => (string | null)[];
      return (value) => strings(value).map((item) => (item === null ? null : BigInt(item)));
    }
    if (oid === numericOid) return (value) => value;
  }
  return pg.types.getTypeParser(oid as TypeId, format ?? "text") as (value: string) => unknown;
}

/**
 * A connection pool configured for money: bigint-safe types, and `synchronous_commit=on` on
 * every connection so that a commit returns only once its WAL is flushed, whatever the server's
 * default says. A batch's callers are answered after that commit.
 */
export function openPool(options: PostgresPoolOptions): pg.Pool {
  if (options.schema !== undefined && !schemaPattern.test(options.schema)) {
    throw new Error(`schema name "${options.schema}" must match ${schemaPattern}`);
  }
  // Settings go in the startup packet, so no connection ever runs a query without them. pg lets a
  // URL's own `?options=` replace the pool's, so it is taken out of the URL and put first: a
  // later `-c` wins, and durability cannot be turned off from the URL.
  const url = new URL(options.url);
  // The timeouts bound every wait on the database, so that a process that hangs mid-transaction
  // (or a statement stuck behind one) cannot hold a hot account's row lock, or a job's pass,
  // for ever: every other call a pass makes has a timeout of its own.
  const settings = [
    url.searchParams.get("options") ?? "",
    "-c synchronous_commit=on",
    `-c statement_timeout=${timeoutSetting(options.statementTimeoutMs ?? poolDefaults.statementTimeoutMs)}`,
    `-c idle_in_transaction_session_timeout=${timeoutSetting(
      options.idleInTransactionTimeoutMs ?? poolDefaults.idleInTransactionTimeoutMs,
    )}`,
  ];
  url.searchParams.delete("options");
  if (options.schema !== undefined) settings.push(`-c search_path=${options.schema}`);
  const pool = new pg.Pool({
    connectionString: url.toString(),
    options: settings.join(" ").trim(),
    max: options.connectionsMax ?? poolDefaults.connectionsMax,
    connectionTimeoutMillis: options.connectTimeoutMs ?? poolDefaults.connectTimeoutMs,
    types: { getTypeParser } as pg.CustomTypesConfig,
    // TCP keepalive finds a connection whose peer went away (a failover, a dropped link) instead
    // of holding it, and any session advisory lock on it as this process sees it, indefinitely.
    keepAlive: true,
  });
  // An idle connection that dies must not crash the process: pg emits it here, and the pool
  // drops that connection and opens another for the next query.
  pool.on("error", (error) => options.onIdleError?.(error));
  return pool;
}

/** A timeout in whole milliseconds; 0 would turn the limit off, so it is refused like a fraction. */
function timeoutSetting(ms: number): string {
  if (!Number.isSafeInteger(ms) || ms < 1)
    throw new Error(`a PostgreSQL timeout must be a positive integer of ms, not ${ms}`);
  return `${ms}ms`;
}

/**
 * `url` with `schema` first on the search path of every connection, set by the URL itself: one
 * database can hold several Giftstreams (tests, benchmarks) in schemas of their own.
 */
export function withSearchPath(url: string, schema: string): string {
  if (!schemaPattern.test(schema)) throw new Error(`schema name "${schema}" must match ${schemaPattern}`);
  const withSchema = new URL(url);
  withSchema.searchParams.set("options", `-c search_path=${schema}`);
  return withSchema.toString();
}
