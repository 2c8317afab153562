import type { KeyedLocks } from "../economy/cashouts/keyed-lock.js";

/**
 * What the processes sharing one database agree on besides the data: per-key locks for services
 * that decide from a read (a creator's cash-outs), and one runner at a time per periodic job.
 * The embedded store has one process, so its answers are in-process; PostgreSQL's use advisory locks.
 */
export interface Coordination {
  keyedLocks(scope: string): KeyedLocks;
  /** Runs `work` unless another process is running the job `name`; then answers undefined at once. */
  exclusive<T>(name: string, work: () => Promise<T>): Promise<T | undefined>;
}
