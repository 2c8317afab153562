import { TransferType } from "../../ledger/types.js";
import type { Reader } from "./snapshot.js";

const { pending, post_pending: posted } = TransferType;

/**
 * Whether the holds table agrees with the transfers, which hold the same facts: a hold is a
 * pending transfer, open until a post or a void names it. SQLite keeps the open holds only;
 * PostgreSQL keeps every hold, with the status its closing transfer implies. A dump carries open
 * holds only, so this is what makes leaving the closed ones out lose nothing; it runs on the
 * source before an export and on the target after an import. Empty when all is well.
 */
export async function holdsProblems(reader: Reader): Promise<string[]> {
  const status = reader.dialect === "postgres" ? "h.status" : "0";
  const row = (
    await reader.all(
      `SELECT
        (SELECT COUNT(*) FROM transfers p WHERE p.type = ${pending}) AS pending_transfers,
        (SELECT COUNT(*) FROM transfers p WHERE p.type = ${pending}
           AND NOT EXISTS (SELECT 1 FROM transfers c WHERE c.pending_id = p.id)) AS open_transfers,
        (SELECT COUNT(*) FROM holds) AS holds,
        (SELECT COUNT(*) FROM holds h
           JOIN transfers p ON p.id = h.transfer_id AND p.type = ${pending}
             AND p.debit_account_id = h.debit_account_id AND p.credit_account_id = h.credit_account_id
             AND p.amount = h.amount
             AND (p.expires_at = h.expires_at OR (p.expires_at IS NULL AND h.expires_at IS NULL))
           LEFT JOIN transfers c ON c.pending_id = p.id
           WHERE ${status} = CASE WHEN c.id IS NULL THEN 0 WHEN c.type = ${posted} THEN 1 ELSE 2 END) AS matching`,
    )
  )[0]!;
  const n = (name: string) => BigInt(row[name] as bigint | number | string);
  const expected = reader.dialect === "postgres" ? n("pending_transfers") : n("open_transfers");
  const problems: string[] = [];
  if (n("holds") !== expected) {
    problems.push(`holds has ${n("holds")} rows where the transfers make ${expected} holds`);
  }
  if (n("matching") !== n("holds")) {
    problems.push(`${n("holds") - n("matching")} holds disagree with their pending and closing transfers`);
  }
  return problems;
}
