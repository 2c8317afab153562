/**
 * An override is a partial economy document applied onto a whole one: objects merge key by key
 * (so `regions.US.cashoutMinimumNetMinor` alone can change, and a new region can be added), while
 * arrays (packs, gifts, payout methods, contexts, countries) replace wholesale, because merging
 * lists by position would silently mix two price lists.
 *
 * `null` is refused rather than read as "delete": nothing in a document is removed by an override,
 * a region included, so that no country's users lose their prices by a stray null.
 */
import { GiftstreamError } from "../../errors.js";
import type { EconomyDocument } from "./document.js";
import { childPath, type DocumentProblem, isPlainObject } from "./shape.js";

/** Deeper than any economy document nests (5 levels); bounds recursion on hostile input. */
export const overrideDepthMax = 16;

const problemsMax = 100;

/**
 * The merged document, sharing no mutable structure with either input. It is not validated: unknown
 * fields and bad values pass through for `parseEconomy` to report with their paths.
 */
export function applyOverride(base: EconomyDocument, override: unknown): EconomyDocument {
  if (!isPlainObject(override)) {
    throw new GiftstreamError("invalid_request", "The economy override must be an object", {
      problems: [{ path: "", message: "must be an object" }],
    });
  }
  const problems: DocumentProblem[] = [];
  findForbidden(override, "", 0, problems);
  if (problems.length > 0) {
    const lines = problems.map((problem) => `${problem.path}: ${problem.message}`);
    throw new GiftstreamError("invalid_request", `Invalid economy override:\n${lines.join("\n")}`, {
      problems,
    });
  }
  return merge(base, override) as EconomyDocument;
}

function findForbidden(value: unknown, path: string, depth: number, into: DocumentProblem[]): void {
  if (into.length >= problemsMax) return;
  if (value === null) {
    into.push({ path, message: "must not be null: an override sets values, it cannot remove them" });
    return;
  }
  if (typeof value !== "object") return;
  if (depth >= overrideDepthMax) {
    into.push({ path, message: `nests deeper than ${overrideDepthMax} levels` });
    return;
  }
  const entries = Array.isArray(value)
    ? value.map((item, index) => [index, item] as const)
    : Object.entries(value);
  for (const [key, child] of entries) findForbidden(child, childPath(path, key), depth + 1, into);
}

function merge(base: unknown, override: unknown): unknown {
  if (!isPlainObject(base) || !isPlainObject(override))
    return override === undefined ? copy(base) : copy(override);
  const result: Record<string, unknown> = {};
  for (const key of new Set([...Object.keys(base), ...Object.keys(override)])) {
    const value = Object.hasOwn(override, key) ? merge(base[key], override[key]) : copy(base[key]);
    if (value !== undefined) define(result, key, value);
  }
  return result;
}

/** A deep copy of plain data; anything else is kept as is for validation to refuse. */
function copy(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(copy);
  if (!isPlainObject(value)) return value;
  const result: Record<string, unknown> = {};
  for (const [key, child] of Object.entries(value)) if (child !== undefined) define(result, key, copy(child));
  return result;
}

// An own property even for "__proto__", which plain assignment would turn into a prototype change
// that hides the key from validation.
function define(target: Record<string, unknown>, key: string, value: unknown): void {
  Object.defineProperty(target, key, { value, enumerable: true, writable: true, configurable: true });
}
