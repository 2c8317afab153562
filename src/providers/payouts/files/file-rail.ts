import { createHash, randomBytes } from "node:crypto";
import { type Sealer, sealContext } from "../../../crypto/sealed.js";
import type { PayoutOrder, PayoutRail, PayoutState, RailRecord } from "../rail.js";
import {
  type FileFormat,
  type PayoutFile,
  type PayoutFileLine,
  type PayoutFileStore,
  stateOfLine,
} from "./payout-file.js";

const dayMs = 86_400_000;

export interface FileRailOptions {
  name: string;
  format: FileFormat;
  store: PayoutFileStore;
  sealer: Sealer;
  clock: () => number;
  /** Most cash-outs in one file; a larger batch is split across files. */
  ordersPerFileMax: number;
}

/** Where a file's sealed content belongs: it opens for this file only. */
export function fileSealContext(fileId: string): string {
  return sealContext("payout_files", "content", fileId);
}

/**
 * A rail that pays by bank file. `submitBatch` writes the job pass's orders into one file (the
 * job has marked them processing already) and answers `processing` for each; the file is then
 * downloaded and sent to the bank by the operator, who marks its lines paid or returned. `status`
 * answers from the lines, so the job's polling settles what an admin marked. A cash-out is in at
 * most one file: submitting it again answers its line's state instead of paying twice.
 */
export class FilePayoutRail implements PayoutRail {
  readonly name: string;
  /** Writes one file at a time: serials and the day's file count are read, then used. */
  private writing: Promise<unknown> = Promise.resolve();

  constructor(private readonly o: FileRailOptions) {
    this.name = o.name;
  }

  async submit(order: PayoutOrder): Promise<PayoutState> {
    return (await this.submitBatch([order])).get(order.cashoutId) ?? { status: "unknown" };
  }

  submitBatch(orders: readonly PayoutOrder[]): Promise<Map<string, PayoutState>> {
    const work = this.writing.then(() => this.write(orders));
    this.writing = work.catch(() => undefined);
    return work;
  }

  async status(order: PayoutOrder): Promise<PayoutState> {
    const line = await this.o.store.line(order.cashoutId);
    return line && line.rail === this.name ? stateOfLine(line) : { status: "unknown" };
  }

  /** Only a payout not yet in a file can be stopped: a written file may be at the bank already. */
  async cancel(order: PayoutOrder): Promise<boolean> {
    return (await this.o.store.line(order.cashoutId)) === undefined;
  }

  async records(sinceMs: number): Promise<RailRecord[]> {
    return (await this.o.store.linesSince(this.name, sinceMs)).map((line) => ({
      cashoutId: line.cashoutId,
      state: stateOfLine(line),
      currency: line.currency,
      netMinor: line.netMinor,
    }));
  }

  private async write(orders: readonly PayoutOrder[]): Promise<Map<string, PayoutState>> {
    const answers = new Map<string, PayoutState>();
    const known = await this.o.store.linesOf(orders.map((o) => o.cashoutId));
    const fresh: PayoutOrder[] = [];
    const seen = new Set<string>();
    for (const order of orders) {
      const line = known.get(order.cashoutId);
      const refusal = this.o.format.refusal(order);
      if (line) answers.set(order.cashoutId, stateOfLine(line));
      else if (refusal !== null) answers.set(order.cashoutId, { status: "failed", reason: refusal });
      else if (!seen.has(order.cashoutId)) {
        seen.add(order.cashoutId);
        fresh.push(order);
      }
    }
    for (let start = 0; start < fresh.length; start += this.o.ordersPerFileMax) {
      const chunk = fresh.slice(start, start + this.o.ordersPerFileMax);
      const file = await this.writeFile(chunk);
      for (const order of chunk) answers.set(order.cashoutId, { status: "processing", ref: file.id });
    }
    return answers;
  }

  private async writeFile(orders: readonly PayoutOrder[]): Promise<PayoutFile> {
    const { store, format } = this.o;
    const createdAt = this.o.clock();
    const id = `pf_${randomBytes(10).toString("hex")}`;
    const dayStart = Math.floor(createdAt / dayMs) * dayMs;
    const serialStart = (await store.lastSerial(this.name)) + 1;
    const { content, references } = format.build({
      fileId: id,
      createdAt,
      sameDayIndex: await store.countCreated(this.name, dayStart, dayStart + dayMs),
      serialStart,
      orders,
    });
    const totalMinor = orders.reduce((sum, o) => sum + o.netMinor, 0n);
    const file: PayoutFile = {
      id,
      rail: this.name,
      format: format.format,
      filename: `giftstream-${this.name}-${new Date(createdAt).toISOString().slice(0, 10)}-${id}.${format.extension}`,
      contentType: format.contentType,
      currency: format.currency,
      lineCount: orders.length,
      totalMinor,
      sha256: createHash("sha256").update(content).digest("hex"),
      createdAt,
    };
    const lines: PayoutFileLine[] = orders.map((order, i) => ({
      cashoutId: order.cashoutId,
      fileId: id,
      rail: this.name,
      position: i + 1,
      serial: serialStart + i,
      reference: references[i]!,
      userId: order.userId,
      currency: order.currency,
      netMinor: order.netMinor,
      status: "pending",
      reason: null,
      paidAt: null,
      returnedAt: null,
      updatedAt: createdAt,
    }));
    await store.insert(file, this.o.sealer.seal(content, fileSealContext(id)), lines);
    return file;
  }
}
