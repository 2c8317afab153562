/**
 * " (did you mean x?)" for a mistyped key: the closest candidate within two edits, or nothing.
 * Shared by the configuration's and the economy document's validation.
 */
export function didYouMean(
  typed: string,
  candidates: readonly string[],
  distanceOf: (typed: string, candidate: string) => number = editDistance,
): string {
  let best: { candidate: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = distanceOf(typed, candidate);
    if (distance <= 2 && (best === undefined || distance < best.distance)) best = { candidate, distance };
  }
  return best === undefined ? "" : ` (did you mean ${best.candidate}?)`;
}

/** Levenshtein distance; strings whose lengths differ by more than 2, or longer than 64, are far. */
export function editDistance(a: string, b: string): number {
  if (Math.abs(a.length - b.length) > 2 || a.length > 64) return Number.POSITIVE_INFINITY;
  let previous = Array.from({ length: b.length + 1 }, (_, index) => index);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      const substitution = previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1);
      current.push(Math.min(previous[j]! + 1, current[j - 1]! + 1, substitution));
    }
    previous = current;
  }
  return previous[b.length]!;
}
