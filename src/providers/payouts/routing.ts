import type { PayoutDestination } from "./rail.js";

/**
 * One routing rule: a cash-out goes to `rail` when every field the rule names matches. Rules are
 * tried in order and the first match wins, so specific rules go before general ones.
 */
export interface PayoutRoute {
  rail: string;
  /** The payout method's type. */
  methodType?: PayoutDestination["type"] | "stripe_account";
  /** How a bank account is addressed: `iban` (SEPA) or `aba` (US routing and account number). */
  scheme?: "iban" | "aba";
  /** The payout currency (ISO 4217). */
  currency?: string;
  /** The creator's country (ISO 3166-1 alpha-2). */
  country?: string;
}

export interface RouteQuery {
  destination: PayoutDestination | { type: "stripe_account" };
  currency: string;
  country: string;
}

export function schemeOfDestination(destination: RouteQuery["destination"]): "iban" | "aba" | undefined {
  if (destination.type !== "bank_account") return undefined;
  return "iban" in destination ? "iban" : "aba";
}

/** The rail of the first rule that matches and whose rail is available; undefined when none does. */
export function routeFor(
  routes: readonly PayoutRoute[],
  query: RouteQuery,
  available: (rail: string) => boolean,
): string | undefined {
  const scheme = schemeOfDestination(query.destination);
  for (const route of routes) {
    if (route.methodType !== undefined && route.methodType !== query.destination.type) continue;
    if (route.scheme !== undefined && route.scheme !== scheme) continue;
    if (route.currency !== undefined && route.currency !== query.currency) continue;
    if (route.country !== undefined && route.country !== query.country) continue;
    if (available(route.rail)) return route.rail;
  }
  return undefined;
}
