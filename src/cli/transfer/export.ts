import type { Config } from "../../config/index.js";
import { invariant } from "../../errors.js";
import { reconcile } from "../../ledger/index.js";
import { openStore } from "../runtime.js";
import { readCatalog } from "./catalog.js";
import { encodeValue } from "./column-codec.js";
import { DumpWriter } from "./dump-file.js";
import { dumpFormat, dumpVersion, headerLine, rowLine, sectionLine } from "./dump-format.js";
import { holdsProblems } from "./holds-check.js";
import { ledgerDigest } from "./ledger-digest.js";
import { transferLimits } from "./limits.js";
import { openProgress } from "./progress.js";
import { openSnapshot, type Reader } from "./snapshot.js";
import { checkExportSource } from "./source-version.js";
import { orderTables, type PortableTable, portableTable } from "./store-differences.js";
import { countRows, tablePages } from "./table-pages.js";
import { TransferError } from "./transfer-error.js";

/**
 * `giftstream export <file>`: every table of the configured database, in one consistent snapshot,
 * to a new gzipped dump (dump-format.ts). Exits 1, leaving no file, if the ledger does not
 * reconcile or anything else stops it.
 */
export async function exportCommand(config: Config, file: string): Promise<number> {
  try {
    return await exportTo(config, file);
  } catch (error) {
    if (!(error instanceof TransferError)) throw error;
    console.error(`export: ${error.message}`);
    return 1;
  }
}

async function exportTo(config: Config, file: string): Promise<number> {
  // Before anything is created: the source must exist as it is, and is not to be changed.
  await checkExportSource(config);
  // Then, so that a file already there is refused before any work.
  let writer: DumpWriter | undefined = await DumpWriter.create(file);
  const store = await openStore(config).catch(async (error: unknown) => {
    await writer?.abort();
    throw error;
  });
  try {
    // A ledger that is off would fail the import's check anyway: say so before writing anything.
    const report = await reconcile(store);
    if (!report.ok) {
      throw new TransferError(
        `the ledger does not reconcile (giftstream reconcile shows why); not exported:\n  ${report.problems.join("\n  ")}`,
      );
    }
    const snapshot = await openSnapshot(store);
    let summary: { rows: number; tables: number; digest: string };
    try {
      const { reader } = snapshot;
      const tables = orderTables((await readCatalog(reader)).map((t) => portableTable(t, reader.dialect)));
      const holds = await holdsProblems(reader);
      if (holds.length > 0) throw new TransferError(`the ledger's holds are not sound: ${holds.join("; ")}`);
      const counts = new Map<string, number>();
      for (const table of tables) counts.set(table.name, await countRows(reader, table.name));
      const digest = await ledgerDigest(reader);
      await writer.line(
        headerLine({
          format: dumpFormat,
          version: dumpVersion,
          source: { dialect: reader.dialect, schemaVersion: store.migration.version },
          exportedAt: new Date().toISOString(),
          tables: tables.map((t) => ({ name: t.name, rows: counts.get(t.name)!, columns: t.columns })),
          ledgerDigest: digest,
        }),
      );
      const total = [...counts.values()].reduce((a, b) => a + b, 0);
      const progress = openProgress("export", total);
      try {
        for (const table of tables)
          await writeTable(reader, writer, table, counts.get(table.name)!, progress);
      } finally {
        progress.stop();
      }
      await writer.finish();
      writer = undefined;
      summary = { rows: total, tables: tables.length, digest };
    } finally {
      await snapshot.close();
    }
    console.log(`exported ${summary.rows} rows of ${summary.tables} tables to ${file}`);
    console.log(`ledger digest: ${summary.digest}`);
    return 0;
  } finally {
    await writer?.abort();
    await store.close();
  }
}

async function writeTable(
  reader: Reader,
  writer: DumpWriter,
  table: PortableTable,
  rows: number,
  progress: ReturnType<typeof openProgress>,
): Promise<void> {
  progress.startTable(table.name, rows);
  await writer.line(sectionLine(table.name));
  const where = table.columns.map((c) => `${table.name}.${c.name}`);
  let written = 0;
  for await (const page of tablePages(reader, table, transferLimits)) {
    for (const row of page) {
      await writer.line(
        rowLine(row.map((value, i) => encodeValue(table.columns[i]!.type, value, where[i]!))),
      );
    }
    written += page.length;
    progress.advance(page.length);
  }
  // One snapshot: the pages hold exactly the rows counted for the header.
  invariant(written === rows, `export wrote ${written} rows of ${table.name}, counted ${rows}`);
  progress.endTable();
}
