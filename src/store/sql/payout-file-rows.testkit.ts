import type { PayoutFile, PayoutFileLine } from "../../providers/payouts/files/payout-file.js";

/** A two-line NACHA payout file as the store tests write it (the store does not count its lines). */
export function testPayoutFile(id: string, rail: string, createdAt: number): PayoutFile {
  return {
    id,
    rail,
    format: "nacha",
    filename: `${id}.ach`,
    contentType: "text/plain",
    currency: "USD",
    lineCount: 2,
    totalMinor: 300n,
    sha256: "00".repeat(32),
    createdAt,
  };
}

/** A pending line of `fileId`, referenced by its serial. */
export function testPayoutLine(
  cashoutId: string,
  fileId: string,
  rail: string,
  position: number,
  serial: number,
): PayoutFileLine {
  return {
    cashoutId,
    fileId,
    rail,
    position,
    serial,
    reference: `ref_${serial}`,
    userId: "u1",
    currency: "USD",
    netMinor: 150n,
    status: "pending",
    reason: null,
    paidAt: null,
    returnedAt: null,
    updatedAt: 1000,
  };
}
