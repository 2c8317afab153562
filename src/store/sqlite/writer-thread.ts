import { createRequire } from "node:module";
import { Worker } from "node:worker_threads";

/**
 * The SQLite writer thread: a generic executor that owns the only write connection and runs each
 * batch of prepared statements in one transaction with synchronous=FULL. All SQL and all logic
 * stay in the main thread; the writer only binds, steps and commits, so the fsync and the page
 * writes of batch N overlap with the ledger preparing batch N+1 on the other core.
 *
 * It is plain JavaScript in a string, so that it runs the same from `src/` (tests, tsx) and from
 * `dist/` without a loader. After a failed batch it refuses every later batch until `reset`:
 * those batches were prepared on top of the failed one and must not land without it.
 */
const source = `
const { parentPort, workerData } = require("node:worker_threads");
const Database = require(workerData.driver);
const db = new Database(workerData.path);
db.defaultSafeIntegers(true);
for (const pragma of workerData.pragmas) db.pragma(pragma);
const statements = new Map();
for (const [name, sql] of Object.entries(workerData.statements)) statements.set(name, db.prepare(sql));
let poisoned = null;
parentPort.on("message", (message) => {
  if (message.type === "reset") {
    poisoned = null;
    parentPort.postMessage({ seq: message.seq, ok: true, changes: 0 });
    return;
  }
  if (message.type === "close") {
    db.close();
    parentPort.postMessage({ seq: message.seq, ok: true, changes: 0 });
    return;
  }
  if (poisoned !== null) {
    parentPort.postMessage({ seq: message.seq, ok: false, message: "refused: an earlier batch failed: " + poisoned });
    return;
  }
  let changes = 0;
  try {
    db.exec("BEGIN IMMEDIATE");
    for (const [name, params] of message.ops) changes += Number(statements.get(name).run(params).changes);
    db.exec("COMMIT");
    parentPort.postMessage({ seq: message.seq, ok: true, changes });
  } catch (error) {
    if (db.inTransaction) db.exec("ROLLBACK");
    poisoned = String((error && error.message) || error);
    parentPort.postMessage({ seq: message.seq, ok: false, message: poisoned });
  }
});
`;

export type WriterOp = [statement: string, params: unknown[]];

interface Reply {
  seq: number;
  ok: boolean;
  changes: number;
  message?: string;
}

export interface WriterThreadOptions {
  path: string;
  pragmas: string[];
  /** Every statement the writer may run, by name. */
  statements: Record<string, string>;
}

export class WriterThread {
  private readonly worker: Worker;
  private readonly waiting = new Map<
    number,
    { resolve(changes: number): void; reject(error: Error): void }
  >();
  private seq = 0;
  private failure: Error | null = null;

  constructor(options: WriterThreadOptions) {
    const driver = createRequire(import.meta.url).resolve("better-sqlite3");
    this.worker = new Worker(source, { eval: true, workerData: { ...options, driver } });
    this.worker.on("message", (reply: Reply) => {
      const waiter = this.waiting.get(reply.seq);
      if (!waiter) return;
      this.waiting.delete(reply.seq);
      if (reply.ok) waiter.resolve(reply.changes);
      else waiter.reject(new Error(`SQLite writer: ${reply.message}`));
    });
    // A dead writer fails everything waiting and everything after: nothing it did not ack landed.
    const die = (error: Error) => {
      this.failure ??= error;
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    };
    this.worker.on("error", die);
    this.worker.on("exit", (code) => die(new Error(`SQLite writer exited with code ${code}`)));
  }

  /** Runs `ops` in one durable transaction; resolves with the rows changed once it has committed. */
  run(ops: WriterOp[]): Promise<number> {
    return this.send({ type: "batch", ops });
  }

  /** Lets the writer take batches again after a failure. */
  reset(): Promise<number> {
    return this.send({ type: "reset" });
  }

  async close(): Promise<void> {
    if (this.failure === null) await this.send({ type: "close" });
    await this.worker.terminate();
  }

  private send(message: Record<string, unknown>): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = ++this.seq;
    return new Promise<number>((resolve, reject) => {
      this.waiting.set(seq, { resolve, reject });
      this.worker.postMessage({ ...message, seq });
    });
  }
}
