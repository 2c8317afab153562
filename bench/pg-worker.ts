import { composeOnPg, type LoadResult, sendGifts } from "./pg-load.js";

/**
 * One of the pg benchmark's sending processes (forked by bench/pg.ts with the IPC channel):
 * composes the service on the schema in `DATABASE_URL`, says `ready`, waits for `go`, sends
 * gifts from its own senders to the creator for the agreed time, answers its result, and closes
 * and exits when told `close`.
 */
export interface WorkerTask {
  senders: number[];
  durationMs: number;
  inFlight: number;
  tag: string;
}

export type WorkerMessage = { type: "ready" } | { type: "result"; result: LoadResult };

const task = JSON.parse(process.argv[2] ?? "null") as WorkerTask | null;
if (!task || !process.send) throw new Error("pg-worker runs forked by bench/pg.ts, with its task as argv[2]");
const tell = (message: WorkerMessage) =>
  new Promise<void>((resolve) => process.send!(message, () => resolve()));

// Messages from the parent, counted from the start so that none is missed: `go`, then `close`.
let received = 0;
let wake = () => {};
process.on("message", () => {
  received++;
  wake();
});
async function told(count: number): Promise<void> {
  while (received < count) await new Promise<void>((resolve) => (wake = resolve));
}

const composed = await composeOnPg(process.env.DATABASE_URL!, process.env.GIFTSTREAM_DATA_DIR!);
await tell({ type: "ready" });
await told(1);
const result = await sendGifts(composed.gifts, task);
// Answered before closing, so that the parent's clock stops at the last answer and it can read
// PostgreSQL's CPU while this process's connections are still open.
await tell({ type: "result", result });
await told(2);
await composed.close();
process.disconnect();
