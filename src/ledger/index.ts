export { balanceOf } from "./balance.js";
export { Ledger, type LedgerOptions } from "./ledger.js";
export { type ReconcileReport, reconcile } from "./reconcile.js";
export type { LedgerStore, LedgerWriteTx } from "./store.js";
export * from "./types.js";
