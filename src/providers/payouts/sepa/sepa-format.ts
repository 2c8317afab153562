import { isSEPACountry } from "ibantools";
import { executionDate, isoDate } from "../files/execution-date.js";
import type { FileBuildInput, FileFormat } from "../files/payout-file.js";
import type { PayoutOrder } from "../rail.js";
import { buildPain001, type SepaDebtor } from "./pain001.js";
import { sepaIdentifier, sepaText } from "./sepa-text.js";

/** EPC limits: a party's name is at most 70 characters, unstructured remittance 140. */
const nameLengthMax = 70;
const remittanceLengthMax = 140;

export interface SepaSettings {
  debtor: SepaDebtor;
  /** The remittance text each creditor sees, before the cash-out's reference. */
  remittancePrefix: string;
  executionDelayBusinessDays: number;
}

/** SEPA credit transfers (pain.001.001.03) of EUR to IBAN accounts. */
export class SepaFormat implements FileFormat {
  readonly format = "pain.001.001.03";
  readonly contentType = "application/xml";
  readonly extension = "xml";
  readonly currency = "EUR";

  constructor(private readonly settings: SepaSettings) {}

  refusal(order: PayoutOrder): string | null {
    if (order.currency !== "EUR") return `SEPA credit transfers carry EUR, not ${order.currency}`;
    const d = order.destination;
    if (d.type !== "bank_account" || !("iban" in d)) return "SEPA credit transfers pay IBAN accounts only";
    // An IBAN is valid well beyond SEPA (Brazil, Saudi Arabia…): a bank takes no SEPA credit
    // transfer to those, and would reject the line after the file went out.
    const country = d.iban.slice(0, 2);
    if (!isSEPACountry(country)) return `the IBAN's country (${country}) is outside the SEPA scheme`;
    if (sepaText(d.holderName, nameLengthMax) === "") {
      return "the account holder's name has no character SEPA can carry";
    }
    return null;
  }

  build(input: FileBuildInput): { content: Buffer; references: string[] } {
    const references = input.orders.map((o) => sepaIdentifier(o.cashoutId));
    const credits = input.orders.map((order, i) => {
      const d = order.destination;
      if (d.type !== "bank_account" || !("iban" in d)) throw new Error("refused orders never reach build");
      return {
        endToEndId: references[i]!,
        amountMinor: order.netMinor,
        creditorName: sepaText(d.holderName, nameLengthMax),
        iban: d.iban,
        bic: d.bic,
        remittance: remittanceOf(this.settings.remittancePrefix, references[i]!),
      };
    });
    const xml = buildPain001({
      messageId: sepaIdentifier(input.fileId),
      createdAt: input.createdAt,
      executionDate: isoDate(executionDate(input.createdAt, this.settings.executionDelayBusinessDays)),
      debtor: this.settings.debtor,
      credits,
    });
    return { content: Buffer.from(xml, "utf8"), references };
  }
}

/**
 * The remittance text: the prefix, cut to leave room for the reference, then the reference. The
 * prefix is cut on its own because transliteration can lengthen it ("北京" is "BeiJing"): cut
 * together, a long prefix pushed the reference, the one part a creator can trace, off the end.
 */
export function remittanceOf(prefix: string, reference: string): string {
  const room = remittanceLengthMax - reference.length - 1;
  const head = sepaText(prefix, room);
  return head === "" ? reference : `${head} ${reference}`;
}
