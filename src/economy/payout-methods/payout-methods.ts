import { randomBytes } from "node:crypto";
import { type Sealer, sealContext } from "../../crypto/sealed.js";
import { GiftstreamError } from "../../errors.js";
import type { EconomyCatalog } from "../catalog.js";
import type { Identity, Kyc } from "../kyc/kyc.js";
import type { Users } from "../users/users.js";
import { namesMatch } from "./name-match.js";
import type { NameMatch, PayoutMethod, PayoutMethodDetails, PayoutMethodType } from "./payout-method.js";
import { type PayoutMethodInput, parsePayoutMethodInput } from "./payout-method-input.js";
import type { PayoutMethodStore, StoredPayoutMethod } from "./payout-method-store.js";

export type { PayoutMethod, PayoutMethodType } from "./payout-method.js";

export interface PayoutMethodsOptions {
  store: PayoutMethodStore;
  sealer: Sealer;
  kyc: Pick<Kyc, "identityOf">;
  users: Users;
  catalog: EconomyCatalog;
  clock: () => number;
  /** `payoutMethods.perUserMax`. */
  perUserMax: number;
}

/** A method with its name match, as its owner sees it listed. */
export interface LinkedPayoutMethod {
  method: PayoutMethod;
  nameMatch: NameMatch;
}

interface SealedPart {
  holderName: string | null;
  details: PayoutMethodDetails;
}

/** Where a method's sealed part lives; `giftstream reseal` seals it again there (sealed-columns.ts). */
export const detailsContext = (userId: string, methodId: string) =>
  sealContext("payout_methods", "details", `${userId}/${methodId}`);

/**
 * Payout methods (DESIGN §2 flow 5): linked before or after identity verification, each checked on
 * the way in, sealed at rest and shown masked. The holder-name match is computed whenever both the
 * method and a verified legal name exist; a cash-out requires it (`cashoutBlocker`).
 */
export class PayoutMethods {
  constructor(private readonly o: PayoutMethodsOptions) {}

  async link(userId: string, input: PayoutMethodInput): Promise<LinkedPayoutMethod> {
    const user = await this.o.users.get(userId);
    const parsed = parsePayoutMethodInput(input);
    const now = this.o.clock();
    if (!this.allowedIn(user.country, parsed.type, now)) throw notAllowed(parsed.type, user.country);
    const id = `pm_${randomBytes(9).toString("base64url")}`;
    const sealedPart: SealedPart = { holderName: parsed.holderName, details: parsed.details };
    const stored: StoredPayoutMethod = {
      id,
      userId,
      type: parsed.type,
      sealed: this.o.sealer.sealJson(sealedPart, detailsContext(userId, id)),
      masked: parsed.masked,
      createdAt: now,
      deletedAt: null,
    };
    if (!(await this.o.store.insert(stored, this.o.perUserMax))) {
      throw new GiftstreamError(
        "too_many_payout_methods",
        `a user may link at most ${this.o.perUserMax} payout methods; delete one first`,
      );
    }
    const method = this.open(stored);
    return { method, nameMatch: nameMatchOf(method, await this.o.kyc.identityOf(userId)) };
  }

  /** The user's methods not deleted, oldest first, each with its name match. */
  async list(userId: string): Promise<LinkedPayoutMethod[]> {
    await this.o.users.get(userId);
    const identity = await this.o.kyc.identityOf(userId);
    const stored = await this.o.store.listActive(userId);
    return stored.map((row) => {
      const method = this.open(row);
      return { method, nameMatch: nameMatchOf(method, identity) };
    });
  }

  /** Soft delete: the method disappears from the list and from new cash-outs. */
  async remove(userId: string, methodId: string): Promise<LinkedPayoutMethod> {
    const method = await this.get(userId, methodId);
    const now = this.o.clock();
    if (!(await this.o.store.markDeleted(userId, methodId, now))) throw noMethod(userId, methodId);
    const deleted = { ...method, deletedAt: now };
    return { method: deleted, nameMatch: nameMatchOf(deleted, await this.o.kyc.identityOf(userId)) };
  }

  /**
   * The method, opened. Absent, another user's, or deleted (unless `includeDeleted`, for a cash-out
   * already in flight): `not_found`, which tells nothing of other users' methods.
   */
  async get(
    userId: string,
    methodId: string,
    options: { includeDeleted?: boolean } = {},
  ): Promise<PayoutMethod> {
    const stored = await this.o.store.get(methodId);
    if (!stored || stored.userId !== userId) throw noMethod(userId, methodId);
    if (stored.deletedAt !== null && options.includeDeleted !== true) throw noMethod(userId, methodId);
    return this.open(stored);
  }

  /**
   * Null when a new cash-out may pay to this method now; otherwise the error it should refuse with:
   * `kyc_required`, then `method_not_allowed` (the region's rules in force at `now`), then
   * `name_mismatch`. A missing, deleted or foreign method throws `not_found` instead.
   */
  async cashoutBlocker(userId: string, methodId: string, now: number): Promise<GiftstreamError | null> {
    const user = await this.o.users.get(userId);
    const method = await this.get(userId, methodId);
    const identity = await this.o.kyc.identityOf(userId);
    if (identity.status !== "verified") {
      return new GiftstreamError(
        "kyc_required",
        `identity verification is ${identity.status}; it must be verified`,
      );
    }
    if (!this.allowedIn(user.country, method.type, now)) return notAllowed(method.type, user.country);
    if (nameMatchOf(method, identity) !== "match") {
      return new GiftstreamError(
        "name_mismatch",
        "the payout method's holder name does not match the verified legal name",
      );
    }
    return null;
  }

  private allowedIn(country: string, type: PayoutMethodType, now: number): boolean {
    const region = this.o.catalog.at(now).economy.regions[country];
    return region?.payoutMethods.includes(type) === true;
  }

  private open(stored: StoredPayoutMethod): PayoutMethod {
    const part = this.o.sealer.openJson<SealedPart>(stored.sealed, detailsContext(stored.userId, stored.id));
    return {
      id: stored.id,
      userId: stored.userId,
      type: stored.type as PayoutMethodType,
      holderName: part.holderName,
      masked: stored.masked,
      details: part.details,
      createdAt: stored.createdAt,
      deletedAt: stored.deletedAt,
    };
  }
}

/**
 * `match` when the holder name is the verified legal name (name-match.ts). A PayPal or Stripe
 * method linked without a holder name is the user's declaration that the account is in their own
 * name: it matches once a legal name is verified, and the provider's own identity checks stand
 * behind it (a Stripe connected account is verified by Stripe) (docs/payout-methods.md).
 */
export function nameMatchOf(method: PayoutMethod, identity: Identity): NameMatch {
  if (identity.status !== "verified" || identity.legalName === null) return "unverified";
  if (method.holderName === null) return method.type === "bank_account" ? "mismatch" : "match";
  return namesMatch(method.holderName, identity.legalName) ? "match" : "mismatch";
}

function noMethod(userId: string, methodId: string): GiftstreamError {
  return new GiftstreamError("not_found", `user ${userId} has no payout method ${methodId}`);
}

function notAllowed(type: PayoutMethodType, country: string): GiftstreamError {
  return new GiftstreamError("method_not_allowed", `${type} payouts are not offered in ${country}`);
}
