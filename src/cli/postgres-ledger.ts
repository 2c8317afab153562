import { type Config, databaseLocation } from "../config/index.js";
import { type ReconcileReport, reconcile } from "../ledger/index.js";
import { PostgresLedgerStore } from "../store/postgres/postgres-ledger-store.js";

/**
 * The commands that work on PostgreSQL in this version, which has the ledger store only there:
 * `migrate` (the ledger's tables) and `reconcile` (the full check of the ledger).
 */
export async function migratePostgresLedger(url: string): Promise<string> {
  const store = await PostgresLedgerStore.open({ url, connectionsMax: 1 });
  try {
    const { applied, version } = store.migration;
    return applied.length === 0
      ? `schema is up to date at version ${version} (PostgreSQL: ledger tables)`
      : `migrated to version ${version} (PostgreSQL: ledger tables)`;
  } finally {
    await store.close();
  }
}

export async function reconcilePostgresLedger(url: string): Promise<ReconcileReport> {
  const store = await PostgresLedgerStore.open({ url, connectionsMax: 2 });
  try {
    return await reconcile(store);
  } finally {
    await store.close();
  }
}

/** The PostgreSQL URL the configuration names, if it names one. */
export function postgresUrlOf(config: Config): string | undefined {
  const location = databaseLocation(config);
  return location.kind === "postgres" ? location.url : undefined;
}

/** `giftstream reconcile` on PostgreSQL: the same lines as on SQLite, less SQLite's file check. */
export async function reconcilePostgresCommand(url: string): Promise<number> {
  const report = await reconcilePostgresLedger(url);
  console.log(`accounts checked: ${report.accounts}`);
  for (const [unit, totals] of Object.entries(report.units)) {
    console.log(`unit ${unit}: posted sums to ${totals.posted}, pending sums to ${totals.pending}`);
  }
  for (const problem of report.problems) console.log(`PROBLEM ${problem}`);
  console.log(report.ok ? "reconcile: ok" : "reconcile: FAILED");
  return report.ok ? 0 : 1;
}
