import { invalidField } from "../invalid-field.js";
import { maskEmail, maskTail } from "../masking.js";
import { parseAccountNumber, parseBic, parseIban, parseRoutingNumber } from "./bank-account.js";
import type { AccountType, PayoutMethodDetails, PayoutMethodType } from "./payout-method.js";

export const payoutMethodLimits = {
  holderNameLengthMax: 200,
  emailLengthMax: 254,
  stripeAccountIdLengthMax: 64,
} as const;

/** The request body: one flat shape, whose fields depend on `type` and on the bank scheme. */
export interface PayoutMethodInput {
  type: PayoutMethodType;
  holderName?: string;
  email?: string;
  accountId?: string;
  iban?: string;
  bic?: string;
  routingNumber?: string;
  accountNumber?: string;
  accountType?: AccountType;
}

export interface ParsedPayoutMethod {
  type: PayoutMethodType;
  holderName: string | null;
  details: PayoutMethodDetails;
  masked: string;
}

const ibanFields = ["iban", "bic"] as const;
const abaFields = ["routingNumber", "accountNumber", "accountType"] as const;
const bankFields = [...ibanFields, ...abaFields] as const;
const walletFields = ["email", "accountId"] as const;

/**
 * Checks a payout method and returns its details in canonical form with its mask. PayPal takes
 * `email` and an optional `holderName`; a Stripe connected account takes `accountId` (`acct_…`) and
 * an optional `holderName`; a bank account takes `holderName` and either `iban` (+ `bic`) or
 * `routingNumber`, `accountNumber` and `accountType`. A field of another shape is refused rather
 * than ignored.
 */
export function parsePayoutMethodInput(input: PayoutMethodInput): ParsedPayoutMethod {
  const holderName = input.holderName === undefined ? null : tidyHolderName(input.holderName);
  if (input.type === "paypal") {
    refuse(input, [...bankFields, "accountId"], "a paypal method");
    if (input.email === undefined) throw invalidField("/email", "is required for a paypal method");
    const email = parseEmail(input.email);
    return { type: "paypal", holderName, details: { email }, masked: maskEmail(email) };
  }
  if (input.type === "stripe_account") {
    refuse(input, [...bankFields, "email"], "a stripe_account method");
    if (input.accountId === undefined) {
      throw invalidField("/accountId", "is required for a stripe_account method");
    }
    const accountId = parseStripeAccountId(input.accountId);
    return {
      type: "stripe_account",
      holderName,
      details: { accountId },
      masked: `acct_${maskTail(accountId.slice("acct_".length))}`,
    };
  }
  refuse(input, walletFields, "a bank_account method");
  if (holderName === null) throw invalidField("/holderName", "is required for a bank_account method");
  if (input.iban !== undefined) {
    refuse(input, abaFields, "an IBAN bank account");
    const iban = parseIban(input.iban);
    const bic = input.bic === undefined ? null : parseBic(input.bic);
    return {
      type: "bank_account",
      holderName,
      details: { iban, bic },
      masked: `${iban.slice(0, 2)}${maskTail(iban)}`,
    };
  }
  refuse(input, ["bic"], "a US bank account");
  for (const field of abaFields) {
    if (input[field] === undefined) {
      throw invalidField(`/${field}`, "is required for a US bank account (or send iban instead)");
    }
  }
  const routingNumber = parseRoutingNumber(input.routingNumber!);
  const accountNumber = parseAccountNumber(input.accountNumber!);
  return {
    type: "bank_account",
    holderName,
    details: { routingNumber, accountNumber, accountType: input.accountType! },
    masked: maskTail(accountNumber),
  };
}

function refuse(input: PayoutMethodInput, fields: readonly (keyof PayoutMethodInput)[], what: string): void {
  for (const field of fields) {
    if (input[field] !== undefined) throw invalidField(`/${field}`, `is not a field of ${what}`);
  }
}

function tidyHolderName(name: string): string {
  const tidy = name.normalize("NFC").replace(/\s+/gu, " ").trim();
  if (!/\p{L}/u.test(tidy)) throw invalidField("/holderName", "must contain a letter");
  return tidy;
}

/**
 * A Stripe account id as Stripe writes them: `acct_` and letters and digits. Whether it is a
 * connected account of this platform only Stripe knows; a transfer to one that is not fails.
 */
function parseStripeAccountId(text: string): string {
  const id = text.trim();
  const pattern = new RegExp(`^acct_[A-Za-z0-9]{1,${payoutMethodLimits.stripeAccountIdLengthMax - 5}}$`);
  if (!pattern.test(id)) throw invalidField("/accountId", "is not a Stripe account id (acct_…)");
  return id;
}

/** A plain mailbox: one `@`, no spaces, a dotted domain. PayPal itself is the final judge. */
function parseEmail(text: string): string {
  const email = text.trim();
  if (!/^[^\s@]{1,64}@[^\s@]+\.[^\s@]{2,}$/u.test(email)) {
    throw invalidField("/email", "is not an email address");
  }
  const at = email.lastIndexOf("@");
  // Domains are case-insensitive; the mailbox part is left as given.
  return `${email.slice(0, at)}${email.slice(at).toLowerCase()}`;
}
