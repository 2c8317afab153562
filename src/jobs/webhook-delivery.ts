import type { Logger } from "pino";
import { nextAttemptAt, type RetryPolicy } from "../webhooks/backoff.js";
import { deliveryIdOf } from "../webhooks/endpoints.js";
import { signatureFor } from "../webhooks/signature.js";
import type { AttemptOutcome, DueDelivery, WebhookStore } from "../webhooks/webhook-store.js";

export interface WebhookDeliveryOptions extends RetryPolicy {
  store: WebhookStore;
  /** The service clock: when deliveries are due, and when attempts happened. */
  clock: () => number;
  logger: Logger;
  timeoutMs: number;
  concurrencyMax: number;
  /** Seconds since the epoch for signatures: real time, which receivers check against theirs. */
  unixSeconds?: () => number;
  /** In [0, 1), for the backoff's jitter. */
  random?: () => number;
}

/** Rounds of due deliveries one run works through before it lets other jobs have a turn. */
const roundsPerRunMax = 100;
/** Deliveries claimed per round, per unit of concurrency. */
const claimPerWorker = 4;
/** Longest error text kept in the delivery log. */
const errorLengthMax = 500;

export const userAgent = "Giftstream-Webhooks/1";

/**
 * The webhook delivery job: POSTs each due delivery to its endpoint, signed, with a timeout, and
 * logs the attempt. A 2xx delivers it; anything else (another status, a redirect, a refused or
 * timed-out connection) schedules a retry with exponential backoff, until the retry limits give up.
 *
 * Deliveries are at least once: a receiver that processed an event but whose answer was lost gets
 * it again, with the same event id. Runs never overlap (each waits for the one before), so one
 * delivery is never in flight twice from this process.
 */
export class WebhookDelivery {
  private chain: Promise<unknown> = Promise.resolve();
  private stopping = false;
  private readonly aborts = new Set<AbortController>();
  private readonly unixSeconds: () => number;
  private readonly random: () => number;

  constructor(private readonly o: WebhookDeliveryOptions) {
    this.unixSeconds = o.unixSeconds ?? (() => Math.floor(Date.now() / 1000));
    this.random = o.random ?? Math.random;
  }

  /** Delivers what is due now, round after round while rounds find work; returns the attempts made. */
  deliverDue(): Promise<number> {
    const run = this.chain.then(() => this.run());
    this.chain = run.catch(() => undefined);
    return run;
  }

  /**
   * Stops taking deliveries and aborts the requests in flight; those attempts are not logged and the
   * deliveries stay due, so the next start sends them again. Resolves once the current run is over.
   */
  async stop(): Promise<void> {
    this.stopping = true;
    for (const abort of this.aborts) abort.abort();
    await this.chain;
  }

  private async run(): Promise<number> {
    let attempts = 0;
    const claim = this.o.concurrencyMax * claimPerWorker;
    for (let round = 0; round < roundsPerRunMax && !this.stopping; round++) {
      const due = await this.o.store.listDue(this.o.clock(), claim);
      if (due.length === 0) break;
      const outcomes = await inParallel(due, this.o.concurrencyMax, (d) => this.attempt(d));
      const made = outcomes.filter((o): o is AttemptOutcome => o !== null);
      await this.o.store.recordAttempts(made);
      attempts += made.length;
      if (made.length < due.length) break;
    }
    return attempts;
  }

  /** One POST; null when it was aborted by `stop`, so that nothing is recorded for it. */
  private async attempt(d: DueDelivery): Promise<AttemptOutcome | null> {
    if (this.stopping) return null;
    const at = this.o.clock();
    const abort = new AbortController();
    this.aborts.add(abort);
    const started = Date.now();
    let statusCode: number | null = null;
    let error: string | null = null;
    try {
      const response = await fetch(d.url, {
        method: "POST",
        headers: {
          "content-type": "application/json",
          "user-agent": userAgent,
          "giftstream-signature": signatureFor(d.secret, this.unixSeconds(), d.body),
          "giftstream-event-id": d.eventId,
          "giftstream-event-type": d.eventType,
          "giftstream-delivery-id": deliveryIdOf(d.id),
          "giftstream-attempt": String(d.attemptCount + 1),
        },
        body: d.body,
        // A redirect is a failure, as with most webhook senders: the body is not re-posted elsewhere.
        redirect: "manual",
        signal: AbortSignal.any([abort.signal, AbortSignal.timeout(this.o.timeoutMs)]),
      });
      statusCode = response.status;
      // Only the status matters; the body is never read, so a receiver cannot make us buffer it.
      await response.body?.cancel().catch(() => undefined);
      if (statusCode < 200 || statusCode > 299) error = `HTTP ${statusCode}`;
    } catch (caught) {
      if (this.stopping && abort.signal.aborted) return null;
      error = describe(caught, this.o.timeoutMs);
    } finally {
      this.aborts.delete(abort);
    }
    const durationMs = Math.max(0, Date.now() - started);
    const windowFrom = d.windowFrom ?? at;
    const attempt = { at, statusCode, error, durationMs };
    if (error === null) {
      return {
        deliveryId: d.id,
        attempt,
        status: "delivered",
        nextAttemptAt: null,
        windowFrom,
        requeues: d.requeues,
      };
    }
    const next = nextAttemptAt(this.o, {
      failures: d.windowAttempts + 1,
      firstAttemptAt: windowFrom,
      now: at,
      random: this.random(),
    });
    if (next === null) {
      this.o.logger.warn(
        { alert: "webhook_delivery_failed", deliveryId: deliveryIdOf(d.id), endpointId: d.endpointId, error },
        "webhook delivery given up after its retries; redeliver it once the endpoint works",
      );
    }
    return {
      deliveryId: d.id,
      attempt,
      status: next === null ? "failed" : "pending",
      nextAttemptAt: next,
      windowFrom,
      requeues: d.requeues,
    };
  }
}

/** Why a request failed, in a line: the network error's code where there is one. */
function describe(caught: unknown, timeoutMs: number): string {
  if (caught instanceof Error && (caught.name === "TimeoutError" || caught.name === "AbortError")) {
    return `timed out after ${timeoutMs} ms`;
  }
  const cause =
    caught instanceof Error ? (caught.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  const text =
    typeof cause?.code === "string"
      ? `${cause.code}${typeof cause.message === "string" ? `: ${cause.message}` : ""}`
      : caught instanceof Error
        ? caught.message
        : String(caught);
  return text.slice(0, errorLengthMax);
}

/** Maps `items` through `work`, at most `limit` at a time, keeping their order. */
async function inParallel<T, R>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<R>,
): Promise<R[]> {
  const results = new Array<R>(items.length);
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const index = next++;
      results[index] = await work(items[index]!);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
  return results;
}
