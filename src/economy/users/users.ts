import type { Access } from "../../access/access.js";
import { GiftstreamError } from "../../errors.js";
import { isCountryCode, parseBirthDate, type User, type UserStatus } from "./user.js";
import type { UserStore } from "./user-store.js";

export interface UserInput {
  country: string;
  birthDate: string;
  displayName: string;
}

/** Users as the operator's app registers them, and the admin's restrict/block/unblock. */
export class Users {
  constructor(
    private readonly store: UserStore,
    private readonly access: Access,
    private readonly clock: () => number,
  ) {}

  async get(id: string): Promise<User> {
    const user = await this.store.getUser(id);
    if (!user) throw new GiftstreamError("not_found", `no user ${id}`);
    return user;
  }

  find(id: string): Promise<User | undefined> {
    return this.store.getUser(id);
  }

  /** Creates or updates; returns whether it created. */
  async put(id: string, input: UserInput): Promise<{ user: User; created: boolean }> {
    const now = this.clock();
    if (!isCountryCode(input.country)) {
      throw new GiftstreamError(
        "invalid_request",
        `country ${input.country} is not an ISO 3166-1 alpha-2 code`,
      );
    }
    const birthDate = parseBirthDate(input.birthDate, now);
    const existing = await this.store.getUser(id);
    const user: User = {
      id,
      country: input.country,
      birthDate,
      displayName: input.displayName,
      status: existing?.status ?? "active",
      statusReason: existing?.statusReason ?? null,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    await this.store.putUser(user);
    return { user, created: existing === undefined };
  }

  async setStatus(id: string, status: UserStatus, reason: string | null, actor: string): Promise<User> {
    const before = await this.get(id);
    const now = this.clock();
    await this.store.setStatus(id, status, reason, now);
    const after: User = { ...before, status, statusReason: reason, updatedAt: now };
    await this.access.audit(
      actor,
      `user.${status === "active" ? "unblock" : status === "blocked" ? "block" : "restrict"}`,
      id,
      before,
      after,
    );
    return after;
  }
}
