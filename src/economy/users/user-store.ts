import type { User, UserStatus } from "./user.js";

/** Storage for users. Writes are control-plane: they move no value. */
export interface UserStore {
  getUser(id: string): Promise<User | undefined>;
  putUser(user: User): Promise<void>;
  setStatus(id: string, status: UserStatus, reason: string | null, at: number): Promise<void>;
}
