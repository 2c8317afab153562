import { executionDate, isoDate } from "../files/execution-date.js";
import type { FileBuildInput, FileFormat } from "../files/payout-file.js";
import type { PayoutOrder } from "../rail.js";
import {
  alpha,
  amountMaxMinor,
  buildNachaFile,
  individualNameWidth,
  type NachaOrigin,
} from "./nacha-file.js";

/** File id modifiers in order: 36 files a day to one destination. */
const modifiers = "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789";

export interface NachaSettings {
  origin: NachaOrigin;
  executionDelayBusinessDays: number;
}

/** US ACH credits (NACHA, PPD) of USD to ABA routing and account numbers. */
export class NachaFormat implements FileFormat {
  readonly format = "nacha";
  readonly contentType = "text/plain";
  readonly extension = "ach";
  readonly currency = "USD";

  constructor(private readonly settings: NachaSettings) {}

  refusal(order: PayoutOrder): string | null {
    if (order.currency !== "USD") return `ACH credits carry USD, not ${order.currency}`;
    const d = order.destination;
    if (d.type !== "bank_account" || !("routingNumber" in d)) {
      return "ACH credits pay US routing and account numbers only";
    }
    // Refused here, this order alone: in the file they failed an invariant that stopped the whole
    // file, every pass, and left every order of it processing.
    if (order.netMinor > amountMaxMinor) return "one ACH entry carries at most $99,999,999.99";
    if (alpha(d.holderName, individualNameWidth).trim() === "") {
      return "the account holder's name has no character an ACH file can carry";
    }
    return null;
  }

  build(input: FileBuildInput): { content: Buffer; references: string[] } {
    const modifier = modifiers[input.sameDayIndex];
    if (modifier === undefined) {
      throw new Error(
        `${modifiers.length} NACHA files were already written today; the next one waits for tomorrow`,
      );
    }
    const credits = input.orders.map((order) => {
      const d = order.destination;
      if (d.type !== "bank_account" || !("routingNumber" in d))
        throw new Error("refused orders never reach build");
      return {
        routingNumber: d.routingNumber,
        accountNumber: d.accountNumber,
        accountType: d.accountType,
        amountMinor: order.netMinor,
        // The end of the cash-out id: enough for the receiver's statement; the trace number is the key.
        individualId: order.cashoutId.slice(-15),
        individualName: d.holderName,
      };
    });
    const { text, traceNumbers } = buildNachaFile({
      origin: this.settings.origin,
      createdAt: input.createdAt,
      effectiveDate: isoDate(executionDate(input.createdAt, this.settings.executionDelayBusinessDays)),
      fileIdModifier: modifier,
      traceSequences: input.orders.map((_, i) => input.serialStart + i),
      credits,
    });
    return { content: Buffer.from(text, "ascii"), references: traceNumbers };
  }
}
