import type { PayoutState } from "../../providers/payouts/rail.js";
import type { Cashouts } from "./cashouts.js";

/** What a rail's webhook said of one cash-out, with the amount it moved when it says one. */
export interface RailReport {
  cashoutId: string;
  state: PayoutState;
  currency?: string;
  netMinor?: bigint;
  /** The rail's id of what it moved, when it names one: it must be the cash-out's, once known. */
  railRef?: string;
}

/** A rail reported an amount or currency other than the cash-out's: stopped, never applied. */
export class RailReportMismatchError extends Error {
  constructor(message: string) {
    super(message);
    this.name = "RailReportMismatchError";
  }
}

/**
 * Applies a rail's webhook report to its cash-out, under the cash-out's lock and as idempotently as
 * a poll (a replayed event changes nothing). A cash-out that does not exist, or that another rail
 * carries, is not this rail's to settle: ignored. Pair check: the amount the rail moved is the
 * cash-out's net, in its currency; otherwise it throws, the provider delivers it again, and
 * reconciliation reports the difference.
 */
export async function applyRailReport(
  cashouts: Pick<Cashouts, "get" | "settleById">,
  railName: string,
  report: RailReport,
): Promise<"applied" | "ignored"> {
  const cashout = await cashouts.get(report.cashoutId);
  if (cashout === undefined || cashout.rail !== railName) return "ignored";
  if (
    (report.currency !== undefined &&
      (report.currency !== cashout.currency || report.netMinor !== cashout.netMinor)) ||
    (report.railRef !== undefined && cashout.railRef !== null && report.railRef !== cashout.railRef)
  ) {
    throw new RailReportMismatchError(
      `${railName} reports ${report.netMinor} ${report.currency} (${report.railRef ?? "no ref"}) for cash-out ${cashout.id}, which pays ${cashout.netMinor} ${cashout.currency} (${cashout.railRef ?? "no ref yet"})`,
    );
  }
  await cashouts.settleById(cashout.id, report.state);
  return "applied";
}
