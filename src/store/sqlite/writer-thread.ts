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
const chunkRows = workerData.chunkRows;
const nullable = (id) => (id === 0n ? null : id);
// Columnar ops arrive as typed arrays (moved, not copied); rows are bound in chunks of chunkRows.
function runChunked(n, width, fill, one, many) {
  let changes = 0;
  for (let i = 0; i < n; ) {
    const chunk = n - i >= chunkRows ? chunkRows : 1;
    const params = new Array(chunk * width);
    for (let j = 0; j < chunk; j++) fill(params, j * width, i + j);
    changes += Number(statements.get(chunk === 1 ? one : many).run(params).changes);
    i += chunk;
  }
  return changes;
}
function transfers(c) {
  return runChunked(c.n, 12, (p, k, j) => {
    p[k] = c.id[j];
    p[k + 1] = BigInt(c.type[j]);
    p[k + 2] = c.debit[j];
    p[k + 3] = c.credit[j];
    p[k + 4] = c.amount[j];
    p[k + 5] = c.kind[j];
    p[k + 6] = nullable(c.pendingId[j]);
    p[k + 7] = Number.isNaN(c.expiresAt[j]) ? null : BigInt(c.expiresAt[j]);
    p[k + 8] = c.metadata[j];
    p[k + 9] = BigInt(c.createdAt[j]);
    p[k + 10] = nullable(c.debitPrev[j]);
    p[k + 11] = nullable(c.creditPrev[j]);
  }, "insertTransfer", "insertTransferN");
}
function balances(c) {
  return runChunked(c.n, 6, (p, k, j) => {
    p[k] = c.rowid[j];
    p[k + 1] = c.debitsPosted[j];
    p[k + 2] = c.creditsPosted[j];
    p[k + 3] = c.debitsPending[j];
    p[k + 4] = c.creditsPending[j];
    p[k + 5] = nullable(c.head[j]);
  }, "upsertBalance", "upsertBalanceN");
}
// SQL texts the main thread numbered (writes it sends again and again), by number, each prepared
// on its first use as text is, and kept once it prepared; texts sent as text are kept up to a bound.
const texts = new Map();
const prepared = new Map();
const adHoc = new Map();
function run(id, params) {
  let statement = prepared.get(id);
  if (statement === undefined) {
    const sql = texts.get(id);
    if (sql === undefined) throw new Error("no SQL text numbered " + id);
    statement = db.prepare(sql);
    prepared.set(id, statement);
  }
  return Number(statement.run(params).changes);
}
function exec(sql, params) {
  let statement = adHoc.get(sql);
  if (statement === undefined) {
    if (adHoc.size >= 256) adHoc.clear();
    statement = db.prepare(sql);
    adHoc.set(sql, statement);
  }
  return Number(statement.run(params).changes);
}
let poisoned = null;
parentPort.on("message", (message) => {
  // Definitions first, whatever else happens to this message (a refused batch): later messages
  // use them.
  if (message.defs !== undefined) for (const [id, sql] of message.defs) texts.set(id, sql);
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
  if (message.type === "control") {
    // Control-plane writes (keys, users, versions, audit) depend on no batch before them: they
    // run even after a failed batch, and their own failure poisons nothing.
    try {
      db.exec("BEGIN IMMEDIATE");
      let controlChanges = 0;
      for (const op of message.ops) controlChanges += op[0] === "run" ? run(op[1], op[2]) : exec(op[1], op[2]);
      db.exec("COMMIT");
      parentPort.postMessage({ seq: message.seq, ok: true, changes: controlChanges });
    } catch (error) {
      if (db.inTransaction) db.exec("ROLLBACK");
      parentPort.postMessage({ seq: message.seq, ok: false, message: String((error && error.message) || error) });
    }
    return;
  }
  if (poisoned !== null) {
    parentPort.postMessage({ seq: message.seq, ok: false, message: "refused: an earlier batch failed: " + poisoned });
    return;
  }
  let changes = 0;
  try {
    db.exec("BEGIN IMMEDIATE");
    for (const op of message.ops) {
      if (op[0] === "transfers") changes += transfers(op[1]);
      else if (op[0] === "balances") changes += balances(op[1]);
      else if (op[0] === "run") changes += run(op[1], op[2]);
      else if (op[0] === "exec") changes += exec(op[1], op[2]);
      else changes += Number(statements.get(op[0]).run(op[1]).changes);
    }
    db.exec("COMMIT");
    parentPort.postMessage({ seq: message.seq, ok: true, changes });
  } catch (error) {
    if (db.inTransaction) db.exec("ROLLBACK");
    poisoned = String((error && error.message) || error);
    parentPort.postMessage({ seq: message.seq, ok: false, message: poisoned });
  }
});
`;

/** Transfer rows by column. 0n stands for NULL in the id columns, NaN in `expiresAt`. */
export interface TransferColumns {
  n: number;
  id: BigInt64Array;
  type: Uint8Array;
  debit: string[];
  credit: string[];
  amount: BigInt64Array;
  kind: string[];
  pendingId: BigInt64Array;
  expiresAt: Float64Array;
  metadata: (string | null)[];
  createdAt: Float64Array;
  debitPrev: BigInt64Array;
  creditPrev: BigInt64Array;
}

/** Balance rows by column. 0n in `head` stands for NULL. */
export interface BalanceColumns {
  n: number;
  rowid: BigInt64Array;
  debitsPosted: BigInt64Array;
  creditsPosted: BigInt64Array;
  debitsPending: BigInt64Array;
  creditsPending: BigInt64Array;
  head: BigInt64Array;
}

/** A statement by name with its parameters, or a columnar bulk write, or SQL text with its parameters. */
export type WriterOp =
  | [statement: string, params: unknown[]]
  | ["transfers", TransferColumns]
  | ["balances", BalanceColumns]
  | ["exec", sql: string, params: unknown[]];

/** What is posted: `exec` ops whose SQL the writer already knows travel as its number instead. */
type PostedOp = WriterOp | ["run", sqlId: number, params: unknown[]];

/**
 * Most SQL texts numbered for the writer, and the longest numbered. The stores' statements are a
 * few hundred fixed texts; past the count, and for long one-off texts (an import's multi-row
 * inserts), SQL travels as text.
 */
const definedSqlMax = 4_096;
const definedSqlLengthMax = 4_096;

interface Reply {
  seq: number;
  ok: boolean;
  changes: number;
  message?: string;
}

export interface WriterThreadOptions {
  path: string;
  /** Rows per multi-row statement (the `…N` statements take exactly this many). */
  chunkRows: number;
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
  /**
   * SQL texts the writer has been sent, by number. A batch's SQL would otherwise be copied to the
   * writer with every row (a gift's history entries and gift row carry several hundred bytes of
   * it), and hashed there again to find its prepared statement.
   */
  private readonly sqlIds = new Map<string, number>();
  private nextSqlId = 0;

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
    // A dead writer fails everything waiting and everything after. A batch it had not acknowledged
    // may still have committed (it can die between COMMIT and the reply): the store starts a new
    // writer and reads the file back, which holds the truth either way.
    const die = (error: Error) => {
      this.failure ??= error;
      for (const waiter of this.waiting.values()) waiter.reject(error);
      this.waiting.clear();
    };
    this.worker.on("error", die);
    this.worker.on("exit", (code) =>
      die(
        new Error(
          `SQLite writer exited with code ${code}; a batch it had not acknowledged may or may not have committed`,
        ),
      ),
    );
  }

  /** Whether the thread has died: it takes nothing more, and a new one must take its place. */
  get dead(): boolean {
    return this.failure !== null;
  }

  /** Runs `ops` in one durable transaction; resolves with the rows changed once it has committed. */
  run(ops: WriterOp[]): Promise<number> {
    // Typed arrays move to the writer instead of being copied.
    const transfer: ArrayBuffer[] = [];
    for (const op of ops) {
      if (op[0] !== "transfers" && op[0] !== "balances") continue;
      for (const column of Object.values(op[1])) {
        if (ArrayBuffer.isView(column)) transfer.push(column.buffer as ArrayBuffer);
      }
    }
    const { posted, defs } = this.numbered(ops);
    return this.send({ type: "batch", ops: posted }, transfer, defs);
  }

  /** Runs control-plane statements in their own transaction, outside the batch pipeline's poisoning. */
  control(ops: WriterOp[]): Promise<number> {
    const { posted, defs } = this.numbered(ops);
    return this.send({ type: "control", ops: posted }, [], defs);
  }

  /**
   * `ops` with known SQL texts as numbers, and the texts numbered now. Those are recorded as known
   * only once the message defining them is posted (`send`): a post that fails defines nothing.
   */
  private numbered(ops: WriterOp[]): { posted: PostedOp[]; defs: Map<string, number> } {
    const defs = new Map<string, number>();
    const posted: PostedOp[] = new Array(ops.length);
    for (let i = 0; i < ops.length; i++) {
      const op = ops[i]!;
      if (op[0] !== "exec") {
        posted[i] = op;
        continue;
      }
      const sql = op[1] as string;
      let id = this.sqlIds.get(sql) ?? defs.get(sql);
      if (
        id === undefined &&
        sql.length <= definedSqlLengthMax &&
        this.sqlIds.size + defs.size < definedSqlMax
      ) {
        id = this.nextSqlId++;
        defs.set(sql, id);
      }
      posted[i] = id === undefined ? op : ["run", id, op[2] as unknown[]];
    }
    return { posted, defs };
  }

  /** Lets the writer take batches again after a failure. */
  reset(): Promise<number> {
    return this.send({ type: "reset" });
  }

  async close(): Promise<void> {
    if (this.failure === null) await this.send({ type: "close" });
    await this.worker.terminate();
  }

  private send(
    message: Record<string, unknown>,
    transfer: ArrayBuffer[] = [],
    defs?: Map<string, number>,
  ): Promise<number> {
    if (this.failure) return Promise.reject(this.failure);
    const seq = ++this.seq;
    return new Promise<number>((resolve, reject) => {
      const posted =
        defs === undefined || defs.size === 0
          ? { ...message, seq }
          : { ...message, seq, defs: [...defs].map(([sql, id]) => [id, sql]) };
      try {
        // Throws on a value that cannot be cloned; then nothing was sent.
        this.worker.postMessage(posted, transfer);
      } catch (error) {
        reject(error);
        return;
      }
      this.waiting.set(seq, { resolve, reject });
      if (defs !== undefined) for (const [sql, id] of defs) this.sqlIds.set(sql, id);
    });
  }
}
