/**
 * Effective-dated economy versions. Prices and rates change over time ("the value of coins is
 * always in flux"), and a purchase or a gift keeps the version in force at its own time, so a
 * version is never edited and never takes effect in the past: a change is a new version with a
 * future (or present) effective time. The first version is effective at 0, so some version is in
 * force at every instant.
 *
 * Pure: times are passed in, never read from a clock.
 */
import { GiftstreamError, invariant } from "../../errors.js";
import type { EconomyDocument } from "./document.js";
import { deepFreeze } from "./freeze.js";
import { applyOverride } from "./merge.js";
import { type Economy, parseEconomy } from "./parse.js";
import type { EconomyOptions } from "./validate.js";

export interface EconomyVersion {
  /** e.g. `ev_12`; unique among versions. */
  readonly id: string;
  /** When the version takes effect, in ms since the epoch. */
  readonly effectiveAt: number;
  /** The whole document as written (not only the override that produced it). */
  readonly document: EconomyDocument;
  readonly economy: Economy;
  readonly createdAt: number;
}

export interface PlanVersionRequest {
  effectiveAt: number;
  /** A partial document; see `applyOverride`. */
  override: unknown;
  /**
   * `override` is a whole document, taken as it is rather than applied onto the version in force:
   * a config file's economy at start, from which a key removed must be gone.
   */
  whole?: boolean;
  /** The service clock's time; `effectiveAt` may not be before it. */
  now: number;
  id: string;
  createdAt: number;
}

export const economyVersionIdPattern = /^[A-Za-z0-9_-]{1,64}$/;

/** The last instant a JavaScript Date can hold, 8.64e15 ms (year 275760). */
export const effectiveAtMax = 8_640_000_000_000_000;

/** Orders versions by effective time, then creation time, then id: the last one wins a tie. */
export function compareVersions(a: EconomyVersion, b: EconomyVersion): number {
  if (a.effectiveAt !== b.effectiveAt) return a.effectiveAt < b.effectiveAt ? -1 : 1;
  if (a.createdAt !== b.createdAt) return a.createdAt < b.createdAt ? -1 : 1;
  return a.id < b.id ? -1 : a.id > b.id ? 1 : 0;
}

/** The version in force at `at`: the latest with effectiveAt ≤ at. */
export function versionInForce(versions: readonly EconomyVersion[], at: number): EconomyVersion {
  assertTime(at, "at");
  let best: EconomyVersion | undefined;
  for (const version of versions) {
    if (version.effectiveAt > at) continue;
    if (best === undefined || compareVersions(version, best) > 0) best = version;
  }
  invariant(best !== undefined, `an economy version is in force at ${at} (the first is effective at 0)`);
  return best;
}

/** Versions that take effect after `at`, in the order they will. */
export function scheduledAfter(versions: readonly EconomyVersion[], at: number): EconomyVersion[] {
  assertTime(at, "at");
  return versions.filter((version) => version.effectiveAt > at).sort(compareVersions);
}

/** The first version: a whole document, in force from time 0. */
export function firstVersion(
  document: unknown,
  request: { id: string; createdAt: number },
  options: EconomyOptions = {},
): EconomyVersion {
  assertId(request.id, []);
  assertTime(request.createdAt, "createdAt");
  return buildVersion(request.id, 0, document, request.createdAt, options);
}

/**
 * A new version: the override applied onto the version that will be in force at `effectiveAt`, so
 * a change scheduled after another builds on it. Versions already scheduled later than
 * `effectiveAt` are not rebuilt: each is a whole document, and it replaces this one when it takes
 * effect (`scheduledAfter(versions, effectiveAt)` lists them, for the caller to warn about).
 */
export function planVersion(
  versions: readonly EconomyVersion[],
  request: PlanVersionRequest,
  options: EconomyOptions = {},
): EconomyVersion {
  assertTime(request.now, "now");
  assertTime(request.createdAt, "createdAt");
  const { effectiveAt, now } = request;
  if (!Number.isSafeInteger(effectiveAt) || effectiveAt < 0 || effectiveAt > effectiveAtMax) {
    throw new GiftstreamError(
      "invalid_request",
      `effectiveAt must be an integer of milliseconds since the epoch, from 0 to ${effectiveAtMax}`,
      { field: "effectiveAt" },
    );
  }
  if (effectiveAt < now) {
    throw new GiftstreamError(
      "invalid_request",
      `effectiveAt ${showTime(effectiveAt)} is before now (${showTime(now)}): ` +
        "a version cannot rewrite the past, where purchases and gifts keep the version in force at their time",
      { field: "effectiveAt", effectiveAt, now },
    );
  }
  assertId(request.id, versions);
  const document = request.whole
    ? request.override
    : applyOverride(versionInForce(versions, effectiveAt).document, request.override);
  return buildVersion(request.id, effectiveAt, document, request.createdAt, options);
}

function buildVersion(
  id: string,
  effectiveAt: number,
  document: unknown,
  createdAt: number,
  options: EconomyOptions,
): EconomyVersion {
  const economy = parseEconomy(document, options);
  // parseEconomy accepted it, so it is an EconomyDocument; copied so the caller's object stays theirs.
  const stored = deepFreeze(structuredClone(document) as EconomyDocument);
  return Object.freeze({ id, effectiveAt, document: stored, economy, createdAt });
}

function assertId(id: string, versions: readonly EconomyVersion[]): void {
  if (typeof id !== "string" || !economyVersionIdPattern.test(id)) {
    throw new GiftstreamError(
      "invalid_request",
      "id must be 1 to 64 letters, digits, underscores or hyphens, such as ev_12",
      { field: "id" },
    );
  }
  if (versions.some((version) => version.id === id)) {
    throw new GiftstreamError("invalid_request", `an economy version with id ${id} already exists`, {
      field: "id",
    });
  }
}

function showTime(ms: number): string {
  return ms <= effectiveAtMax ? new Date(ms).toISOString() : `${ms} ms`;
}

// Times come from the service clock and stored rows, not from requests: a bad one is a bug.
function assertTime(time: number, name: string): void {
  invariant(Number.isSafeInteger(time) && time >= 0, `${name} is a non-negative integer of milliseconds`);
}
