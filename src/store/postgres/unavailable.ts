import pg from "pg";

/**
 * SQLSTATEs that say the database could not do the work now, not that the work was wrong, and
 * that the server sent as its answer, so the work did not commit: the
 * statement or lock wait ran past `statement_timeout` (57014), the session was ended for idling
 * in a transaction (25P03), a deadlock or serialization failure (40P01, 40001), a lock refused
 * (55P03), and whole classes for lost connections (08), exhausted resources (53) and a server
 * shutting down or starting (57P). PostgreSQL rolled the transaction back in every case.
 */
const transientCodes = new Set(["57014", "25P03", "40001", "40P01", "55P03"]);
const transientClasses = ["08", "53", "57P"];

/**
 * What node-postgres throws, as plain Errors without a SQLSTATE, for a statement that never
 * reached the server: no connection could be opened or checked out of the pool in time, or the
 * client had already failed or closed. These messages are pg 8's own.
 *
 * Not here: "Connection terminated unexpectedly", the socket closing with a statement in flight
 * and no answer. If that statement was a COMMIT, it may have committed, and a retry of a request
 * whose answer is not kept with its work (docs/api.md, kept answers) would apply it again; such
 * an error stays `internal_error`, as any outcome the service cannot know.
 */
const connectionMessages = [
  "timeout exceeded when trying to connect",
  "Client has encountered a connection error and is not queryable",
  "Client was closed and is not queryable",
];

/**
 * A connection that could not be opened at all (the server is down or unreachable) fails with
 * Node's own socket error. In a request's path the only raw connections are the database's:
 * payment and payout providers answer `provider_error` through their adapters, and Redis queues
 * commands while it reconnects instead of failing them with a socket error.
 */
const connectCodes = new Set(["ECONNREFUSED", "ETIMEDOUT", "EHOSTUNREACH", "ENETUNREACH"]);

/**
 * Whether `error` is PostgreSQL (or the way to it) being unavailable for a moment rather than a
 * defect: the request may be retried as it is, with the same idempotency key, and should be.
 * Errors that point at the code or the data (a constraint, a syntax error) are not.
 */
export function isPostgresUnavailable(error: unknown): boolean {
  if (error instanceof pg.DatabaseError) {
    const code = error.code;
    if (code === undefined) return false;
    return transientCodes.has(code) || transientClasses.some((prefix) => code.startsWith(prefix));
  }
  if (!(error instanceof Error)) return false;
  const { code, syscall } = error as NodeJS.ErrnoException;
  if (syscall === "connect" && code !== undefined && connectCodes.has(code)) return true;
  const message = error.message;
  return connectionMessages.some((known) => message.startsWith(known));
}
