import { createHash } from "node:crypto";
import type { Sealer } from "../../../crypto/sealed.js";
import type { Cashout } from "../../../economy/cashouts/cashout.js";
import type { Cashouts } from "../../../economy/cashouts/cashouts.js";
import { KeyedLock, type KeyedLocks } from "../../../economy/cashouts/keyed-lock.js";
import { GiftstreamError } from "../../../errors.js";
import { fileSealContext } from "./file-rail.js";
import {
  type FilePageStart,
  lineRef,
  type PayoutFile,
  type PayoutFileLine,
  type PayoutFileStore,
} from "./payout-file.js";
import { type CsvProblem, parseReturnsCsv } from "./returns-csv.js";

export interface PayoutFilesOptions {
  store: PayoutFileStore;
  sealer: Sealer;
  /** The cash-outs a line settles; only `settleById` and `get` are used. */
  cashouts: Pick<Cashouts, "settleById" | "get">;
  clock: () => number;
  audit(actor: string, action: string, target: string, before: unknown, after: unknown): Promise<void>;
  /** Most lines one file holds (`payouts.files.ordersPerFileMax`): bounds a returns CSV's rows. */
  linesPerFileMax: number;
  /** How many cash-outs a returns upload settles at once; the ledger batches them together. */
  settleConcurrency?: number;
  /** Locks per file; shared by every process on the database (Coordination). */
  locks?: (scope: string) => KeyedLocks;
}

export type UnlistedLines = "pending" | "paid";

export interface ReturnsSummary {
  paid: number;
  returned: number;
  unchanged: number;
}

/** Most problems a refused returns CSV lists; the rest are counted. */
const problemsListedMax = 100;

/**
 * The admin side of bank files: read them, download them, and record what the bank did with each
 * line, one by one or from a returns CSV. Each change is written to the line first, then the
 * cash-out is settled through `Cashouts.settleById` (paid; failed when a line is returned before it
 * was paid, since the money never left; returned after). Both steps are idempotent, so repeating an
 * action finishes one that a crash interrupted, and the rail's `status` answers from the lines, so
 * the cash-out job settles what was marked too.
 */
export class PayoutFiles {
  /** One action at a time per file: a CSV upload and a single mark never interleave. */
  private readonly fileLock: KeyedLocks;

  constructor(private readonly o: PayoutFilesOptions) {
    this.fileLock = o.locks?.("payout_file") ?? new KeyedLock();
  }

  list(rail: string | null, before: FilePageStart | null, limit: number): Promise<PayoutFile[]> {
    return this.o.store.list(rail, before, limit);
  }

  lineCounts(id: string) {
    return this.o.store.lineCounts(id);
  }

  async mustGet(id: string): Promise<PayoutFile> {
    const file = await this.o.store.get(id);
    if (!file) throw new GiftstreamError("not_found", `no payout file ${id}`);
    return file;
  }

  /** The exact bytes written, unsealed; reading them is audited, as they hold account numbers. */
  async download(id: string, actor: string): Promise<{ file: PayoutFile; content: Buffer }> {
    const file = await this.mustGet(id);
    const sealed = await this.o.store.sealedContent(id);
    if (!sealed) throw new GiftstreamError("not_found", `no payout file ${id}`);
    const content = this.o.sealer.open(sealed, fileSealContext(id));
    if (createHash("sha256").update(content).digest("hex") !== file.sha256) {
      throw new Error(`payout file ${id} does not match its recorded SHA-256`);
    }
    await this.o.audit(actor, "payout_file.download", id, null, { sha256: file.sha256 });
    return { file, content };
  }

  async lines(
    id: string,
    afterPosition: number,
    limit: number,
  ): Promise<{ file: PayoutFile; lines: PayoutFileLine[] }> {
    const file = await this.mustGet(id);
    return { file, lines: await this.o.store.lines(id, afterPosition, limit) };
  }

  /** The cash-outs of lines, for showing each line's cash-out status beside it. */
  async cashoutsOf(lines: readonly PayoutFileLine[]): Promise<Map<string, Cashout>> {
    const found = new Map<string, Cashout>();
    for (const line of lines) {
      const cashout = await this.o.cashouts.get(line.cashoutId);
      if (cashout) found.set(line.cashoutId, cashout);
    }
    return found;
  }

  async markPaid(fileId: string, cashoutId: string, actor: string): Promise<PayoutFileLine> {
    return this.fileLock.run(fileId, async () => {
      const before = await this.lineOf(fileId, cashoutId);
      if (before.status === "returned") {
        throw new GiftstreamError(
          "payout_line_state_conflict",
          `line ${before.reference} of ${fileId} is returned; it cannot become paid`,
        );
      }
      const after = await this.paid(before);
      await this.o.audit(
        actor,
        "payout_file.line_paid",
        `${fileId}/${cashoutId}`,
        { status: before.status },
        { status: after.status },
      );
      return after;
    });
  }

  async markReturned(
    fileId: string,
    cashoutId: string,
    reason: string,
    actor: string,
  ): Promise<PayoutFileLine> {
    return this.fileLock.run(fileId, async () => {
      const before = await this.lineOf(fileId, cashoutId);
      const after = await this.returned(before, reason);
      await this.o.audit(
        actor,
        "payout_file.line_returned",
        `${fileId}/${cashoutId}`,
        { status: before.status },
        { status: after.status, reason: after.reason },
      );
      return after;
    });
  }

  /**
   * Applies a returns CSV: every row is checked first (format, a line of this file, a change the
   * line can make), and one problem refuses the whole upload with nothing changed. `unlisted: paid`
   * also marks paid every line still pending that the CSV does not name.
   */
  async applyReturns(
    fileId: string,
    csv: string,
    unlisted: UnlistedLines,
    actor: string,
  ): Promise<ReturnsSummary> {
    return this.fileLock.run(fileId, async () => {
      const file = await this.mustGet(fileId);
      const parsed = parseReturnsCsv(csv, Math.min(file.lineCount, this.o.linesPerFileMax));
      if (parsed.problems.length > 0) throw csvRefused("invalid_returns_csv", parsed.problems);
      const lines = await this.o.store.lines(fileId, 0, file.lineCount);
      const byKey = new Map<string, PayoutFileLine>();
      for (const line of lines) {
        byKey.set(line.reference, line);
        byKey.set(line.cashoutId, line);
      }
      const unknown: CsvProblem[] = [];
      const conflicts: CsvProblem[] = [];
      const plan: { line: PayoutFileLine; status: "paid" | "returned"; reason: string | null }[] = [];
      const named = new Set<string>();
      for (const row of parsed.rows) {
        const line = byKey.get(row.reference);
        if (!line) {
          unknown.push({ line: row.line, detail: `no line of ${fileId} has the reference ${row.reference}` });
          continue;
        }
        if (named.has(line.cashoutId)) {
          unknown.push({ line: row.line, detail: `the line of ${row.reference} is already named above` });
          continue;
        }
        named.add(line.cashoutId);
        if (row.status === "paid" && line.status === "returned") {
          conflicts.push({ line: row.line, detail: `${row.reference} is returned; it cannot become paid` });
        }
        plan.push({ line, status: row.status, reason: row.reason });
      }
      if (unknown.length > 0) throw csvRefused("invalid_returns_csv", unknown);
      if (conflicts.length > 0) throw csvRefused("payout_line_state_conflict", conflicts);
      if (unlisted === "paid") {
        for (const line of lines) {
          if (!named.has(line.cashoutId) && line.status === "pending")
            plan.push({ line, status: "paid", reason: null });
        }
      }
      const summary: ReturnsSummary = { paid: 0, returned: 0, unchanged: 0 };
      await eachLimited(plan, this.o.settleConcurrency ?? 16, async (step) => {
        const after =
          step.status === "paid" ? await this.paid(step.line) : await this.returned(step.line, step.reason!);
        if (after.status === step.line.status) summary.unchanged++;
        else summary[step.status]++;
      });
      await this.o.audit(actor, "payout_file.returns", fileId, null, {
        ...summary,
        unlisted,
        sha256: createHash("sha256").update(csv).digest("hex"),
      });
      return summary;
    });
  }

  private async lineOf(fileId: string, cashoutId: string): Promise<PayoutFileLine> {
    await this.mustGet(fileId);
    const line = await this.o.store.line(cashoutId);
    if (!line || line.fileId !== fileId)
      throw new GiftstreamError("not_found", `no line for ${cashoutId} in ${fileId}`);
    return line;
  }

  /** pending → paid, then the cash-out paid; on a line already paid only the settling runs again. */
  private async paid(line: PayoutFileLine): Promise<PayoutFileLine> {
    let current = line;
    if (line.status === "pending") {
      const now = this.o.clock();
      const change = { status: "paid" as const, reason: null, paidAt: now, returnedAt: null, updatedAt: now };
      current = (await this.o.store.updateLine(line.cashoutId, "pending", change))
        ? { ...line, ...change }
        : await this.reread(line);
      if (current.status !== "paid") {
        throw new GiftstreamError("payout_line_state_conflict", `line ${line.reference} changed meanwhile`);
      }
    }
    await this.o.cashouts.settleById(line.cashoutId, { status: "paid", ref: lineRef(current) });
    return current;
  }

  /**
   * pending or paid → returned. A line paid first settles its cash-out paid (if a crash left it
   * processing) and then returned; one never paid fails it: the diamonds come back either way.
   */
  private async returned(line: PayoutFileLine, reason: string): Promise<PayoutFileLine> {
    let current = line;
    if (line.status !== "returned") {
      const now = this.o.clock();
      const change = {
        status: "returned" as const,
        reason,
        paidAt: line.paidAt,
        returnedAt: now,
        updatedAt: now,
      };
      current = (await this.o.store.updateLine(line.cashoutId, line.status, change))
        ? { ...line, ...change }
        : await this.reread(line);
      if (current.status !== "returned") {
        throw new GiftstreamError("payout_line_state_conflict", `line ${line.reference} changed meanwhile`);
      }
    }
    const why = current.reason ?? reason;
    if (current.paidAt === null) {
      await this.o.cashouts.settleById(line.cashoutId, { status: "failed", reason: why });
    } else {
      await this.o.cashouts.settleById(line.cashoutId, { status: "paid", ref: lineRef(current) });
      await this.o.cashouts.settleById(line.cashoutId, { status: "returned", reason: why });
    }
    return current;
  }

  private async reread(line: PayoutFileLine): Promise<PayoutFileLine> {
    const found = await this.o.store.line(line.cashoutId);
    if (!found) throw new Error(`line of ${line.cashoutId} vanished`);
    return found;
  }
}

function csvRefused(code: "invalid_returns_csv" | "payout_line_state_conflict", problems: CsvProblem[]) {
  const listed = problems.slice(0, problemsListedMax);
  const more = problems.length - listed.length;
  return new GiftstreamError(
    code,
    `the returns CSV was refused, nothing changed: ${listed
      .slice(0, 3)
      .map((p) => `line ${p.line}: ${p.detail}`)
      .join("; ")}${problems.length > 3 ? `; and ${problems.length - 3} more` : ""}`,
    { errors: listed, ...(more > 0 ? { errorsNotListed: more } : {}) },
  );
}

/** Runs `work` over `items`, at most `limit` at a time. */
async function eachLimited<T>(
  items: readonly T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  const worker = async () => {
    while (next < items.length) {
      const item = items[next++]!;
      await work(item);
    }
  };
  await Promise.all(Array.from({ length: Math.min(limit, items.length) }, worker));
}
