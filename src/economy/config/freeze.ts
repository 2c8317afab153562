/** Deep freezing, so that a parsed economy or a stored document cannot change under its readers. */

/**
 * Freezes `value` and everything reachable from it through own enumerable properties; returns it.
 * An already frozen object is still walked: freezing is shallow, so its children may not be.
 */
export function deepFreeze<T>(value: T, seen: WeakSet<object> = new WeakSet()): T {
  if (typeof value !== "object" || value === null || seen.has(value)) return value;
  seen.add(value);
  Object.freeze(value);
  for (const child of Object.values(value)) deepFreeze(child, seen);
  return value;
}
