import { auditEffect } from "../../access/audit-effect.js";
import { GiftstreamError } from "../../errors.js";
import { userRestrictedEvent } from "../events/event-data.js";
import { type EventFilter, outboxEffects } from "../events/events.js";
import { isCountryCode, parseBirthDate, type User, type UserStatus } from "./user.js";
import type { UserStore } from "./user-store.js";

export interface UserInput {
  country: string;
  birthDate: string;
  displayName: string;
}

/** Users as the operator's app registers them, and the admin's restrict/block/unblock. */
/** Most users kept in memory; the cache is dropped whole when it would pass this. */
const usersCachedMax = 100_000;

/**
 * Users as the operator's app registers them, and the admin's restrict/block/unblock. Reads are
 * served from memory: every write path here updates it, and flows that change a status inside a
 * ledger transaction call `forget`.
 */
export class Users {
  private readonly cache = new Map<string, { user: User; atMs: number }>();
  /** Reads in flight, so that a burst of requests for one user (a hot creator) reads it once. */
  private readonly reading = new Map<string, Promise<User | undefined>>();
  /**
   * Bumped by every forget: a read that started before a change and ends after it is not
   * cached, and later callers do not join it (else a blocked user could read as active again).
   */
  private readonly changes = new Map<string, number>();
  private epoch = 0;
  /**
   * How long a cached user is trusted. Unbounded with one process, which makes every change; with
   * several, another process's change reaches this one by notice, and at worst after this long.
   */
  cacheTtlMs = Number.POSITIVE_INFINITY;

  constructor(
    private readonly store: UserStore,
    private readonly clock: () => number,
    /** Where a restriction is reported by webhook, if any endpoint wants it. */
    private readonly events?: EventFilter,
  ) {}

  async get(id: string): Promise<User> {
    const user = await this.find(id);
    if (!user) throw new GiftstreamError("not_found", `no user ${id}`);
    return user;
  }

  async find(id: string): Promise<User | undefined> {
    const cached = this.cache.get(id);
    if (cached && Date.now() - cached.atMs < this.cacheTtlMs) return cached.user;
    const stamp = this.stamp(id);
    let reading = this.reading.get(id);
    if (reading === undefined) {
      const started = this.store.getUser(id);
      reading = started;
      this.reading.set(id, started);
      void started.then(
        () => this.reading.get(id) === started && this.reading.delete(id),
        () => this.reading.get(id) === started && this.reading.delete(id),
      );
    }
    const user = await reading;
    if (user && this.stamp(id) === stamp) this.remember(user);
    return user;
  }

  /**
   * Told of every user whose row changed here, so that other processes on the same database drop
   * their copy too (src/cli/shared-state.ts).
   */
  onChanged: ((id: string) => void) | undefined;

  /** Drops a cached user whose row changed outside this service (a status set by a chargeback). */
  forget(id: string): void {
    this.dropCached(id);
    this.onChanged?.(id);
  }

  /** Drops a cached user because another process changed it; tells no one. */
  dropCached(id: string): void {
    this.cache.delete(id);
    this.reading.delete(id);
    if (this.changes.size >= usersCachedMax) {
      // Forgetting the counts invalidates every read in flight, as a new epoch.
      this.changes.clear();
      this.epoch += 1;
    }
    this.changes.set(id, (this.changes.get(id) ?? 0) + 1);
  }

  /** What a read of `id` started now must still see at its end for its result to be cached. */
  private stamp(id: string): string {
    return `${this.epoch}:${this.changes.get(id) ?? 0}`;
  }

  private remember(user: User): void {
    if (this.cache.size >= usersCachedMax) this.cache.clear();
    this.cache.set(user.id, { user, atMs: Date.now() });
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
    const declared = parseBirthDate(input.birthDate, now);
    const existing = await this.find(id);
    // A birth date verified by KYC outranks the one the app declares (DESIGN §1); the store keeps it too.
    const verified = existing?.birthDateVerified === true;
    const user: User = {
      id,
      country: input.country,
      birthDate: verified ? existing.birthDate : declared,
      birthDateVerified: verified,
      displayName: input.displayName,
      status: existing?.status ?? "active",
      statusReason: existing?.statusReason ?? null,
      createdAt: existing?.createdAt ?? now,
      updatedAt: now,
    };
    this.forget(id);
    await this.store.putUser(user);
    this.forget(id);
    return { user, created: existing === undefined };
  }

  async setStatus(id: string, status: UserStatus, reason: string | null, actor: string): Promise<User> {
    const before = await this.get(id);
    const now = this.clock();
    const after: User = { ...before, status, statusReason: reason, updatedAt: now };
    // Reported when a restriction starts, in the transaction that starts it.
    const events =
      status === "restricted" && before.status !== "restricted"
        ? outboxEffects(this.events, {
            type: "user.restricted",
            build: () => userRestrictedEvent(after, `admin:${now}`, now),
          })
        : [];
    // The admin's audit entry is written with the change, in its transaction.
    const audit = auditEffect({
      actor,
      action: `user.${status === "active" ? "unblock" : status === "blocked" ? "block" : "restrict"}`,
      target: id,
      // The status only: the audit log is kept for good, and a user's birth date (verified by
      // KYC once approved) is personal data it has no need of.
      before: { status: before.status, statusReason: before.statusReason },
      after: { status: after.status, statusReason: after.statusReason },
      at: now,
    });
    this.forget(id);
    await this.store.setStatus(id, status, reason, now, [...events, audit]);
    this.forget(id);
    return after;
  }
}
