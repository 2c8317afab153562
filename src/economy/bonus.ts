import type { Access } from "../access/access.js";
import { invariant } from "../errors.js";
import type { Ledger } from "../ledger/ledger.js";
import type { JsonObject } from "../ledger/types.js";
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
    private readonly access: Access,
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
    });
    const transfer = result.transfers[0];
    invariant(transfer !== undefined, "a bonus is one transfer");
    const grant: BonusGrant = {
      userId,
      coins: transfer.amount.toString(),
      reason,
      transferId: `tr_${transfer.id}`,
      createdAt: transfer.createdAt,
    };
    if (!result.replayed)
      await this.access.audit(actor, "user.bonus", userId, null, grant as unknown as JsonObject);
    return { grant, replayed: result.replayed };
  }
}
