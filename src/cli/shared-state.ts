import type { Logger } from "pino";
import type { ServiceClock } from "../clock.js";
import type { EconomyCatalog } from "../economy/catalog.js";
import type { Users } from "../economy/users/users.js";
import { GiftstreamError } from "../errors.js";
import type { EventBus } from "../realtime/bus.js";
import type { SqlGiftStore } from "../store/sql/gift-store.js";
import type { SqlDb } from "../store/sql/sql-db.js";
import type { WebhookEndpoints } from "../webhooks/endpoints.js";

/** What one process tells the others it changed; each says only "go re-read". */
export type ChangeNotice =
  | { type: "user"; id: string }
  | { type: "lots"; id: string }
  | { type: "economy" }
  | { type: "webhooks" }
  | { type: "clock" };

/** The one topic change notices travel on. */
const topic = "changes";

const clockSetting = "test_clock_frozen_at";

/**
 * Keeps what each process caches (users, senders' lot orders, economy versions, webhook
 * subscriptions) and the test clock in step across the processes sharing one database. A change
 * here is published on the bus; a notice from another process makes this one re-read from the
 * database. Because a notice may be lost (pub/sub delivers at most once), every process also
 * re-reads on a timer, and cached users and lot orders expire: a notice makes a change visible
 * in milliseconds, the timer within `refreshMs` at worst.
 *
 * The embedded store has one process and needs none of this; `start` is not called there.
 */
export class SharedState {
  private timer: NodeJS.Timeout | undefined;
  private unsubscribe: (() => void) | undefined;

  constructor(
    private readonly o: {
      bus: EventBus<ChangeNotice>;
      db: SqlDb;
      users: Users;
      gifts: SqlGiftStore;
      catalog: EconomyCatalog;
      endpoints: WebhookEndpoints;
      clock: ServiceClock;
      refreshMs: number;
      /** Only a test-mode service follows the test clock; a production one never reads it. */
      testMode: boolean;
      logger: Logger;
    },
  ) {}

  async start(): Promise<void> {
    const { bus, users, gifts, catalog, endpoints } = this.o;
    users.cacheTtlMs = this.o.refreshMs;
    endpoints.writeAll = true;
    gifts.lotOrderTtlMs = this.o.refreshMs;
    users.onChanged = (id) => bus.publish(topic, { type: "user", id });
    gifts.onLotsChanged = (id) => bus.publish(topic, { type: "lots", id });
    catalog.onChanged = () => bus.publish(topic, { type: "economy" });
    endpoints.onChanged = () => bus.publish(topic, { type: "webhooks" });
    this.unsubscribe = bus.subscribe(topic, (notice) => {
      this.apply(notice).catch((error: unknown) =>
        this.o.logger.error({ err: error }, "change notice failed"),
      );
    });
    await this.refresh();
    this.timer = setInterval(() => {
      this.refresh().catch((error: unknown) => this.o.logger.error({ err: error }, "cache refresh failed"));
    }, this.o.refreshMs);
    this.timer.unref();
  }

  /**
   * Test mode: freezes every process's clock at `ms` (the one that asked first, then the rest).
   * The stored time only moves forward too: a process that had not yet heard of a later time set
   * elsewhere used to store its earlier one over it, and the processes stayed on two clocks for
   * good (each clock only follows forward). Such a request is refused, and this clock follows the
   * later time.
   */
  async setClock(ms: number): Promise<void> {
    this.o.clock.set(ms);
    const integer = this.o.db.dialect === "postgres" ? "bigint" : "integer";
    const changed = await this.o.db.execute([
      {
        sql: `INSERT INTO settings (key, value) VALUES (?, ?)
              ON CONFLICT (key) DO UPDATE SET value = excluded.value
              WHERE CAST(settings.value AS ${integer}) <= CAST(excluded.value AS ${integer})`,
        params: [clockSetting, String(ms)],
      },
    ]);
    if (changed === 0) {
      await this.readClock();
      throw new GiftstreamError(
        "invalid_request",
        `the test clock only moves forward: another process set it to ${new Date(this.o.clock.now()).toISOString()}`,
      );
    }
    this.o.bus.publish(topic, { type: "clock" });
  }

  stop(): void {
    clearInterval(this.timer);
    this.unsubscribe?.();
  }

  private async apply(notice: ChangeNotice): Promise<void> {
    switch (notice.type) {
      case "user":
        this.o.users.dropCached(notice.id);
        return;
      case "lots":
        this.o.gifts.dropLots(notice.id);
        return;
      case "economy":
        return this.o.catalog.reload();
      case "webhooks":
        return this.o.endpoints.refresh();
      case "clock":
        return this.readClock();
    }
  }

  /** Users and lot orders expire one by one (their TTL); the rest is small and re-read whole. */
  private async refresh(): Promise<void> {
    await Promise.all([this.o.catalog.reload(), this.o.endpoints.refresh(), this.readClock()]);
  }

  /** The test clock only moves forward, so a stale or repeated reading is harmless. */
  private async readClock(): Promise<void> {
    if (!this.o.testMode) return;
    const row = await this.o.db.get("SELECT value FROM settings WHERE key = ?", [clockSetting]);
    if (row === undefined) return;
    const ms = Number(row.value);
    if (Number.isSafeInteger(ms)) this.o.clock.follow(ms);
  }
}
