import { hash } from "node:crypto";
import { GiftstreamError, invariant, isGiftstreamError } from "../../errors.js";
import { isoTime } from "../../iso-time.js";
import type { Ledger } from "../../ledger/ledger.js";
import type {
  LedgerRequest,
  PostedTransferInput,
  StoreEffect,
  TransferInput,
  TransferRecord,
} from "../../ledger/types.js";
import { cascadeAccountsMax } from "../../ledger/validate.js";
import { multiplyRate } from "../../money/index.js";
import { creatorAccounts, platformAccounts, userAccounts } from "../accounts.js";
import { KeyedLock, type KeyedLocks } from "../cashouts/keyed-lock.js";
import type { EconomyCatalog } from "../catalog.js";
import { giftSentEvent } from "../events/event-data.js";
import { type EventFilter, outboxEffect } from "../events/events.js";
import { activityEffect } from "../history/activity.js";
import type { PurchaseStore } from "../purchases/purchase.js";
import type { Idempotent } from "../purchases/purchases.js";
import { ageOn } from "../users/user.js";
import type { Users } from "../users/users.js";

export type GiftContextType = "live" | "video";

export interface SendGift {
  senderId: string;
  recipientId: string;
  giftId: string;
  quantity: number;
  context: { type: GiftContextType; id: string };
}

/** What a gift sent answers, and what a replay of it answers again. */
export interface GiftReceipt {
  id: string;
  senderId: string;
  recipientId: string;
  giftId: string;
  quantity: number;
  coinsSpent: string;
  diamondsEarned: string;
  context: { type: GiftContextType; id: string };
  economyVersion: string;
  createdAt: number;
  maturesAt: number;
}

/** Where a gift's diamonds stand, for maturation and chargebacks. */
/** A gift checked and turned into its ledger request, not yet submitted. */
interface PreparedGift {
  senderId: string;
  coins: bigint;
  /** The receipt, from the transfers the request made (the diamonds may depend on them). */
  receiptOf: (made: readonly TransferRecord[]) => GiftReceipt;
  request: LedgerRequest;
}

/**
 * What a gift's idempotency record keeps: the gift's id, whose row holds every field of the
 * receipt. Records written before the receipt was read back hold the whole receipt instead.
 */
type GiftMemo = { receiptOf: string } | GiftReceipt;

export interface GiftLot {
  id: string;
  recipientId: string;
  diamonds: bigint;
  coins: bigint;
  status: "pending" | "matured";
  reversedDiamonds: bigint;
  /** The economy version it was sent under (its rate, whether bonus coins earned), and when. */
  economyVersion: string;
  createdAt: number;
  maturesAt: number;
}

export interface GiftStore {
  getLot(id: string): Promise<GiftLot | undefined>;
  /** A sent gift's receipt, as its first answer gave it, read back from its row. */
  getReceipt(id: string): Promise<GiftReceipt | undefined>;
  /** Pending lots whose maturation time has come, oldest first; only `recipientId`'s when given. */
  listMaturing(now: number, limit: number, recipientId?: string): Promise<GiftLot[]>;
  /**
   * A sender's completed (or disputed) purchases whose lots have coins left, oldest first: the
   * order paid coins are spent in.
   */
  paidLotOrder(userId: string): Promise<string[]>;
  /** Drops what is remembered of a user's lots, after one of their purchases changed. */
  forgetLots(userId: string): void;
  /**
   * A creator's diamonds that are withdrawable at `now` (matured, or due and not yet moved by the
   * job), grouped by their locked value and commission rate; `due` is the part not yet moved.
   */
  withdrawableGroups(
    userId: string,
    now: number,
  ): Promise<{ groups: { diamonds: bigint; valueUsd: string; commissionRate: string }[]; due: bigint }>;
}

/** Refuses a batch in which two gifts share a client `id`: each is answered, and replayed, by it. */
export function assertBatchIds(items: readonly { id: string }[]): void {
  if (new Set(items.map((i) => i.id)).size !== items.length) {
    throw new GiftstreamError("invalid_request", "each gift in a batch needs its own id");
  }
}

/** Each gift of a batch has its own record: the batch's key and fingerprint with the gift's `id`. */
function batchItemKeys(items: readonly { id: string }[], idem: Idempotent): Idempotent[] {
  return items.map((item) => ({
    key: `${idem.key}:${item.id}`,
    fingerprint: hash("sha256", `${idem.fingerprint}:${item.id}`, "base64url"),
  }));
}

/** A gift as the API and its webhook events show it: times as ISO 8601. */
export function giftView(r: GiftReceipt) {
  return {
    id: r.id,
    senderId: r.senderId,
    recipientId: r.recipientId,
    giftId: r.giftId,
    quantity: r.quantity,
    coinsSpent: r.coinsSpent,
    diamondsEarned: r.diamondsEarned,
    context: { type: r.context.type, id: r.context.id },
    economyVersion: r.economyVersion,
    createdAt: isoTime(r.createdAt),
    maturesAt: isoTime(r.maturesAt),
  };
}

const dayMs = 86_400_000;
/**
 * Most purchase lots one gift draws paid coins from: its cascade also takes the bonus account, and
 * a cascade lists at most `cascadeAccountsMax`. A buyer with more lots than this spends the oldest
 * first; a gift that costs more than the bonus coins and these lots hold is `insufficient_coins`,
 * and the next gift reaches the lots past the ones it emptied.
 */
export const lotsPerGiftMax = cascadeAccountsMax - 1;
/** Most gifts in one `send-batch` request. */
export const giftsPerBatchMax = 1000;

/**
 * The one key under which pending diamonds are decided: a lot maturing, a chargeback taking its
 * diamonds back, a won dispute returning them. Each reads the lots afresh under it. Without it a
 * chargeback and the job could both move one lot's diamonds, each from its own stale read (the
 * lot reversed and matured too), leaving another lot's maturation short of pending diamonds.
 */
export const pendingLotsKey = "pending-lots";

export type BatchResult =
  | { id: string; ok: true; gift: GiftReceipt }
  | { id: string; ok: false; code: string; detail: string };

/**
 * Sending gifts: the sender's coins leave (bonus first, then paid coins oldest purchase first, in
 * one cascade decided inside the ledger batch), the recipient earns diamonds at the rate in force,
 * as a lot whose value per diamond and commission rate are locked now, pending until it matures.
 */
export class Gifts {
  constructor(
    private readonly o: {
      ledger: Ledger;
      store: GiftStore;
      purchases: PurchaseStore;
      catalog: EconomyCatalog;
      users: Users;
      clock: () => number;
      /** Which webhook events anyone wants: a gift writes `gift.sent` only when some endpoint does. */
      events?: EventFilter;
      /** Told of each gift once it is durable (never of a replay): the live feed's doorbell. Must not throw. */
      onSent?: (receipt: GiftReceipt) => void;
      /** Taken for `pendingLotsKey`; shared with purchases' chargebacks, and across processes. */
      lotsLock?: KeyedLocks;
    },
  ) {
    this.lotsLock = o.lotsLock ?? new KeyedLock();
  }

  private readonly lotsLock: KeyedLocks;

  async send(input: SendGift, idem: Idempotent): Promise<{ receipt: GiftReceipt; replayed: boolean }> {
    let prepared: PreparedGift;
    try {
      prepared = await this.prepare(input, idem);
    } catch (error) {
      return this.replayInstead(error, idem);
    }
    return this.submit(prepared);
  }

  /**
   * A gift a check refuses may be the retry of one sent before the check would have refused it
   * (its sender restricted since, its gift withdrawn, its sender's rate limit reached): the first
   * answer stands. The same key with another body is `idempotency_key_reused`, not the body's own
   * refusal. Read on refusals only, so the path of a gift that goes through pays nothing for it.
   */
  async replayInstead(
    error: unknown,
    idem: Idempotent,
  ): Promise<{ receipt: GiftReceipt; replayed: boolean }> {
    if (!isGiftstreamError(error)) throw error;
    const memo = await this.o.ledger.replayOf(idem.key, idem.fingerprint);
    if (memo === undefined) throw error;
    return { receipt: await this.replayed(memo as GiftMemo), replayed: true };
  }

  /** Checks a gift and builds its ledger request; nothing is written yet. */
  private async prepare(input: SendGift, idem: Idempotent): Promise<PreparedGift> {
    const now = this.o.clock();
    if (input.senderId === input.recipientId) {
      throw new GiftstreamError("self_gift_forbidden", "a user cannot send a gift to themselves");
    }
    const version = this.o.catalog.at(now);
    const economy = version.economy;
    const gift = economy.gifts.find((g) => g.id === input.giftId);
    if (!gift) throw new GiftstreamError("unknown_gift", `no gift ${input.giftId} in the catalog`);
    if (input.quantity > economy.limits.giftQuantityMax) {
      throw new GiftstreamError("quantity_too_large", `at most ${economy.limits.giftQuantityMax} at once`);
    }
    const [sender, recipient] = await Promise.all([
      this.o.users.get(input.senderId),
      this.o.users.get(input.recipientId),
    ]);
    if (sender.status !== "active")
      throw new GiftstreamError("user_restricted", `sender ${sender.id} is ${sender.status}`);
    if (recipient.status === "blocked")
      throw new GiftstreamError("user_restricted", `recipient ${recipient.id} is blocked`);
    if (ageOn(recipient.birthDate, now) < economy.minimumAge) {
      throw new GiftstreamError("underage", `creators must be ${economy.minimumAge} or over to earn`);
    }
    if (
      !gift.contexts.includes(input.context.type) ||
      (gift.countries && !gift.countries.includes(sender.country))
    ) {
      throw new GiftstreamError(
        "gift_not_available_here",
        `${gift.id} cannot be sent on a ${input.context.type} here`,
      );
    }

    const coins = gift.coins * BigInt(input.quantity);
    // The send time leads the id, so gift rows are appended in id order instead of landing on
    // random pages, and the key's hash follows, so the id is new for every send: a retry within
    // the idempotency retention is answered by the ledger with the first receipt (and its id),
    // and a key used again past it is a new gift, never a second row under an existing id.
    const id = `gft_${now.toString(36)}${hash("sha256", idem.key, "base64url").slice(0, 14)}`;
    const lots = (await this.o.store.paidLotOrder(sender.id))
      .slice(0, lotsPerGiftMax)
      .map((p) => userAccounts.paidCoins(sender.id, p).id);
    const bonus = userAccounts.bonusCoins(sender.id);
    const order = economy.spending.order === "bonus_first" ? [bonus.id, ...lots] : [...lots, bonus.id];
    const pending = creatorAccounts.pendingDiamonds(recipient.id);
    const source = input.context.type;
    const maturesAt = now + economy.earnings.maturationDays * dayMs;
    // The rate is exact; a fractional diamond is never paid, so it rounds down.
    const diamondsFor = (earningCoins: bigint) =>
      multiplyRate(earningCoins, economy.coinToDiamondRate, "down").result;
    /** Everything that depends on the diamonds earned: the receipt, their transfer, their records. */
    const earning = (diamonds: bigint) => {
      const receipt: GiftReceipt = {
        id,
        senderId: sender.id,
        recipientId: recipient.id,
        giftId: gift.id,
        quantity: input.quantity,
        coinsSpent: coins.toString(),
        diamondsEarned: diamonds.toString(),
        context: input.context,
        economyVersion: version.id,
        createdAt: now,
        maturesAt,
      };
      const transfers: PostedTransferInput[] =
        diamonds > 0n
          ? [
              {
                debitAccountId: platformAccounts.diamondsIssued.id,
                creditAccountId: pending.id,
                amount: diamonds,
                kind: "gift",
                metadata: { giftId: id, source },
              },
            ]
          : [];
      // The row is both the creator's lot and, read back, both users' history entries for this
      // gift (src/store/sql/activity-store.ts): no activity rows beside it.
      const effects: StoreEffect[] = [
        {
          type: "gift.record",
          data: {
            id,
            senderId: sender.id,
            recipientId: recipient.id,
            giftId: gift.id,
            quantity: input.quantity,
            coins: coins.toString(),
            diamonds: diamonds.toString(),
            source,
            contextType: input.context.type,
            contextId: input.context.id,
            valueUsd: economy.diamondValueUsd[source].text,
            commissionRate: economy.commissionRate.text,
            economyVersion: version.id,
            createdAt: now,
            maturesAt,
          },
        },
        // One Set lookup per gift when nobody subscribes: no row, no JSON.
        ...(this.o.events?.wants("gift.sent") ? [outboxEffect([giftSentEvent(receipt)])] : []),
      ];
      return { receipt, transfers, effects };
    };
    const cascade: TransferInput = {
      type: "cascade",
      debitAccountIds: order,
      creditAccountId: platformAccounts.coinsSpent.id,
      amount: coins,
      kind: "gift",
      metadata: { giftId: id },
    };
    const request: LedgerRequest = {
      idempotencyKey: idem.key,
      fingerprint: idem.fingerprint,
      accounts: [
        bonus,
        platformAccounts.coinsSpent,
        platformAccounts.diamondsIssued,
        pending,
        creatorAccounts.withdrawableDiamonds(recipient.id),
      ],
      transfers: [cascade],
      effects: [],
      // The receipt is in the gift's row; the record keeps the id to read it back by, and no
      // transfers (nothing reads them): about 65 bytes instead of about 870 for each gift.
      memo: { receiptOf: id } satisfies GiftMemo,
      replayTransfers: false,
    };
    if (economy.earnings.bonusCoinsEarn) {
      const earned = earning(diamondsFor(coins));
      request.transfers.push(...earned.transfers);
      request.effects!.push(...earned.effects);
      return { senderId: sender.id, coins, receiptOf: () => earned.receipt, request };
    }
    // Only paid coins earn: how many of them the cascade spends is decided inside the batch,
    // against live balances, so the diamonds follow on from what it did (LedgerRequest.transfersOf).
    // The follow-on transfer, the records and the receipt are all asked for; built once.
    let earned: ReturnType<typeof earning> | undefined;
    const earnedBy = (made: readonly TransferRecord[]) => {
      if (earned === undefined) {
        let paid = 0n;
        for (const t of made) {
          if (t.creditAccountId === cascade.creditAccountId && t.debitAccountId !== bonus.id)
            paid += t.amount;
        }
        earned = earning(diamondsFor(paid));
      }
      return earned;
    };
    request.transfersOf = (made) => earnedBy(made).transfers;
    request.effectsOf = (made) => earnedBy(made).effects;
    return { senderId: sender.id, coins, receiptOf: (made) => earnedBy(made).receipt, request };
  }

  /**
   * Hands a prepared gift to the ledger. The hand-over itself is synchronous, so gifts submitted
   * one after another in a loop are applied in that order.
   */
  private async submit(p: PreparedGift): Promise<{ receipt: GiftReceipt; replayed: boolean }> {
    try {
      const result = await this.o.ledger.submit(p.request);
      if (!result.replayed) {
        const receipt = p.receiptOf(result.transfers);
        this.o.onSent?.(receipt);
        return { receipt, replayed: false };
      }
      return { receipt: await this.replayed(result.memo as GiftMemo), replayed: true };
    } catch (error) {
      if (isGiftstreamError(error) && error.code === "debits_exceed_credits") {
        throw new GiftstreamError("insufficient_coins", `${p.senderId} has fewer than ${p.coins} coins`);
      }
      throw error;
    }
  }

  /** The first answer of a gift sent before under the same key, from its record's memo. */
  private async replayed(memo: GiftMemo): Promise<GiftReceipt> {
    if (!("receiptOf" in memo)) return memo;
    const receipt = await this.o.store.getReceipt(memo.receiptOf);
    // The record and the row are written in one transaction: a record without its row is a bug.
    invariant(receipt !== undefined, "a replayed gift's row exists");
    return receipt;
  }

  /**
   * Up to `giftsPerBatchMax` independent gifts under one idempotency key: each is applied (or
   * refused) on its own, keyed by the batch key and its client `id`, so a replayed batch replays
   * every gift, and all of them ride the same group-commit batches.
   */
  async sendBatch(
    items: readonly (SendGift & { id: string })[],
    idem: Idempotent,
  ): Promise<{ results: BatchResult[] }> {
    if (items.length > giftsPerBatchMax) {
      throw new GiftstreamError("batch_too_large", `at most ${giftsPerBatchMax} gifts in one batch`);
    }
    assertBatchIds(items);
    // The batch as a whole is bound to its key first: its own record (it moves nothing) is durable
    // before any gift of it is tried, so the same key with another body (a gift added, say) is
    // refused with nothing moved, in any process. Each gift then has its own record, by its id.
    await this.o.ledger.submit({
      idempotencyKey: idem.key,
      fingerprint: idem.fingerprint,
      accounts: [platformAccounts.coinsSpent],
      transfers: [],
      memo: { batchOf: items.length },
    });
    const keys = batchItemKeys(items, idem);
    // Checked concurrently (the reads may wait on the database), then handed to the ledger in the
    // order sent, so that when a sender's coins run out it is the later gifts that are refused.
    const prepared = await Promise.allSettled(
      items.map((item, i) => {
        const { id: _clientId, ...gift } = item;
        return this.prepare(gift, keys[i]!);
      }),
    );
    const settled = await Promise.allSettled(
      prepared.map((p, i) =>
        p.status === "fulfilled" ? this.submit(p.value) : this.replayInstead(p.reason, keys[i]!),
      ),
    );
    return {
      results: settled.map((outcome, i): BatchResult => {
        const id = items[i]!.id;
        if (outcome.status === "fulfilled") return { id, ok: true, gift: outcome.value.receipt };
        const error = outcome.reason;
        if (!isGiftstreamError(error)) throw error;
        return { id, ok: false, code: error.code, detail: error.message };
      }),
    };
  }

  /**
   * A batch a check refused before it started (its senders' rate limit) may be the retry of one
   * whose every gift was sent: then its first answers stand, read from the records. When some gift
   * of it was not sent (refused, say, for `insufficient_coins`), the retry would send it, so the
   * refusal stands. The same key with another body is `idempotency_key_reused`. Read on refusals
   * only, as for a single gift (`replayInstead`).
   */
  async replayBatchInstead(
    error: unknown,
    items: readonly { id: string }[],
    idem: Idempotent,
  ): Promise<{ results: BatchResult[] }> {
    if (!isGiftstreamError(error)) throw error;
    if ((await this.o.ledger.replayOf(idem.key, idem.fingerprint)) === undefined) throw error;
    const memos = await Promise.all(
      batchItemKeys(items, idem).map(({ key, fingerprint }) => this.o.ledger.replayOf(key, fingerprint)),
    );
    if (memos.some((memo) => memo === undefined)) throw error;
    const receipts = await Promise.all(memos.map((memo) => this.replayed(memo as GiftMemo)));
    return { results: receipts.map((gift, i) => ({ id: items[i]!.id, ok: true, gift })) };
  }

  /** A creator's withdrawable diamonds at `now`, in however many lots: what their wallet shows. */
  async withdrawableDiamonds(userId: string, now: number): Promise<bigint> {
    const { groups } = await this.o.store.withdrawableGroups(userId, now);
    return groups.reduce((sum, group) => sum + group.diamonds, 0n);
  }

  /**
   * Moves lots whose maturation time has come to withdrawable; returns how many. The job calls it for everyone; a
   * cash-out calls it for its creator first, so that what the read path already calls
   * withdrawable is in the account the hold draws on. Both use the same keys, so each lot moves once.
   */
  async mature(limit = 1000, recipientId?: string): Promise<number> {
    return this.lotsLock.run(pendingLotsKey, async () => {
      // Read under the lock, so a chargeback's reversal is either in these rows or waits for them.
      const lots = await this.o.store.listMaturing(this.o.clock(), limit, recipientId);
      // Submitted together, they share group commits; a lot that fails does not hold up the rest,
      // and the first failure is reported once every other lot has moved.
      const settled = await Promise.allSettled(lots.map((lot) => this.matureLot(lot)));
      const failed = settled.find((outcome) => outcome.status === "rejected");
      if (failed) throw failed.reason;
      return lots.length;
    });
  }

  private async matureLot(lot: GiftLot): Promise<void> {
    const remaining = lot.diamonds - lot.reversedDiamonds;
    await this.o.ledger.submit({
      idempotencyKey: `gift:${lot.id}:mature`,
      fingerprint: "mature",
      transfers:
        remaining > 0n
          ? [
              {
                debitAccountId: creatorAccounts.pendingDiamonds(lot.recipientId).id,
                creditAccountId: creatorAccounts.withdrawableDiamonds(lot.recipientId).id,
                amount: remaining,
                kind: "maturation",
                metadata: { giftId: lot.id },
              },
            ]
          : [],
      effects: [
        { type: "gift.mature", data: { id: lot.id } },
        activityEffect({
          userId: lot.recipientId,
          kind: "maturation",
          at: this.o.clock(),
          amounts: { diamonds: remaining.toString() },
          counterparty: null,
          context: null,
          economyVersion: null,
          ref: lot.id,
        }),
      ],
    });
  }
}
