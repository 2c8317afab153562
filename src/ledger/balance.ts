import type { AccountState, Balance } from "./types.js";

/** The balance views callers read, derived from the four running totals and never stored. */
export function balanceOf(account: AccountState): Balance {
  const posted = account.creditsPosted - account.debitsPosted;
  return {
    accountId: account.id,
    unit: account.unit,
    debitsPosted: account.debitsPosted,
    creditsPosted: account.creditsPosted,
    debitsPending: account.debitsPending,
    creditsPending: account.creditsPending,
    posted,
    pending: account.creditsPending - account.debitsPending,
    // Pending debits are promised away already, so they count against what is available.
    available: posted - account.debitsPending,
  };
}
