import type { LedgerStore } from "./store.js";

export interface ReconcileReport {
  ok: boolean;
  accounts: number;
  /** Per unit, net posted and net pending over all accounts; both are zero in a sound ledger. */
  units: Record<string, { posted: bigint; pending: bigint }>;
  problems: string[];
}

const problemsMax = 100;

/**
 * The full check: every unit sums to zero over all accounts, and every account's running totals
 * equal the sums of its entries. It reads everything, so it runs in `giftstream reconcile` and
 * in tests, never on the request path.
 */
export async function reconcile(store: LedgerStore): Promise<ReconcileReport> {
  const units: ReconcileReport["units"] = {};
  const problems: string[] = [];
  let accounts = 0;
  const note = (problem: string): void => {
    if (problems.length < problemsMax) problems.push(problem);
  };
  for await (const { account, fromEntries } of store.reconcileRows()) {
    accounts++;
    const totals = units[account.unit] ?? { posted: 0n, pending: 0n };
    units[account.unit] = totals;
    totals.posted += account.creditsPosted - account.debitsPosted;
    totals.pending += account.creditsPending - account.debitsPending;
    for (const field of ["debitsPosted", "creditsPosted", "debitsPending", "creditsPending"] as const) {
      if (account[field] !== fromEntries[field]) {
        note(
          `account ${account.id}: ${field} is ${account[field]} but its entries sum to ${fromEntries[field]}`,
        );
      }
    }
  }
  for (const [unit, { posted, pending }] of Object.entries(units)) {
    if (posted !== 0n) note(`unit ${unit}: posted balances sum to ${posted}, not 0`);
    if (pending !== 0n) note(`unit ${unit}: pending balances sum to ${pending}, not 0`);
  }
  return { ok: problems.length === 0, accounts, units, problems };
}
