import { randomBytes } from "node:crypto";
import { configure } from "safe-stable-stringify";
import type { AuditEntry } from "../access/access-store.js";
import { GiftstreamError } from "../errors.js";
import { isoTime } from "../iso-time.js";
import { KeyedLock, type KeyedLocks } from "./cashouts/keyed-lock.js";
import type { EconomyDocument } from "./config/document.js";
import type { EconomyRegion } from "./config/parse.js";
import {
  type EconomyVersion,
  firstVersion,
  planVersion,
  scheduledAfter,
  versionInForce,
} from "./config/versions.js";

/** Key-sorted JSON, to compare documents whatever their key order. */
const canonical = configure({ deterministic: true });

/** What is stored of an economy version. */
export interface StoredEconomyVersion {
  id: string;
  effectiveAt: number;
  document: EconomyDocument;
  createdAt: number;
}

/** Storage for economy versions. Versions are never edited: a change is a new version. */
export interface EconomyStore {
  /** `document` as stored: parsed again before use. */
  listVersions(): Promise<(Omit<StoredEconomyVersion, "document"> & { document: unknown })[]>;
  insertVersion(version: StoredEconomyVersion, audit: AuditEntry): Promise<void>;
}

function newVersionId(): string {
  return `ev_${randomBytes(6).toString("base64url")}`;
}

/**
 * The economy versions in force and scheduled. A purchase or a gift asks for the version in force
 * at its own time; an operator schedules new versions from an effective time, never in the past.
 */
export class EconomyCatalog {
  private constructor(
    private readonly store: EconomyStore,
    private readonly clock: () => number,
    private readonly amountMax: bigint,
    private versions: EconomyVersion[],
    /** Serializes schedules; shared by every process on the database (Coordination). */
    private readonly locks: KeyedLocks,
  ) {}

  /**
   * Loads the stored versions. An empty database gets `configured` as its first version; a
   * configuration that overrides the economy and differs from the version in force now becomes a
   * new version effective now, so an edited config file takes effect at the next start.
   */
  static async open(options: {
    store: EconomyStore;
    clock: () => number;
    amountMax: bigint;
    configured: { document: EconomyDocument; overridden: boolean };
    locks?: KeyedLocks;
  }): Promise<EconomyCatalog> {
    const { store, clock, amountMax, configured } = options;
    const catalog = new EconomyCatalog(store, clock, amountMax, [], options.locks ?? new KeyedLock());
    await catalog.reload();
    const versions = catalog.versions;
    if (versions.length === 0) {
      const first = firstVersion(
        configured.document,
        { id: newVersionId(), createdAt: clock() },
        { amountMax },
      );
      await catalog.save(first, "system", "economy.seed");
    } else if (configured.overridden) {
      // The file's economy as a whole, not merged onto the version in force: merged, a key removed
      // from the file stayed, and the merge never equalled the file, so every start added another
      // version. Compared key-sorted, so a mere change of key order adds none either.
      const current = catalog.at(clock());
      if (canonical(current.document) !== canonical(configured.document)) {
        await catalog.schedule("now", configured.document, "system", { whole: true });
      }
    }
    return catalog;
  }

  /**
   * The version a record names (a gift's or a purchase's `economyVersion`), else the one in force at
   * `at`: what a process that had not yet reloaded a version scheduled for "now" used is the one
   * its records name, not the one in force by the clock.
   */
  recorded(id: string, at: number): EconomyVersion {
    return this.versions.find((v) => v.id === id) ?? this.at(at);
  }

  /** The version in force at `at`. */
  at(at: number): EconomyVersion {
    return versionInForce(this.versions, at);
  }

  scheduled(after: number): EconomyVersion[] {
    return scheduledAfter(this.versions, after);
  }

  /** Schedules `override`, applied onto the version in force at `effectiveAt` (or, `whole`, as it is). */
  async schedule(
    effectiveAt: number | "now",
    override: unknown,
    actor: string,
    options: { whole?: boolean } = {},
  ): Promise<EconomyVersion> {
    // One schedule at a time across processes, each planned on every version stored so far: a
    // version planned on a stale list would silently undo one another process just scheduled.
    // The request's own time, read before any wait: "effective now" must not become "the past"
    // while the lock is awaited. "now" is that same reading: a time read by the caller a moment
    // before could already be in the past by it (a start on a running clock failed so, now and then).
    const now = this.clock();
    const at = effectiveAt === "now" ? now : effectiveAt;
    return this.locks.run("schedule", async () => {
      await this.reload();
      const version = planVersion(
        this.versions,
        { effectiveAt: at, override, now, id: newVersionId(), createdAt: now, whole: options.whole ?? false },
        { amountMax: this.amountMax },
      );
      await this.save(version, actor, "economy.schedule");
      return version;
    });
  }

  /** The region of `country` in the version in force now, or a clear refusal. */
  region(country: string, at: number): { version: EconomyVersion; region: EconomyRegion } {
    const version = this.at(at);
    const region = version.economy.regions[country];
    if (!region) throw new GiftstreamError("not_found", `no price list for country ${country}`);
    return { version, region };
  }

  /** Told when this process adds a version, so other processes on the database reload theirs. */
  onChanged: (() => void) | undefined;

  /**
   * Reads the versions back from the store: another process may have scheduled one. Versions are
   * only ever added, so the stored list is the whole truth.
   */
  async reload(): Promise<void> {
    const stored = await this.store.listVersions();
    // Merged by id, never replaced: a reload that read before this process's own insert committed
    // (or two reloads finishing out of order) must not drop a version this process already has.
    const known = new Map(this.versions.map((v) => [v.id, v]));
    if (stored.every((v) => known.has(v.id))) return;
    const merged = stored.map(
      (v) =>
        known.get(v.id) ?? {
          ...firstVersion(v.document, { id: v.id, createdAt: v.createdAt }, { amountMax: this.amountMax }),
          effectiveAt: v.effectiveAt,
        },
    );
    const storedIds = new Set(stored.map((v) => v.id));
    this.versions = [...merged, ...this.versions.filter((v) => !storedIds.has(v.id))];
  }

  private async save(version: EconomyVersion, actor: string, action: string): Promise<void> {
    // The audit entry is written with the version, in its transaction.
    await this.store.insertVersion(version, {
      actor,
      action,
      target: version.id,
      before: null,
      after: { id: version.id, effectiveAt: isoTime(version.effectiveAt) },
      at: version.createdAt,
    });
    // A reload while the insert was in flight may have read it already.
    if (!this.versions.some((v) => v.id === version.id)) this.versions = [...this.versions, version];
    this.onChanged?.();
  }
}
