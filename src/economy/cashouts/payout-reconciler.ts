import { GiftstreamError } from "../../errors.js";
import type { PayoutRail, RailRecord } from "../../providers/payouts/rail.js";
import type { Cashout, CashoutStore, PageStart } from "./cashout.js";
import {
  comparePayouts,
  type OurPayout,
  type PayoutComparison,
  type RailAnswer,
} from "./reconcile-payouts.js";

/** The statuses a cash-out has once the job handed it to its rail. */
export const handedToRail = ["processing", "paid", "failed", "returned"] as const;

const pageSize = 500;

export interface PayoutReconciliation extends PayoutComparison {
  sinceMs: number;
}

/**
 * `giftstream reconcile payouts` and `GET /v1/admin/reconciliation/payouts`: every cash-out created
 * since `sinceMs` that reached its rail, against each rail's `records(sinceMs)`. A rail record of a
 * cash-out created before the window (handed to its rail after a long review) is looked up by id,
 * so it is compared rather than called unknown. At most `cashoutsMax` cash-outs are compared;
 * more is `reconciliation_too_large`.
 */
export async function reconcilePayouts(o: {
  store: Pick<CashoutStore, "get" | "listByStatus">;
  rails: ReadonlyMap<string, PayoutRail>;
  sinceMs: number;
  cashoutsMax: number;
}): Promise<PayoutReconciliation> {
  const ours = new Map<string, OurPayout>();
  for (const status of handedToRail) {
    let before: PageStart | null = null;
    for (;;) {
      const page = await o.store.listByStatus(status, before, pageSize);
      const inWindow = page.filter((c) => c.createdAt >= o.sinceMs);
      for (const c of inWindow) {
        if (ours.size >= o.cashoutsMax) {
          throw new GiftstreamError(
            "reconciliation_too_large",
            `more than ${o.cashoutsMax} cash-outs since ${new Date(o.sinceMs).toISOString()}; ask for a later since`,
          );
        }
        ours.set(c.id, ourPayout(c));
      }
      const last = page.at(-1);
      // Pages are newest first: one that reaches before the window ends the walk.
      if (last === undefined || page.length < pageSize || inWindow.length < page.length) break;
      before = { createdAt: last.createdAt, id: last.id };
    }
  }
  const railNames = new Set([...o.rails.keys(), ...[...ours.values()].map((p) => p.rail)]);
  const answers: RailAnswer[] = [];
  for (const rail of [...railNames].sort()) answers.push(await answerOf(rail, o.rails.get(rail), o.sinceMs));
  for (const answer of answers) {
    if (!("records" in answer)) continue;
    for (const record of answer.records) {
      if (ours.has(record.cashoutId)) continue;
      const found = await o.store.get(record.cashoutId);
      if (found !== undefined && (handedToRail as readonly string[]).includes(found.status)) {
        ours.set(found.id, ourPayout(found));
      }
    }
  }
  return { sinceMs: o.sinceMs, ...comparePayouts([...ours.values()], answers) };
}

async function answerOf(name: string, rail: PayoutRail | undefined, sinceMs: number): Promise<RailAnswer> {
  if (rail === undefined) return { rail: name, notConfigured: true };
  if (rail.records === undefined) return { rail: name, withoutRecords: true };
  let records: RailRecord[];
  try {
    records = await rail.records(sinceMs);
  } catch (error) {
    return { rail: name, unavailable: `the rail's records could not be read: ${(error as Error).message}` };
  }
  return { rail: name, records };
}

function ourPayout(c: Cashout): OurPayout {
  return {
    cashoutId: c.id,
    rail: c.rail,
    status: c.status as OurPayout["status"],
    currency: c.currency,
    netMinor: c.netMinor,
  };
}
