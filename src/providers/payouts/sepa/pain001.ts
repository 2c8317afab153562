import { create } from "xmlbuilder2";
import { invariant } from "../../../errors.js";
import { formatFixed } from "../../../money/index.js";

/** The namespace of pain.001.001.03, the SEPA credit transfer initiation of the EPC rulebook. */
export const pain001Namespace = "urn:iso:std:iso:20022:tech:xsd:pain.001.001.03";

/** The platform's own account: where the money leaves from. */
export interface SepaDebtor {
  name: string;
  iban: string;
  bic: string | null;
  /** The initiating party's id at its bank (often a customer number), when the bank asks for one. */
  initiatingPartyId: string | null;
}

/** One credit transfer. Text fields are already in the SEPA character set (sepa-text.ts). */
export interface SepaCredit {
  endToEndId: string;
  amountMinor: bigint;
  creditorName: string;
  iban: string;
  bic: string | null;
  remittance: string;
}

export interface Pain001Input {
  messageId: string;
  createdAt: number;
  /** YYYY-MM-DD */
  executionDate: string;
  debtor: SepaDebtor;
  credits: readonly SepaCredit[];
}

/** EUR has two decimals; SEPA amounts are 0.01 to 999,999,999.99 per transfer. */
const eurExponent = 2;
const creditMaxMinor = 99_999_999_999n;

/**
 * One pain.001.001.03 document: a group header, one payment information block (one debtor account,
 * one execution date, batch booking) and one CdtTrfTxInf per credit. Built with xmlbuilder2, which
 * escapes every text node; amounts are written from minor units by the money module.
 */
export function buildPain001(input: Pain001Input): string {
  invariant(input.credits.length > 0, "a pain.001 file carries at least one transfer");
  let totalMinor = 0n;
  for (const credit of input.credits) {
    invariant(
      credit.amountMinor > 0n && credit.amountMinor <= creditMaxMinor,
      "a SEPA transfer is 0.01 to 999,999,999.99",
    );
    totalMinor += credit.amountMinor;
  }
  const count = String(input.credits.length);
  const total = formatFixed(totalMinor, eurExponent);
  const createdAt = `${new Date(input.createdAt).toISOString().slice(0, 19)}Z`;

  const root = create({ version: "1.0", encoding: "UTF-8" }).ele(pain001Namespace, "Document");
  const initiation = root.ele("CstmrCdtTrfInitn");
  const header = initiation.ele("GrpHdr");
  header.ele("MsgId").txt(input.messageId);
  header.ele("CreDtTm").txt(createdAt);
  header.ele("NbOfTxs").txt(count);
  header.ele("CtrlSum").txt(total);
  party(header.ele("InitgPty"), input.debtor.name, input.debtor.initiatingPartyId);

  const payment = initiation.ele("PmtInf");
  payment.ele("PmtInfId").txt(`${input.messageId}-1`);
  payment.ele("PmtMtd").txt("TRF");
  payment.ele("BtchBookg").txt("true");
  payment.ele("NbOfTxs").txt(count);
  payment.ele("CtrlSum").txt(total);
  payment.ele("PmtTpInf").ele("SvcLvl").ele("Cd").txt("SEPA");
  payment.ele("ReqdExctnDt").txt(input.executionDate);
  party(payment.ele("Dbtr"), input.debtor.name, null);
  const debtorAccount = payment.ele("DbtrAcct");
  debtorAccount.ele("Id").ele("IBAN").txt(input.debtor.iban);
  debtorAccount.ele("Ccy").txt("EUR");
  agent(payment.ele("DbtrAgt"), input.debtor.bic);
  // SLEV: each side pays its own bank's charges, the only option the SEPA scheme allows.
  payment.ele("ChrgBr").txt("SLEV");

  for (const credit of input.credits) {
    const tx = payment.ele("CdtTrfTxInf");
    tx.ele("PmtId").ele("EndToEndId").txt(credit.endToEndId);
    tx.ele("Amt").ele("InstdAmt", { Ccy: "EUR" }).txt(formatFixed(credit.amountMinor, eurExponent));
    agent(tx.ele("CdtrAgt"), credit.bic);
    tx.ele("Cdtr").ele("Nm").txt(credit.creditorName);
    tx.ele("CdtrAcct").ele("Id").ele("IBAN").txt(credit.iban);
    tx.ele("RmtInf").ele("Ustrd").txt(credit.remittance);
  }
  return root.end({ prettyPrint: true });
}

type Node = ReturnType<ReturnType<typeof create>["ele"]>;

function party(node: Node, name: string, id: string | null): void {
  node.ele("Nm").txt(name);
  if (id !== null) node.ele("Id").ele("OrgId").ele("Othr").ele("Id").txt(id);
}

/** A bank by its BIC; without one, `NOTPROVIDED`, as IBAN-only SEPA transfers allow. */
function agent(node: Node, bic: string | null): void {
  const institution = node.ele("FinInstnId");
  if (bic !== null) institution.ele("BIC").txt(bic);
  else institution.ele("Othr").ele("Id").txt("NOTPROVIDED");
}
