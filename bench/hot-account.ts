import type { Ledger } from "../src/ledger/ledger.js";

/** The account every benchmark sender pays. */
export const hotAccountId = "creator:hot:coins";

/**
 * The benchmarks' load: each sender is one client that sends `perAccount` transfers of 1 to the
 * hot account, waiting for each acknowledgement before the next; `keyOf` gives each an
 * idempotency key. Answers how many went through, how long they took, and their commit latencies
 * sorted.
 */
export async function sendToHotAccount(
  ledger: Ledger,
  senders: readonly string[],
  perAccount: number,
  keyOf?: (sender: string, n: number) => string,
): Promise<{ done: number; elapsedS: number; sortedLatenciesMs: Float64Array }> {
  const latenciesMs = new Float64Array(senders.length * perAccount);
  let done = 0;
  const started = performance.now();
  await Promise.all(
    senders.map(async (id) => {
      for (let n = 0; n < perAccount; n++) {
        const t0 = performance.now();
        await ledger.submit({
          ...(keyOf ? { idempotencyKey: keyOf(id, n) } : {}),
          transfers: [{ debitAccountId: id, creditAccountId: hotAccountId, amount: 1n, kind: "gift" }],
        });
        latenciesMs[done++] = performance.now() - t0;
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  return { done, elapsedS, sortedLatenciesMs: latenciesMs.slice(0, done).sort() };
}
