import type { StoreEffect } from "../../ledger/types.js";
import type { User, UserStatus } from "./user.js";

/** Storage for users. Writes are control-plane: they move no value. */
export interface UserStore {
  getUser(id: string): Promise<User | undefined>;
  putUser(user: User): Promise<void>;
  /** Sets a status; `effects` (webhook events) are written in the same transaction. */
  setStatus(
    id: string,
    status: UserStatus,
    reason: string | null,
    at: number,
    effects?: readonly StoreEffect[],
  ): Promise<void>;
}
