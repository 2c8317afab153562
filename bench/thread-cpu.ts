import { readdirSync, readFileSync } from "node:fs";

/** CPU ms so far of each thread of a process, by thread id, from Linux `/proc` (USER_HZ = 100). */
export type ThreadCpu = Map<string, { userMs: number; sysMs: number }>;

/** Linux `/proc` accounting is in USER_HZ ticks, 100 a second. */
export const tickMs = 10;

/** A process's or thread's name and CPU so far, from its `stat` file; throws if it is gone. */
export function statCpu(path: string): { name: string; userMs: number; sysMs: number } {
  const stat = readFileSync(path, "utf8");
  const close = stat.lastIndexOf(")");
  // The name sits in parentheses and may hold spaces; the fields after it are space-separated.
  const fields = stat.slice(close + 2).split(" ");
  return {
    name: stat.slice(stat.indexOf("(") + 1, close),
    userMs: Number(fields[11]) * tickMs,
    sysMs: Number(fields[12]) * tickMs,
  };
}

/** Undefined where there is no `/proc` (not Linux) or the process is gone. */
export function threadCpu(pid: number | undefined): ThreadCpu | undefined {
  if (pid === undefined) return undefined;
  try {
    const threads: ThreadCpu = new Map();
    for (const tid of readdirSync(`/proc/${pid}/task`)) {
      try {
        const { userMs, sysMs } = statCpu(`/proc/${pid}/task/${tid}/stat`);
        threads.set(tid, { userMs, sysMs });
      } catch {
        // The thread ended between the listing and the read.
      }
    }
    return threads;
  } catch {
    return undefined;
  }
}

/**
 * Where a server's CPU went per gift between two samples: its main thread (the event loop: HTTP,
 * auth, validation, the ledger's logic), its busiest other thread (under load, the SQLite writer),
 * and all the rest (V8's collector and compiler threads, libuv's pool). Threads are not named in
 * `/proc` for Node, so the busiest other one is named by its role only in the docs.
 */
export function cpuPerGift(
  pid: number | undefined,
  before: ThreadCpu | undefined,
  after: ThreadCpu | undefined,
  gifts: number,
  /** What `gifts` counts, for the label: a request, for a route that sends none. */
  noun = "gift",
): string {
  if (pid === undefined || !before || !after || gifts <= 0) return `CPU per ${noun}: no /proc here`;
  const us = (ms: number) => Math.round((ms * 1000) / gifts);
  let main = { userMs: 0, sysMs: 0 };
  const others: number[] = [];
  for (const [tid, now] of after) {
    const then = before.get(tid) ?? { userMs: 0, sysMs: 0 };
    const used = { userMs: now.userMs - then.userMs, sysMs: now.sysMs - then.sysMs };
    if (tid === String(pid)) main = used;
    else others.push(used.userMs + used.sysMs);
  }
  others.sort((a, b) => b - a);
  const busiest = others[0] ?? 0;
  const rest = others.slice(1).reduce((sum, ms) => sum + ms, 0);
  return `CPU per ${noun}: main thread ${us(main.userMs + main.sysMs)} µs (user ${us(main.userMs)}, system ${us(main.sysMs)}), busiest other thread ${us(busiest)} µs, other threads ${us(rest)} µs`;
}
