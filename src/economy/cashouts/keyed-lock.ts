/** Runs work one at a time per key. The cash-out service and payout files take their locks here. */
export interface KeyedLocks {
  run<T>(key: string, work: () => Promise<T>): Promise<T>;
}

/**
 * Runs work one at a time per key, in arrival order, within this process. A creator's cash-outs
 * choose their lots from a read, so two at once could pick the same lot; this lock keeps them
 * apart, and the ledger's hold still refuses any that would overdraw. Several processes on one
 * database take a database lock as well (src/store/postgres/advisory-lock.ts).
 */
export class KeyedLock implements KeyedLocks {
  private readonly tails = new Map<string, Promise<unknown>>();

  run<T>(key: string, work: () => Promise<T>): Promise<T> {
    const before = this.tails.get(key) ?? Promise.resolve();
    const result = before.then(work, work);
    const tail = result.catch(() => {});
    this.tails.set(key, tail);
    // The map holds only keys with work queued: the last one out removes its key.
    void tail.then(() => {
      if (this.tails.get(key) === tail) this.tails.delete(key);
    });
    return result;
  }
}
