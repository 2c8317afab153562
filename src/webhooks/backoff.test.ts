import { describe, expect, it } from "vitest";
import { backoffMs, nextAttemptAt, type RetryPolicy } from "./backoff.js";

/** The configuration defaults. */
const defaults: RetryPolicy = {
  backoffBaseMs: 10_000,
  backoffMaxMs: 3_600_000,
  retryMaxAgeMs: 259_200_000,
  attemptsMax: 200,
};

/** Attempts made, and the time of the last, for a delivery that always fails. */
function giveUp(policy: RetryPolicy, random: number) {
  let now = 0;
  let failures = 0;
  for (;;) {
    failures++;
    const next = nextAttemptAt(policy, { failures, firstAttemptAt: 0, now, random });
    if (next === null) return { attempts: failures, lastAt: now };
    expect(next).toBeGreaterThan(now);
    now = next;
  }
}

describe("webhook retry schedule", () => {
  it("doubles from the base up to the cap", () => {
    expect([1, 2, 3, 4, 9, 10, 11, 60].map((n) => backoffMs(defaults, n, 0))).toEqual([
      10_000, 20_000, 40_000, 80_000, 2_560_000, 3_600_000, 3_600_000, 3_600_000,
    ]);
  });

  it("takes off at most a quarter as jitter, in whole milliseconds", () => {
    for (const random of [0, 0.25, 0.5, 0.999999]) {
      const wait = backoffMs(defaults, 3, random);
      expect(Number.isInteger(wait)).toBe(true);
      expect(wait).toBeGreaterThanOrEqual(30_000);
      expect(wait).toBeLessThanOrEqual(40_000);
    }
    expect(backoffMs({ ...defaults, backoffBaseMs: 1, backoffMaxMs: 1 }, 5, 0.99)).toBe(1);
  });

  it("with the defaults, keeps retrying for at least 3 days before the attempt cap can stop it", () => {
    for (const random of [0, 0.5, 0.999999]) {
      const { attempts, lastAt } = giveUp(defaults, random);
      expect(lastAt).toBeGreaterThanOrEqual(defaults.retryMaxAgeMs);
      expect(attempts).toBeLessThan(defaults.attemptsMax);
      // Never much more than a wait past the age limit.
      expect(lastAt).toBeLessThanOrEqual(defaults.retryMaxAgeMs + defaults.backoffMaxMs);
    }
  });

  it("stops at attemptsMax, and at once with no retry age", () => {
    expect(giveUp({ ...defaults, attemptsMax: 3 }, 0).attempts).toBe(3);
    expect(giveUp({ ...defaults, retryMaxAgeMs: 0 }, 0).attempts).toBe(1);
  });

  it("gets a receiver back within the hour after an hour down", () => {
    let now = 0;
    let failures = 0;
    while (now < 3_600_000) {
      failures++;
      now = nextAttemptAt(defaults, { failures, firstAttemptAt: 0, now, random: 0 })!;
    }
    expect(now - 3_600_000).toBeLessThan(3_600_000);
    expect(failures).toBe(9);
  });
});
