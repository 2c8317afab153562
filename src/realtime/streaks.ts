import { invariant } from "../errors.js";
import type { StoredStreak } from "./live-store.js";

/**
 * The streak rule. Sends of one gift by one viewer in one stream form a streak while each comes
 * within `windowMs` of the previous one (by `createdAt`, in commit order), and while they fall in
 * the same period of `periodMs` counted from the Unix epoch. The period bound is what lets any
 * process compute a streak from the stored gifts alone, reading at most one period back, instead
 * of walking an unbroken streak back to its start however long ago that was.
 */
export interface StreakRules {
  windowMs: number;
  periodMs: number;
}

/** A gift's place in its streak, as the feed shows it. */
export interface Streak {
  /** The id of the streak's first gift. */
  id: string;
  /** Total quantity sent in the streak so far, this gift included. */
  count: number;
  /** Sends in the streak so far, this one included. */
  sends: number;
  /** The last instant at which another send continues this streak. */
  expiresAt: number;
}

interface State {
  streakId: string;
  count: number;
  sends: number;
  lastAt: number;
}

/** Start of the period holding `at` (floored, so times before 1970 work too). */
export function periodStart(at: number, periodMs: number): number {
  return at - (((at % periodMs) + periodMs) % periodMs);
}

/** One viewer's sends of one gift. User ids never hold NUL. */
function keyOf(senderId: string, giftId: string): string {
  return `${senderId}\u0000${giftId}`;
}

/** The rule itself: the state after `gift`, given the state of its key before it. */
export function nextStreak(
  previous: Readonly<State> | undefined,
  gift: { id: string; quantity: number; createdAt: number },
  windowMs: number,
): State {
  if (previous !== undefined && Math.abs(gift.createdAt - previous.lastAt) <= windowMs) {
    return {
      streakId: previous.streakId,
      count: previous.count + gift.quantity,
      sends: previous.sends + 1,
      lastAt: gift.createdAt,
    };
  }
  return { streakId: gift.id, count: gift.quantity, sends: 1, lastAt: gift.createdAt };
}

/**
 * The running streaks of one stream, folded gift by gift in commit order. A period must be
 * loaded (from the store's fold of its earlier gifts) before its first gift is folded here; after
 * that, every later gift of the stream must pass through `fold`, in order.
 */
export class StreakBook {
  private readonly periods = new Map<number, Map<string, State>>();

  /** @param periodsKeptMax periods held at once; an evicted one is loaded again if a late gift needs it. */
  constructor(
    private readonly rules: StreakRules,
    private readonly periodsKeptMax = 3,
  ) {}

  periodOf(createdAt: number): number {
    return periodStart(createdAt, this.rules.periodMs);
  }

  has(period: number): boolean {
    return this.periods.has(period);
  }

  load(period: number, streaks: readonly StoredStreak[]): void {
    const states = new Map<string, State>();
    for (const s of streaks) {
      states.set(keyOf(s.senderId, s.giftId), {
        streakId: s.streakId,
        count: s.count,
        sends: s.sends,
        lastAt: s.lastAt,
      });
    }
    this.periods.set(period, states);
    while (this.periods.size > this.periodsKeptMax) {
      this.periods.delete(Math.min(...this.periods.keys()));
    }
  }

  fold(gift: { id: string; senderId: string; giftId: string; quantity: number; createdAt: number }): Streak {
    const period = this.periodOf(gift.createdAt);
    const states = this.periods.get(period);
    invariant(states !== undefined, `streak period ${period} is loaded before its gifts are folded`);
    const key = keyOf(gift.senderId, gift.giftId);
    const state = nextStreak(states.get(key), gift, this.rules.windowMs);
    states.set(key, state);
    return {
      id: state.streakId,
      count: state.count,
      sends: state.sends,
      expiresAt: Math.min(state.lastAt + this.rules.windowMs, period + this.rules.periodMs - 1),
    };
  }
}

/** The store's fold, written once in TypeScript: the reference the SQL adapters are tested against. */
export function foldPeriod(
  gifts: readonly { id: string; senderId: string; giftId: string; quantity: number; createdAt: number }[],
  windowMs: number,
): StoredStreak[] {
  const states = new Map<string, StoredStreak>();
  for (const gift of gifts) {
    const key = keyOf(gift.senderId, gift.giftId);
    const state = nextStreak(states.get(key), gift, windowMs);
    states.set(key, { senderId: gift.senderId, giftId: gift.giftId, ...state });
  }
  return [...states.values()];
}
