/**
 * Runs work one at a time per key, in arrival order. A creator's cash-outs choose their lots from
 * a read, so two at once could pick the same lot; in one process this lock keeps them apart, and
 * the ledger's hold still refuses any that would overdraw (a second process needs a row lock).
 */
export class KeyedLock {
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
