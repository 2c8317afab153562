/**
 * Runs `page` (which removes at most `pageRows` rows and says how many it did) until a page comes
 * back short, or `pagesMax` pages have run; returns how many rows went in all. A purge that took
 * one page a pass fell behind for good once more rows expired per interval than a page holds (one
 * page of 10,000 an hour is under 3 idempotent requests a second). Pages are separate
 * transactions, so a long backlog never holds the writer for long, and the event loop turns
 * between them.
 */
export async function drain(
  page: (pageRows: number) => Promise<number>,
  pageRows: number,
  pagesMax: number,
): Promise<number> {
  let total = 0;
  for (let pages = 0; pages < pagesMax; pages++) {
    const removed = await page(pageRows);
    total += removed;
    if (removed < pageRows) break;
  }
  return total;
}

/**
 * How often each purge job runs (the idempotency records, the finished webhook deliveries), and
 * the pages one pass may take: 10 million rows every 10 minutes at most.
 */
export const purgePass = { intervalMs: 600_000, pageRows: 10_000, pagesMax: 1_000 } as const;

/** A purge job's pass: `page` drained in pages of `purgePass`; how many rows went. */
export function purging(page: (pageRows: number) => Promise<number>): () => Promise<number> {
  return () => drain(page, purgePass.pageRows, purgePass.pagesMax);
}
