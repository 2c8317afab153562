/** How a failed delivery is retried. Times are milliseconds. */
export interface RetryPolicy {
  backoffBaseMs: number;
  backoffMaxMs: number;
  /** A delivery keeps being retried at least this long after its first attempt… */
  retryMaxAgeMs: number;
  /** …and at most this many attempts (since it was last queued). */
  attemptsMax: number;
}

/**
 * The wait before the next attempt, after `failures` failed ones (≥ 1): base × 2^(failures − 1),
 * capped at the maximum, then shortened by up to a quarter at random so that deliveries failed
 * together (a receiver that was down) do not all come back at once. `random` is in [0, 1).
 */
export function backoffMs(policy: RetryPolicy, failures: number, random: number): number {
  const exponent = Math.min(failures - 1, 40);
  const full = Math.min(policy.backoffMaxMs, policy.backoffBaseMs * 2 ** exponent);
  return Math.max(1, Math.floor(full - (full * random) / 4));
}

/**
 * When to try again after a failure at `now`, or null to give up: after `attemptsMax` attempts, or
 * once a failure happens `retryMaxAgeMs` or more after the first attempt.
 */
export function nextAttemptAt(
  policy: RetryPolicy,
  o: { failures: number; firstAttemptAt: number; now: number; random: number },
): number | null {
  if (o.failures >= policy.attemptsMax) return null;
  if (o.now - o.firstAttemptAt >= policy.retryMaxAgeMs) return null;
  return o.now + backoffMs(policy, o.failures, o.random);
}
