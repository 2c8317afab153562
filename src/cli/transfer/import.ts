import type { Config } from "../../config/index.js";
import { invariant } from "../../errors.js";
import { reconcile } from "../../ledger/index.js";
import { openStore, type RuntimeStore } from "../runtime.js";
import { type CatalogTable, quoted, readCatalog } from "./catalog.js";
import { decodeValue } from "./column-codec.js";
import { dumpLines } from "./dump-file.js";
import { type DumpHeader, type DumpTable, parseHeader, parseRow, parseSection } from "./dump-format.js";
import { holdsProblems } from "./holds-check.js";
import { batchRowsMax, type InsertPlan, insertStatement } from "./insert-batches.js";
import { ledgerDigest } from "./ledger-digest.js";
import { transferLimits } from "./limits.js";
import { analyze, resetSequences, restoreClosedHolds } from "./postgres-after-import.js";
import { openProgress, type Progress } from "./progress.js";
import { importConstants, portableTable, tableDifferences } from "./store-differences.js";
import { countRows } from "./table-pages.js";
import { TransferError } from "./transfer-error.js";
import { importOwnSettingsRows, markImportFinished, markImportStarted } from "./unfinished-import.js";

/**
 * `giftstream import <file>`: loads a dump into the configured database, which must be freshly
 * migrated and empty, then proves the move: every table's row count, the ledger digest of the
 * dump against the one recomputed on the target, and a full reconciliation. Exits 1 on any
 * difference.
 *
 * It writes through `execute` only, with no ledger running: the SQLite store's account cache and
 * id counters are built when a store opens, so the store that loads is closed before the checks,
 * which run on one opened afresh, as the service that opens the database next builds its own.
 */
export async function importCommand(config: Config, file: string): Promise<number> {
  const state: ImportState = { loading: false, emptied: false };
  try {
    return await importFrom(config, file, state);
  } catch (error) {
    // A database error while loading (a value the target cannot store, a lost connection, a full
    // disk) is a failed import like any other: said as one, with what to do about the rows loaded.
    if (!(error instanceof TransferError) && !state.loading) throw error;
    console.error(`import: ${error instanceof Error ? error.message : String(error)}`);
    if (state.emptied) console.error(`import: ${emptiedNote}`);
    else if (state.loading) console.error(`import: the target holds part of the dump now: ${dropNote}`);
    return 1;
  }
}

interface ImportState {
  /** Rows may have reached the target. */
  loading: boolean;
  /** A failed import took every row out of the target again. */
  emptied: boolean;
}

const emptiedNote = "the rows it had loaded were deleted again: the target is empty, as before; import again";

const dropNote =
  "drop it (delete the SQLite file, or drop and recreate the PostgreSQL schema) before importing again";

async function importFrom(config: Config, file: string, state: ImportState): Promise<number> {
  const lines = new DumpReader(dumpLines(file, transferLimits.lineBytesMax), file);
  try {
    const header = parseHeader(await lines.next("the header"));
    // Refuses a target that an earlier import left half-loaded, saying so (not only "not empty").
    const store = await openStore(config);
    let total: number;
    // Read once: the check below empties the same tables through a store opened afresh.
    let catalog: CatalogTable[];
    try {
      catalog = await readCatalog(store);
      await checkTarget(store, catalog, header);
      const identity = new Map(
        catalog.map((t) => [t.name, t.columns.filter((c) => c.identity).map((c) => c.name)]),
      );
      total = header.tables.reduce((sum, t) => sum + t.rows, 0);
      // Before the first row: if this process dies part way, the mark stays with what it loaded.
      await markImportStarted(store, file, Date.now());
      const progress = openProgress("import", total);
      state.loading = true;
      try {
        try {
          for (const table of header.tables) {
            await loadTable(store, lines, table, identity.get(table.name) ?? [], progress);
          }
        } finally {
          progress.stop();
        }
        await lines.end();
        if (store.dialect === "postgres") {
          await restoreClosedHolds(store);
          await resetSequences(store);
          await analyze(
            store,
            header.tables.map((t) => t.name),
          );
        }
      } catch (error) {
        await emptyTarget(store, catalog, state);
        throw error;
      }
    } finally {
      await store.close();
    }
    console.log(`imported ${total} rows of ${header.tables.length} tables from ${file}`);
    // Checked through a store opened afresh, as the service will open it next (on SQLite, with its
    // account cache and id counters read from the imported rows).
    const check = await openStore(config, { unfinishedImport: "allow" });
    try {
      let code: number;
      try {
        code = await verify(check, header);
        if (code === 0) await markImportFinished(check);
      } catch (error) {
        await emptyTarget(check, catalog, state);
        throw error;
      }
      if (code !== 0) {
        await emptyTarget(check, catalog, state);
        console.log(
          `import: ${state.emptied ? emptiedNote : `the target holds the dump's rows: ${dropNote}`}`,
        );
      }
      return code;
    } finally {
      await check.close();
    }
  } finally {
    await lines.close();
  }
}

/** The target has the dump's tables and columns, and holds nothing yet. */
async function checkTarget(store: RuntimeStore, catalog: CatalogTable[], header: DumpHeader): Promise<void> {
  const differences = tableDifferences(
    header.tables,
    catalog.map((t) => portableTable(t, store.dialect)),
  );
  if (differences.length > 0) {
    throw new TransferError(
      `the dump does not fit the target database's schema (are both Giftstream versions the same?):\n  ${differences.join("\n  ")}`,
    );
  }
  const filled: string[] = [];
  for (const table of catalog) {
    if ((await store.all(`SELECT 1 AS x FROM ${quoted(table.name)} LIMIT 1`)).length > 0)
      filled.push(table.name);
  }
  if (filled.length > 0) {
    throw new TransferError(
      `the target database is not empty (rows in ${filled.join(", ")}); import loads into a freshly migrated, empty database only`,
    );
  }
}

async function loadTable(
  store: RuntimeStore,
  lines: DumpReader,
  table: DumpTable,
  identityColumns: readonly string[],
  progress: Progress,
): Promise<void> {
  progress.startTable(table.name, table.rows);
  parseSection(await lines.next(`the start of table ${table.name}`), table.name, lines.lineNumber);
  const plan: InsertPlan = {
    table: table.name,
    columns: table.columns.map((c) => c.name),
    constants: importConstants(table.name, store.dialect),
    overriding: store.dialect === "postgres" && table.columns.some((c) => identityColumns.includes(c.name)),
  };
  const rowsMax = batchRowsMax(plan.columns.length + plan.constants.length);
  let batch: unknown[][] = [];
  let batchBytes = 0;
  const flush = async () => {
    if (batch.length === 0) return;
    const changed = await store.execute([insertStatement(plan, batch)]);
    invariant(changed === batch.length, `every row of a batch of ${table.name} is inserted`);
    progress.advance(batch.length);
    batch = [];
    batchBytes = 0;
  };
  for (let i = 0; i < table.rows; i++) {
    const line = await lines.next(`row ${i + 1} of ${table.rows} of table ${table.name}`);
    const values = parseRow(line, table, lines.lineNumber);
    batch.push(
      values.map((value, j) => {
        const column = table.columns[j]!;
        return decodeValue(column.type, value, `line ${lines.lineNumber} (${table.name}.${column.name})`);
      }),
    );
    batchBytes += line.length;
    if (batch.length >= rowsMax || batchBytes >= transferLimits.insertBytesMax) await flush();
  }
  await flush();
  progress.endTable();
}

/**
 * After a failed load or check: deletes every row the import wrote, so that a half-loaded target,
 * which reconciles on what it holds, is never mistaken for a copy (or served). The target was
 * empty before the load (checkTarget), so emptying it restores it. If that fails too, the message
 * says to drop it by hand. A process killed mid-import leaves its rows, with the mark that makes
 * every command refuse them (unfinished-import.ts).
 */
async function emptyTarget(store: RuntimeStore, catalog: CatalogTable[], state: ImportState): Promise<void> {
  const names = catalog.map((t) => quoted(t.name));
  try {
    await store.execute(
      store.dialect === "postgres"
        ? [{ sql: `TRUNCATE ${names.join(", ")} RESTART IDENTITY`, params: [] }]
        : names.map((name) => ({ sql: `DELETE FROM ${name}`, params: [] })),
    );
    state.emptied = true;
  } catch {
    // Said by the caller: the target holds part of the dump, to drop by hand.
  }
}

/** Everything the move must have kept, checked on the target; prints each finding, 0 when identical. */
async function verify(store: RuntimeStore, header: DumpHeader): Promise<number> {
  const problems: string[] = [];
  for (const table of header.tables) {
    // The import's own mark is in `settings` until the checks pass, and is not the dump's.
    const own = table.name === "settings" ? importOwnSettingsRows : 0;
    const rows = (await countRows(store, table.name)) - own;
    if (rows !== table.rows) problems.push(`table ${table.name} has ${rows} rows, the dump ${table.rows}`);
  }
  problems.push(...(await holdsProblems(store)));
  const digest = await ledgerDigest(store);
  if (digest !== header.ledgerDigest) {
    problems.push(`ledger digest differs: the dump's is ${header.ledgerDigest}, the target's ${digest}`);
  }
  const report = await reconcile(store);
  console.log(`accounts checked: ${report.accounts}`);
  for (const [unit, totals] of Object.entries(report.units)) {
    console.log(`unit ${unit}: posted sums to ${totals.posted}, pending sums to ${totals.pending}`);
  }
  problems.push(...report.problems);
  for (const problem of problems) console.log(`PROBLEM ${problem}`);
  if (problems.length > 0) {
    console.log("import: FAILED; the target is not a copy of the dump");
    return 1;
  }
  console.log(`ledgers identical: ${digest}`);
  return 0;
}

/** The dump's lines with their numbers, for messages; an early end is an error that says where. */
class DumpReader {
  lineNumber = 0;

  constructor(
    private readonly lines: AsyncGenerator<string>,
    private readonly file: string,
  ) {}

  async next(expected: string): Promise<string> {
    const next = await this.lines.next();
    if (next.done) throw new TransferError(`${this.file} ends where ${expected} should be (cut off?)`);
    this.lineNumber += 1;
    return next.value;
  }

  /** After the last table: nothing may follow. */
  async end(): Promise<void> {
    const next = await this.lines.next();
    if (!next.done) throw new TransferError(`line ${this.lineNumber + 1}: more lines after the last table`);
  }

  async close(): Promise<void> {
    await this.lines.return(undefined);
  }
}
