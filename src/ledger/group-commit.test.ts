import fc from "fast-check";
import { describe, expect, it } from "vitest";
import { GiftstreamError } from "../errors.js";
import { type GroupCommitOptions, GroupCommitter, type Queued } from "./group-commit.js";

type Item = Queued<string, string>;

interface Deferred {
  promise: Promise<void>;
  resolve(): void;
}

function deferred(): Deferred {
  let resolve!: () => void;
  const promise = new Promise<void>((r) => {
    resolve = r;
  });
  return { promise, resolve };
}

const defaults: GroupCommitOptions = { batchTransfersMax: 100, batchWaitMs: 0, queueRequestsMax: 1000 };

/**
 * A committer whose commit records each batch (as its requests) and answers every item with its
 * request upper-cased. `gate`, when set, is awaited before a batch is answered.
 */
function recording(options: Partial<GroupCommitOptions> = {}) {
  const batches: string[][] = [];
  const gates: Deferred[] = [];
  const state = { gated: false, failNext: null as Error | null };
  const committer = new GroupCommitter<string, string>({ ...defaults, ...options }, async (batch: Item[]) => {
    batches.push(batch.map((item) => item.request));
    if (state.gated) {
      const gate = deferred();
      gates.push(gate);
      await gate.promise;
    }
    if (state.failNext) {
      const error = state.failNext;
      state.failNext = null;
      throw error;
    }
    for (const item of batch) item.resolve(item.request.toUpperCase());
  });
  return { committer, batches, gates, state };
}

/** Waits until the event loop has run the committer's scheduled drain. */
function ticks(n = 3): Promise<void> {
  return n === 0 ? Promise.resolve() : new Promise((r) => setImmediate(() => void ticks(n - 1).then(r)));
}

async function rejection(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    (value) => {
      throw new Error(`expected a rejection, got ${String(value)}`);
    },
    (error: unknown) => error,
  );
}

describe("GroupCommitter", () => {
  it("commits requests submitted in one tick together, answering each with its own result", async () => {
    const { committer, batches } = recording();
    const results = await Promise.all(["a", "b", "c", "d"].map((r) => committer.submit(r, 1)));
    expect(results).toEqual(["A", "B", "C", "D"]);
    expect(batches).toEqual([["a", "b", "c", "d"]]);
  });

  it("commits nothing before the next tick, and one request alone when idle", async () => {
    const { committer, batches } = recording();
    const pending = committer.submit("a", 1);
    expect(committer.queuedRequests).toBe(1);
    await Promise.resolve();
    expect(batches).toEqual([]);
    expect(await pending).toBe("A");
    expect(await committer.submit("b", 1)).toBe("B");
    expect(batches).toEqual([["a"], ["b"]]);
    expect(committer.queuedRequests).toBe(0);
  });

  it("queues what arrives during a commit into the next batch", async () => {
    const { committer, batches, gates, state } = recording();
    state.gated = true;
    const first = committer.submit("a", 1);
    await ticks();
    expect(batches).toEqual([["a"]]);
    const later = ["b", "c", "d"].map((r) => committer.submit(r, 1));
    await ticks();
    expect(batches).toEqual([["a"]]); // still committing the first
    expect(committer.queuedRequests).toBe(3);
    gates[0]!.resolve();
    expect(await first).toBe("A");
    await ticks();
    expect(batches).toEqual([["a"], ["b", "c", "d"]]);
    gates[1]!.resolve();
    expect(await Promise.all(later)).toEqual(["B", "C", "D"]);
  });

  it("splits batches by weight at batchTransfersMax, sending an over-weight request alone", async () => {
    const { committer, batches } = recording({ batchTransfersMax: 10 });
    const requests: [string, number][] = [
      ["w4a", 4],
      ["w4b", 4],
      ["w4c", 4],
      ["w20", 20],
      ["w3", 3],
      ["w6", 6],
      ["w1", 1],
      ["w10", 10],
    ];
    const results = await Promise.all(requests.map(([r, weight]) => committer.submit(r, weight)));
    expect(results).toEqual(requests.map(([r]) => r.toUpperCase()));
    expect(batches).toEqual([["w4a", "w4b"], ["w4c"], ["w20"], ["w3", "w6", "w1"], ["w10"]]);
  });

  it("fills a batch exactly up to batchTransfersMax", async () => {
    const { committer, batches } = recording({ batchTransfersMax: 5 });
    await Promise.all(["a", "b", "c", "d", "e", "f"].map((r) => committer.submit(r, 1)));
    expect(batches).toEqual([["a", "b", "c", "d", "e"], ["f"]]);
  });

  it("takes half of what waits when more than halveAboveRequests wait, so the halves can overlap", async () => {
    const { committer, batches } = recording({ halveAboveRequests: 4 });
    const requests = ["a", "b", "c", "d", "e", "f", "g", "h", "i"];
    const results = await Promise.all(requests.map((r) => committer.submit(r, 1)));
    expect(results).toEqual(requests.map((r) => r.toUpperCase()));
    // 9 wait: 5 go; 4 is not more than 4, so they go whole.
    expect(batches).toEqual([
      ["a", "b", "c", "d", "e"],
      ["f", "g", "h", "i"],
    ]);
  });

  it("halves within batchTransfersMax, and takes everything at or below halveAboveRequests", async () => {
    const halved = recording({ halveAboveRequests: 2, batchTransfersMax: 3 });
    await Promise.all(["a", "b", "c", "d", "e", "f", "g", "h"].map((r) => halved.committer.submit(r, 1)));
    // Half of 8 is 4, over the weight bound of 3; then 5 wait: half is 3; then 2, taken whole.
    expect(halved.batches).toEqual([
      ["a", "b", "c"],
      ["d", "e", "f"],
      ["g", "h"],
    ]);
    const whole = recording({ halveAboveRequests: 4 });
    await Promise.all(["a", "b", "c", "d"].map((r) => whole.committer.submit(r, 1)));
    expect(whole.batches).toEqual([["a", "b", "c", "d"]]);
  });

  it("keeps every request once, in order, each batch within its bounds (property)", async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.array(fc.integer({ min: 1, max: 6 }), { minLength: 1, maxLength: 60 }),
        fc.integer({ min: 1, max: 12 }),
        fc.option(fc.integer({ min: 1, max: 20 }), { nil: undefined }),
        async (weights, batchTransfersMax, halveAboveRequests) => {
          const { committer, batches } = recording({ batchTransfersMax, halveAboveRequests });
          const requests = weights.map((_, i) => `r${i}`);
          const results = await Promise.all(requests.map((r, i) => committer.submit(r, weights[i]!)));
          expect(results).toEqual(requests.map((r) => r.toUpperCase()));
          expect(batches.flat()).toEqual(requests);
          let waiting = requests.length;
          for (const batch of batches) {
            const weight = batch.reduce((sum, r) => sum + weights[Number(r.slice(1))]!, 0);
            if (batch.length > 1) expect(weight).toBeLessThanOrEqual(batchTransfersMax);
            if (halveAboveRequests !== undefined && waiting > halveAboveRequests)
              expect(batch.length).toBeLessThanOrEqual(Math.ceil(waiting / 2));
            waiting -= batch.length;
          }
        },
      ),
    );
  });

  it("rejects with overloaded at once when queueRequestsMax requests already wait", async () => {
    const { committer, batches } = recording({ queueRequestsMax: 3 });
    const accepted = ["a", "b", "c"].map((r) => committer.submit(r, 1));
    const refused = [committer.submit("d", 1), committer.submit("e", 1)];
    for (const promise of refused) {
      const error = await rejection(promise);
      expect(error).toBeInstanceOf(GiftstreamError);
      expect((error as GiftstreamError).code).toBe("overloaded");
      expect((error as GiftstreamError).status).toBe(503);
    }
    // Refused before anything was committed, and never handed to commit.
    expect(batches).toEqual([]);
    expect(await Promise.all(accepted)).toEqual(["A", "B", "C"]);
    expect(batches).toEqual([["a", "b", "c"]]);
    // Room again once the queue has drained.
    expect(await committer.submit("f", 1)).toBe("F");
  });

  it("counts only waiting requests against queueRequestsMax, not the batch being committed", async () => {
    const { committer, batches, gates, state } = recording({ queueRequestsMax: 2 });
    state.gated = true;
    const first = [committer.submit("a", 1), committer.submit("b", 1)];
    await ticks();
    expect(batches).toEqual([["a", "b"]]);
    const second = [committer.submit("c", 1), committer.submit("d", 1)];
    const error = await rejection(committer.submit("e", 1));
    expect((error as GiftstreamError).code).toBe("overloaded");
    gates[0]!.resolve();
    await ticks();
    gates[1]!.resolve();
    expect(await Promise.all([...first, ...second])).toEqual(["A", "B", "C", "D"]);
  });

  it("close() waits for queued work, then refuses new submits with shutting_down", async () => {
    const { committer, batches, gates, state } = recording({ batchTransfersMax: 2 });
    state.gated = true;
    const results: string[] = [];
    const queued = ["a", "b", "c"].map((r) => committer.submit(r, 1).then((x) => void results.push(x)));
    let closed = false;
    const closing = committer.close().then(() => {
      closed = true;
    });

    const refused = await rejection(committer.submit("late", 1));
    expect(refused).toBeInstanceOf(GiftstreamError);
    expect((refused as GiftstreamError).code).toBe("shutting_down");

    await ticks();
    expect(batches).toEqual([["a", "b"]]);
    expect(closed).toBe(false);
    gates[0]!.resolve();
    await ticks();
    expect(batches).toEqual([["a", "b"], ["c"]]);
    expect(closed).toBe(false);
    gates[1]!.resolve();
    await closing;
    // Every queued caller was answered before close() resolved.
    expect(results).toEqual(["A", "B", "C"]);
    await Promise.all(queued);

    const after = await rejection(committer.submit("later", 1));
    expect((after as GiftstreamError).code).toBe("shutting_down");
    expect(batches).toEqual([["a", "b"], ["c"]]);
    await committer.close(); // a second close is harmless
  });

  it("close() on an idle committer resolves at once", async () => {
    const { committer, batches } = recording();
    await committer.close();
    expect(((await rejection(committer.submit("a", 1))) as GiftstreamError).code).toBe("shutting_down");
    expect(batches).toEqual([]);
  });

  it("rejects every item of a batch whose commit throws, and still runs the next batch", async () => {
    const { committer, batches, gates, state } = recording();
    state.gated = true;
    const boom = new Error("disk on fire");
    state.failNext = boom;
    const doomed = ["a", "b", "c"].map((r) => committer.submit(r, 1));
    await ticks();
    const next = ["d", "e"].map((r) => committer.submit(r, 1));
    gates[0]!.resolve();
    for (const promise of doomed) expect(await rejection(promise)).toBe(boom);
    await ticks();
    gates[1]!.resolve();
    expect(await Promise.all(next)).toEqual(["D", "E"]);
    expect(batches).toEqual([
      ["a", "b", "c"],
      ["d", "e"],
    ]);
    // And it keeps going afterwards.
    state.gated = false;
    expect(await committer.submit("f", 1)).toBe("F");
  });

  it("rejects the items of a batch whose commit throws synchronously", async () => {
    let calls = 0;
    const committer = new GroupCommitter<string, string>(defaults, (batch) => {
      calls++;
      if (calls === 1) throw new Error("sync failure");
      for (const item of batch) item.resolve(item.request);
      return Promise.resolve();
    });
    const first = await Promise.allSettled([committer.submit("a", 1), committer.submit("b", 1)]);
    expect(first.map((s) => (s.status === "rejected" ? (s.reason as Error).message : "ok"))).toEqual([
      "sync failure",
      "sync failure",
    ]);
    expect(await committer.submit("c", 1)).toBe("c");
  });

  it("waits batchWaitMs for company before committing", async () => {
    const { committer, batches } = recording({ batchWaitMs: 40 });
    const a = committer.submit("a", 1);
    await new Promise((r) => setTimeout(r, 10));
    const b = committer.submit("b", 1);
    expect(batches).toEqual([]);
    expect(await Promise.all([a, b])).toEqual(["A", "B"]);
    expect(batches).toEqual([["a", "b"]]);
  });
});
