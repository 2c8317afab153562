import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { SqliteStore } from "../store/sqlite/sqlite-store.js";
import { Ledger, type LedgerOptions } from "./ledger.js";

/** A settable clock for tests: every time-based rule reads it. */
export class TestClock {
  constructor(public nowMs = Date.UTC(2026, 0, 1)) {}
  readonly now = (): number => this.nowMs;
  advance(ms: number): void {
    this.nowMs += ms;
  }
}

export interface TestLedger {
  ledger: Ledger;
  store: SqliteStore;
  clock: TestClock;
  dir: string;
  path: string;
  /** Closes the ledger and store and deletes the files. */
  dispose(): Promise<void>;
}

export const testLedgerDefaults = {
  amountMax: 10n ** 15n,
  requestTransfersMax: 8192,
  batchTransfersMax: 4096,
  batchWaitMs: 0,
  queueRequestsMax: 100_000,
  historyPageMax: 1000,
} as const;

/** A ledger on a real SQLite file in a fresh temporary directory. */
export function openTestLedger(options: Partial<Omit<LedgerOptions, "store" | "clock">> = {}): TestLedger {
  const dir = mkdtempSync(join(tmpdir(), "giftstream-test-"));
  const path = join(dir, "ledger.db");
  const store = new SqliteStore({ path });
  const clock = new TestClock();
  const ledger = new Ledger({
    ...testLedgerDefaults,
    ...options,
    store,
    clock: clock.now,
    onInvariantViolation: (error) => {
      throw error;
    },
  });
  return {
    ledger,
    store,
    clock,
    dir,
    path,
    async dispose() {
      await ledger.close();
      await store.close();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}
