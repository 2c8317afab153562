import type { Ledger } from "../../ledger/ledger.js";
import { parseRate } from "../../money/index.js";
import { creatorAccounts, userAccounts } from "../accounts.js";
import type { EconomyCatalog } from "../catalog.js";
import type { GiftStore } from "../gifts/gifts.js";
import type { Users } from "../users/users.js";
import { type CashValue, cashValue } from "./cash-value.js";

export interface Wallet {
  coins: { balance: bigint; paid: bigint; bonus: bigint; debt: bigint };
  diamonds: { pending: bigint; withdrawable: bigint; onHold: bigint };
  cash: CashValue;
}

/** A user's balances, read from the ledger, with maturation honoured on the read path too. */
export class Wallets {
  constructor(
    private readonly o: {
      ledger: Ledger;
      gifts: GiftStore;
      catalog: EconomyCatalog;
      users: Users;
      clock: () => number;
    },
  ) {}

  async of(userId: string): Promise<Wallet> {
    const now = this.o.clock();
    const user = await this.o.users.get(userId);
    const lots = (await this.o.gifts.paidLotOrder(userId)).map((p) => userAccounts.paidCoins(userId, p).id);
    const bonus = userAccounts.bonusCoins(userId).id;
    const debt = userAccounts.coinDebt(userId).id;
    const pending = creatorAccounts.pendingDiamonds(userId).id;
    const withdrawable = creatorAccounts.withdrawableDiamonds(userId).id;
    const balances = await this.o.ledger.balances([...lots, bonus, debt, pending, withdrawable]);
    const posted = (id: string) => balances.get(id)?.posted ?? 0n;
    let paid = 0n;
    for (const lot of lots) paid += posted(lot);
    const owed = -posted(debt);
    // Diamonds due but not yet moved by the maturation job are withdrawable already.
    const { groups, due } = await this.o.gifts.withdrawableGroups(userId, now);
    const version = this.o.catalog.at(now);
    const region = version.economy.regions[user.country];
    const currency = region?.payoutCurrency ?? "USD";
    const usdRate = currency === "USD" ? parseRate("1") : version.economy.exchangeRates[currency]!;
    // Diamonds on hold for an open cash-out stay in the account until it is paid, but they are
    // no longer the creator's to withdraw again.
    const onHold = balances.get(withdrawable)?.debitsPending ?? 0n;
    return {
      coins: { balance: paid + posted(bonus) - owed, paid, bonus: posted(bonus), debt: owed },
      diamonds: {
        pending: posted(pending) - due,
        withdrawable: posted(withdrawable) - onHold + due,
        onHold,
      },
      cash: cashValue(groups, currency, usdRate),
    };
  }
}
