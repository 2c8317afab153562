import { GiftstreamError } from "../errors.js";

export interface GroupCommitOptions {
  /** Most transfers (summed over requests) in one commit; a single larger request still goes alone. */
  batchTransfersMax: number;
  /** How long an idle committer waits for company before committing; 0 commits on the next tick. */
  batchWaitMs: number;
  /** Most requests waiting; past it a submit fails at once with `overloaded`. */
  queueRequestsMax: number;
  /**
   * When more requests than this wait, a batch takes half of them (still within
   * `batchTransfersMax`); unset, it takes all it may. For a pipelined store: when every caller
   * waits in one batch, no request arrives while it commits, so the next batch has nothing to
   * prepare meanwhile, and preparing and committing take turns instead of overlapping.
   */
  halveAboveRequests?: number;
}

/** One caller's request waiting for its batch. */
export interface Queued<Req, Res> {
  request: Req;
  /** Size of the request in transfers, for the batch bound. */
  weight: number;
  resolve(result: Res): void;
  reject(error: unknown): void;
}

/**
 * Collects concurrent requests into micro-batches and hands each batch to `commit`, one batch at
 * a time. While a batch commits, new requests queue up and form the next one, so batches grow
 * with load and shrink to one request when idle.
 *
 * `commit` answers every item itself (its own result or error); if `commit` throws, every item
 * in the batch gets that error. A caller is answered only after `commit` resolves, which for the
 * ledger means after the batch is durable.
 */
export class GroupCommitter<Req, Res> {
  private queue: Queued<Req, Res>[] = [];
  private closing = false;
  /** Set while a drain is scheduled or running; a drain takes everything queued before it ends. */
  private draining: Promise<void> | null = null;

  constructor(
    private readonly options: GroupCommitOptions,
    private readonly commit: (batch: Queued<Req, Res>[]) => Promise<void>,
  ) {}

  get queuedRequests(): number {
    return this.queue.length;
  }

  submit(request: Req, weight: number): Promise<Res> {
    if (this.closing) return Promise.reject(new GiftstreamError("shutting_down"));
    if (this.queue.length >= this.options.queueRequestsMax) {
      return Promise.reject(new GiftstreamError("overloaded", `${this.queue.length} requests already wait`));
    }
    return new Promise<Res>((resolve, reject) => {
      this.queue.push({ request, weight, resolve, reject });
      this.schedule();
    });
  }

  /** Stops taking requests and resolves once everything already queued has been committed. */
  async close(): Promise<void> {
    this.closing = true;
    while (this.draining) await this.draining;
  }

  private schedule(): void {
    if (this.draining) return;
    this.draining = new Promise<void>((resolve) => {
      const start = (): void => {
        void this.drain().finally(() => {
          this.draining = null;
          resolve();
          if (this.queue.length > 0) this.schedule();
        });
      };
      if (this.options.batchWaitMs > 0) setTimeout(start, this.options.batchWaitMs);
      else setImmediate(start);
    });
  }

  private async drain(): Promise<void> {
    while (this.queue.length > 0) {
      const batch = this.take();
      try {
        await this.commit(batch);
      } catch (error) {
        for (const item of batch) item.reject(error);
      }
    }
  }

  private take(): Queued<Req, Res>[] {
    const waiting = this.queue.length;
    const limit =
      waiting > (this.options.halveAboveRequests ?? Number.POSITIVE_INFINITY)
        ? Math.ceil(waiting / 2)
        : waiting;
    let weight = 0;
    let count = 0;
    while (count < limit) {
      const next = this.queue[count]!;
      if (count > 0 && weight + next.weight > this.options.batchTransfersMax) break;
      weight += next.weight;
      count++;
    }
    return this.queue.splice(0, count);
  }
}
