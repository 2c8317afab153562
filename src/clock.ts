import { GiftstreamError } from "./errors.js";

/**
 * The service clock. Every time-based rule (prices and versions in force, maturation, refund
 * windows, daily limits, hold expiry) reads it, never `Date.now()` directly, so that test mode can
 * move time for all of them at once.
 */
export class ServiceClock {
  private frozenAt: number | null = null;

  constructor(private readonly source: () => number = Date.now) {}

  readonly now = (): number => this.frozenAt ?? this.source();

  get isFrozen(): boolean {
    return this.frozenAt !== null;
  }

  /** Test mode only: freezes the clock at `ms`. Time only moves forward, as it does for ledgers. */
  set(ms: number): void {
    if (!Number.isSafeInteger(ms))
      throw new GiftstreamError("invalid_request", "time must be an integer of ms");
    if (ms < this.now()) {
      throw new GiftstreamError("invalid_request", "the test clock only moves forward");
    }
    this.frozenAt = ms;
  }

  /**
   * Test mode, several processes: freezes this clock where another process set its own. A frozen
   * clock never moves back; one that was running takes `ms` as it is, as the others did.
   */
  follow(ms: number): void {
    if (this.frozenAt === null || ms > this.frozenAt) this.frozenAt = ms;
  }
}
