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
