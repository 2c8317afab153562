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
}

export const poolDefaults = {
  connectionsMax: 10,
  connectTimeoutMs: 10_000,
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
  const settings = [url.searchParams.get("options") ?? "", "-c synchronous_commit=on"];
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
