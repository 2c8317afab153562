const dayMs = 86_400_000;

/**
 * The date a bank file asks the bank to execute on: `businessDays` weekdays after the file's UTC
 * creation date (0: the creation date itself, moved to Monday if it falls on a weekend). Bank
 * holidays are the bank's to handle: it executes on its next business day.
 */
export function executionDate(createdAt: number, businessDays: number): Date {
  let day = Math.floor(createdAt / dayMs) * dayMs;
  const weekend = (ms: number) => {
    const weekday = new Date(ms).getUTCDay();
    return weekday === 0 || weekday === 6;
  };
  while (weekend(day)) day += dayMs;
  for (let left = businessDays; left > 0; ) {
    day += dayMs;
    if (!weekend(day)) left--;
  }
  return new Date(day);
}

/** YYYY-MM-DD of a UTC date. */
export function isoDate(date: Date): string {
  return date.toISOString().slice(0, 10);
}
