/**
 * Payout reconciliation, the pure part: our cash-outs past `approved` against what each rail says it
 * holds (`PayoutRail.records`), every difference listed. No I/O; payout-reconciler.ts gathers both
 * sides.
 */
import type { PayoutState, RailRecord } from "../../providers/payouts/rail.js";

/** A cash-out as reconciliation sees it: one the job has handed to its rail. */
export interface OurPayout {
  cashoutId: string;
  rail: string;
  status: "processing" | "paid" | "failed" | "returned";
  currency: string;
  netMinor: bigint;
}

/** What one rail answered: its records, or why there are none to compare with. */
export type RailAnswer =
  | { rail: string; records: readonly RailRecord[] }
  | { rail: string; unavailable: string }
  | { rail: string; withoutRecords: true }
  | { rail: string; notConfigured: true };

export const payoutDifferenceKinds = [
  /** We handed the cash-out to the rail (processing, paid or returned); the rail has no record of it. */
  "missing_at_rail",
  /** The rail holds a payout for a cash-out id we do not have past `approved`. */
  "unknown_to_us",
  /** The rail holds a payout for one of our cash-outs that another rail carries. */
  "wrong_rail",
  /** The rail holds more than one payout for one cash-out: paid twice. */
  "duplicate_at_rail",
  "status_mismatch",
  "amount_mismatch",
  "currency_mismatch",
  /** Cash-outs ride a rail that is not configured here any more: nothing can be compared. */
  "rail_not_configured",
  /** The rail cannot list what it holds (`records` not implemented). */
  "rail_without_records",
  /** The rail's records could not be read now (the provider down, a timeout). */
  "rail_unavailable",
] as const;
export type PayoutDifferenceKind = (typeof payoutDifferenceKinds)[number];

export interface PayoutSide {
  status: string;
  currency: string;
  netMinor: bigint;
}

export interface PayoutDifference {
  kind: PayoutDifferenceKind;
  rail: string;
  /** Null for a difference about a whole rail. */
  cashoutId: string | null;
  ours: PayoutSide | null;
  atRail: PayoutSide | null;
  detail: string;
}

export interface PayoutComparison {
  ok: boolean;
  cashoutsChecked: number;
  railRecordsChecked: number;
  differences: PayoutDifference[];
}

/**
 * Which rail statuses agree with ours. A rail's `returned` agrees with our `failed`: money that came
 * back before we saw it paid was never booked paid (Cashouts.settle), and either way nothing is
 * with the creator and the diamonds are back.
 */
const agreeing: Record<OurPayout["status"], readonly PayoutState["status"][]> = {
  processing: ["processing"],
  paid: ["paid"],
  failed: ["failed", "returned"],
  returned: ["returned"],
};

/**
 * Every difference between our cash-outs and the rails' records. A `failed` cash-out the rail has
 * no record of is no difference: a refusal leaves nothing at the rail, and nothing was paid. A
 * rail that cannot be compared is one difference for the whole rail, and its cash-outs are not
 * listed one by one.
 */
export function comparePayouts(ours: readonly OurPayout[], answers: readonly RailAnswer[]): PayoutComparison {
  const differences: PayoutDifference[] = [];
  const byId = new Map(ours.map((payout) => [payout.cashoutId, payout]));
  const ourByRail = new Map<string, OurPayout[]>();
  for (const payout of ours) {
    const list = ourByRail.get(payout.rail) ?? [];
    list.push(payout);
    ourByRail.set(payout.rail, list);
  }
  let railRecordsChecked = 0;
  for (const answer of answers) {
    const mine = ourByRail.get(answer.rail) ?? [];
    if (!("records" in answer)) {
      const cannot = railProblem(answer, mine.length);
      if (cannot !== null) differences.push(cannot);
      continue;
    }
    railRecordsChecked += answer.records.length;
    const seen = new Map<string, RailRecord>();
    for (const record of answer.records) {
      const earlier = seen.get(record.cashoutId);
      if (earlier !== undefined) {
        differences.push(
          difference(
            "duplicate_at_rail",
            answer.rail,
            byId.get(record.cashoutId) ?? null,
            record,
            "the rail holds two payouts for one cash-out",
          ),
        );
        continue;
      }
      seen.set(record.cashoutId, record);
      const payout = byId.get(record.cashoutId);
      if (payout === undefined) {
        differences.push(
          difference(
            "unknown_to_us",
            answer.rail,
            null,
            record,
            "no cash-out of ours past approved has this id",
          ),
        );
      } else if (payout.rail !== answer.rail) {
        differences.push(
          difference("wrong_rail", answer.rail, payout, record, `the cash-out rides the ${payout.rail} rail`),
        );
      } else {
        differences.push(...compareOne(payout, record));
      }
    }
    for (const payout of mine) {
      if (seen.has(payout.cashoutId) || payout.status === "failed") continue;
      differences.push(
        difference(
          "missing_at_rail",
          answer.rail,
          payout,
          null,
          `the rail has no record of a ${payout.status} cash-out`,
        ),
      );
    }
  }
  return { ok: differences.length === 0, cashoutsChecked: ours.length, railRecordsChecked, differences };
}

function compareOne(payout: OurPayout, record: RailRecord): PayoutDifference[] {
  const found: PayoutDifference[] = [];
  if (!agreeing[payout.status].includes(record.state.status)) {
    found.push(
      difference(
        "status_mismatch",
        payout.rail,
        payout,
        record,
        `ours is ${payout.status}, the rail's ${record.state.status}`,
      ),
    );
  }
  if (record.currency !== payout.currency) {
    found.push(
      difference(
        "currency_mismatch",
        payout.rail,
        payout,
        record,
        `ours pays ${payout.currency}, the rail ${record.currency}`,
      ),
    );
  } else if (record.netMinor !== payout.netMinor) {
    found.push(
      difference(
        "amount_mismatch",
        payout.rail,
        payout,
        record,
        `ours pays ${payout.netMinor}, the rail ${record.netMinor}`,
      ),
    );
  }
  return found;
}

function railProblem(
  answer: Exclude<RailAnswer, { records: readonly RailRecord[] }>,
  count: number,
): PayoutDifference | null {
  const rail = answer.rail;
  if ("unavailable" in answer) {
    return {
      kind: "rail_unavailable",
      rail,
      cashoutId: null,
      ours: null,
      atRail: null,
      detail: answer.unavailable,
    };
  }
  // A rail nobody used in the window has nothing to disagree about.
  if (count === 0) return null;
  if ("notConfigured" in answer) {
    return {
      kind: "rail_not_configured",
      rail,
      cashoutId: null,
      ours: null,
      atRail: null,
      detail: `${count} cash-outs ride a rail that is not configured`,
    };
  }
  return {
    kind: "rail_without_records",
    rail,
    cashoutId: null,
    ours: null,
    atRail: null,
    detail: `${count} cash-outs ride a rail that lists no records`,
  };
}

function difference(
  kind: PayoutDifferenceKind,
  rail: string,
  payout: OurPayout | null,
  record: RailRecord | null,
  detail: string,
): PayoutDifference {
  return {
    kind,
    rail,
    cashoutId: payout?.cashoutId ?? record?.cashoutId ?? null,
    ours:
      payout === null
        ? null
        : { status: payout.status, currency: payout.currency, netMinor: payout.netMinor },
    atRail:
      record === null
        ? null
        : { status: record.state.status, currency: record.currency, netMinor: record.netMinor },
    detail,
  };
}
