import type { TransferInput } from "../../ledger/types.js";
import { cashoutAccounts, creatorAccounts } from "../accounts.js";
import type { Cashout } from "./cashout.js";

/**
 * The transfers of each cash-out step (docs/ledger.md, "Cash-out"). Pure: the service submits
 * them with the step's status change as one ledger request.
 */

/** Paid: the holds post; the gross splits into commission and net, and the net leaves by the rail. */
export function paidTransfers(c: Cashout): TransferInput[] {
  const meta = { cashoutId: c.id };
  const cur = c.currency;
  const transfers: TransferInput[] = [
    { type: "post_pending", pendingId: c.holdTransferId, kind: "cashout_paid", metadata: meta },
    { type: "post_pending", pendingId: c.limitTransferId, kind: "cashout_paid", metadata: meta },
  ];
  if (c.commissionMinor > 0n) {
    transfers.push({
      debitAccountId: cashoutAccounts.redemptions(cur).id,
      creditAccountId: cashoutAccounts.commission(cur).id,
      amount: c.commissionMinor,
      kind: "cashout_commission",
      metadata: meta,
    });
  }
  transfers.push(
    {
      debitAccountId: cashoutAccounts.redemptions(cur).id,
      creditAccountId: cashoutAccounts.clearing(cur).id,
      amount: c.netMinor,
      kind: "cashout_net",
      metadata: meta,
    },
    {
      debitAccountId: cashoutAccounts.clearing(cur).id,
      creditAccountId: cashoutAccounts.paidOut(cur, c.rail).id,
      amount: c.netMinor,
      kind: "cashout_payout",
      metadata: meta,
    },
  );
  return transfers;
}

/** Failed, cancelled or rejected: both holds are voided, and nothing else ever moved. */
export function releaseTransfers(c: Cashout, kind: string): TransferInput[] {
  const meta = { cashoutId: c.id };
  return [
    { type: "void_pending", pendingId: c.holdTransferId, kind, metadata: meta },
    { type: "void_pending", pendingId: c.limitTransferId, kind, metadata: meta },
  ];
}

/**
 * Returned after paying: correcting transfers undo the paid ones, and the diamonds come back to
 * withdrawable. The day's allowance stays used: that day is over, or nearly.
 */
export function returnedTransfers(c: Cashout): TransferInput[] {
  const meta = { cashoutId: c.id };
  const cur = c.currency;
  const transfers: TransferInput[] = [
    {
      debitAccountId: cashoutAccounts.paidOut(cur, c.rail).id,
      creditAccountId: cashoutAccounts.clearing(cur).id,
      amount: c.netMinor,
      kind: "cashout_returned",
      metadata: meta,
    },
    {
      debitAccountId: cashoutAccounts.clearing(cur).id,
      creditAccountId: cashoutAccounts.redemptions(cur).id,
      amount: c.netMinor,
      kind: "cashout_returned",
      metadata: meta,
    },
  ];
  if (c.commissionMinor > 0n) {
    transfers.push({
      debitAccountId: cashoutAccounts.commission(cur).id,
      creditAccountId: cashoutAccounts.redemptions(cur).id,
      amount: c.commissionMinor,
      kind: "cashout_returned",
      metadata: meta,
    });
  }
  transfers.push({
    debitAccountId: cashoutAccounts.diamondsCashedOut.id,
    creditAccountId: creatorAccounts.withdrawableDiamonds(c.userId).id,
    amount: c.diamonds,
    kind: "cashout_returned",
    metadata: meta,
  });
  return transfers;
}

/** The platform accounts a paid or returned cash-out needs, created on first use. */
export function moneyAccounts(c: Cashout) {
  return [
    cashoutAccounts.redemptions(c.currency),
    cashoutAccounts.commission(c.currency),
    cashoutAccounts.clearing(c.currency),
    cashoutAccounts.paidOut(c.currency, c.rail),
  ];
}
