import { auditEffect } from "../access/audit-effect.js";
import { invariant } from "../errors.js";
import type { Ledger } from "../ledger/ledger.js";
import type { JsonObject, TransferRecord } from "../ledger/types.js";
import { platformAccounts, userAccounts } from "./accounts.js";
import { activityEffect } from "./history/activity.js";
import type { Idempotent } from "./purchases/purchases.js";
import type { Users } from "./users/users.js";

export interface BonusGrant {
  userId: string;
  coins: string;
  reason: string | null;
  transferId: string;
  createdAt: number;
}

/** Promotions: bonus coins granted by an admin, booked as promotion expense (in coins). */
export class Bonuses {
  constructor(
    private readonly ledger: Ledger,
    private readonly users: Users,
    private readonly clock: () => number,
  ) {}

  async grant(
    userId: string,
    coins: bigint,
    reason: string | null,
    actor: string,
    idem: Idempotent,
  ): Promise<{ grant: BonusGrant; replayed: boolean }> {
    await this.users.get(userId);
    const bonus = userAccounts.bonusCoins(userId);
    const result = await this.ledger.submit({
      idempotencyKey: idem.key,
      fingerprint: idem.fingerprint,
      accounts: [platformAccounts.coinsPromotion, bonus],
      transfers: [
        {
          debitAccountId: platformAccounts.coinsPromotion.id,
          creditAccountId: bonus.id,
          amount: coins,
          kind: "bonus",
          metadata: reason === null ? { actor } : { actor, reason },
        },
      ],
      effects: [
        activityEffect({
          userId,
          kind: "bonus",
          at: this.clock(),
          amounts: { coins: coins.toString() },
          counterparty: null,
          context: null,
          economyVersion: null,
          ref: null,
        }),
      ],
      // The admin's audit entry is written with the grant, in its transaction: coins are never
      // granted without a record of who granted them. It names the transfer, whose id the batch assigns.
      effectsOf: ([made]) => [
        auditEffect({
          actor,
          action: "user.bonus",
          target: userId,
          before: null,
          after: grantOf(userId, reason, made!) as unknown as JsonObject,
          at: made!.createdAt,
        }),
      ],
    });
    const transfer = result.transfers[0];
    invariant(transfer !== undefined, "a bonus is one transfer");
    return { grant: grantOf(userId, reason, transfer), replayed: result.replayed };
  }
}

function grantOf(userId: string, reason: string | null, transfer: TransferRecord): BonusGrant {
  return {
    userId,
    coins: transfer.amount.toString(),
    reason,
    transferId: `tr_${transfer.id}`,
    createdAt: transfer.createdAt,
  };
}
