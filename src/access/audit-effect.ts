import type { JsonObject, JsonValue, StoreEffect } from "../ledger/types.js";

/**
 * An audit entry written by the ledger request whose change it records, in the same transaction:
 * an action that moves money (a cash-out approved, rejected or resolved by hand) is never on the
 * books without its entry, nor its entry without it. `before` and `after` are stored as
 * `Access.audit` stores them: JSON text.
 */
export function auditEffect(entry: {
  actor: string;
  action: string;
  target: string;
  before: JsonValue;
  after: JsonValue;
  at: number;
}): StoreEffect {
  return { type: "audit.record", data: entry as unknown as JsonObject };
}
