import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import autocannon from "autocannon";
import { formatRate, printTable } from "./stats.js";
import { cpuPerGift, threadCpu } from "./thread-cpu.js";

/**
 * `POST /v1/gifts/send` over HTTP: the real server (`giftstream serve`, durable commits, API key
 * auth, idempotency keys) in its own process, 10,000 senders and one creator, driven by autocannon
 * with 64 connections from this process. The baseline is a bare Fastify route in the same setup
 * that parses the same body and answers 201, measured in the same run. Everything shares the
 * machine's two cores.
 */
export const key = "gs_bench_admin_key_0123456789abcdefghijkl";
const sendersTotal = Number(process.env.BENCH_SENDERS ?? 10_000);
export const connections = 64;
export const durationS = Number(process.env.BENCH_SECONDS ?? 10);

export interface Started {
  url: string;
  child: ChildProcess;
}

export function start(args: string[], env: Record<string, string>): Promise<Started> {
  const profile = process.env.BENCH_PROFILE_DIR
    ? ["--cpu-prof", `--cpu-prof-dir=${process.env.BENCH_PROFILE_DIR}`]
    : [];
  const child = spawn(process.execPath, ["--max-semi-space-size=64", ...profile, ...args], {
    env: { ...process.env, ...env },
    stdio: ["ignore", "pipe", "inherit"],
  });
  return new Promise((resolve, reject) => {
    let out = "";
    child.stdout!.on("data", (chunk: Buffer) => {
      out += chunk.toString();
      const match =
        /"url":"(http:\/\/127\.0\.0\.1:\d+)"/.exec(out) ?? /LISTENING (http:\/\/127\.0\.0\.1:\d+)/.exec(out);
      if (match) resolve({ url: match[1]!, child });
    });
    child.on("exit", (code) => reject(new Error(`exited with ${code}: ${out.slice(-2000)}`)));
  });
}

export async function stop(s: Started): Promise<void> {
  const exited = new Promise((resolve) => s.child.on("exit", resolve));
  s.child.kill("SIGTERM");
  await exited;
}

export async function inParallel<T>(
  items: T[],
  limit: number,
  work: (item: T) => Promise<void>,
): Promise<void> {
  let next = 0;
  await Promise.all(
    Array.from({ length: limit }, async () => {
      while (next < items.length) await work(items[next++]!);
    }),
  );
}

export function writeBenchConfig(dir: string): string {
  const path = join(dir, "bench.yaml");
  writeFileSync(path, "log:\n  requests: false\n");
  return path;
}

export function gift(sender: number, quantity = 1) {
  return {
    senderId: `viewer${sender}`,
    recipientId: "creator",
    giftId: "rose",
    quantity,
    context: { type: "live" as const, id: "stream-1" },
  };
}

/** A `send-batch` body: `size` gifts from consecutive senders, the `n`th such body. */
export function giftBatch(n: number, size: number, senders: number) {
  return {
    gifts: Array.from({ length: size }, (_, j) => ({ id: String(j), ...gift((n * size + j) % senders) })),
  };
}

/**
 * Drives one route with autocannon; `perRequest` gifts go in each request. `onResponse` sees each
 * answer (the pg benchmark counts the gifts a batch accepted).
 */
export async function run(
  url: string,
  path: string,
  body: (i: number) => object,
  perRequest: number,
  onResponse?: (status: number, body: string) => void,
) {
  let i = 0;
  const result = await autocannon({
    url: `${url}${path}`,
    connections,
    duration: durationS,
    method: "POST",
    headers: { authorization: `Bearer ${key}`, "content-type": "application/json" },
    requests: [
      {
        setupRequest: (req) => {
          const n = i++;
          return {
            ...req,
            headers: { ...req.headers, "idempotency-key": `bench-${process.pid}-${n}` },
            body: JSON.stringify(body(n)),
          };
        },
        ...(onResponse ? { onResponse: (status: number, text: string) => onResponse(status, text) } : {}),
      },
    ],
  });
  return outcome(result, perRequest);
}

/** What a phase reports: gifts (or requests) per second of 2xx answers, latency and failures. */
function outcome(result: autocannon.Result, perRequest: number) {
  return {
    rate: (result["2xx"] * perRequest) / result.duration,
    durationS: result.duration,
    p50: result.latency.p50,
    p99: result.latency.p99,
    errors: result.non2xx + result.errors,
  };
}

/** An authenticated GET, with the same connections and duration as `run`. */
async function runGet(url: string, path: string) {
  const result = await autocannon({
    url: `${url}${path}`,
    connections,
    duration: durationS,
    headers: { authorization: `Bearer ${key}` },
  });
  return outcome(result, 1);
}

export async function benchGiftsHttp(): Promise<void> {
  const dir = mkdtempSync(join(tmpdir(), "giftstream-bench-http-"));
  const dist = join(import.meta.dirname, "..", "src", "cli", "main.js");
  const bare = join(import.meta.dirname, "bare-route.js");
  try {
    // The baseline runs before the service and again after it: this shared machine's speed drifts
    // by a third within minutes, and a single baseline at one end skewed the ratio either way.
    const bareBefore = await runBare(bare);
    const server = await start([dist, "serve"], {
      PORT: "0",
      GIFTSTREAM_DATA_DIR: dir,
      GIFTSTREAM_API_KEY: key,
      LOG_LEVEL: "info",
      // Request logging off, as the bare-Fastify baseline logs nothing either.
      GIFTSTREAM_CONFIG: process.env.BENCH_CONFIG ?? writeBenchConfig(dir),
    });
    // Users and their coins: bonus grants, enough for the whole run.
    const auth = { authorization: `Bearer ${key}`, "content-type": "application/json" };
    const put = (id: string) =>
      fetch(`${server.url}/v1/users/${id}`, {
        method: "PUT",
        headers: auth,
        body: JSON.stringify({ country: "US", birthDate: "1990-01-01", displayName: id }),
      });
    await put("creator");
    const senders = Array.from({ length: sendersTotal }, (_, i) => i);
    await inParallel(senders, 32, async (i) => {
      await put(`viewer${i}`);
      await fetch(`${server.url}/v1/admin/users/viewer${i}/bonus`, {
        method: "POST",
        headers: { ...auth, "idempotency-key": `fund-${i}` },
        body: JSON.stringify({ coins: "1000000" }),
      });
    });

    const pid = server.child.pid;
    let before = threadCpu(pid);
    const single = await run(server.url, "/v1/gifts/send", (n) => gift(n % sendersTotal), 1);
    const singleCpu = cpuPerGift(pid, before, threadCpu(pid), single.rate * single.durationS);
    const batchSize = 100;
    before = threadCpu(pid);
    const batch = await run(
      server.url,
      "/v1/gifts/send-batch",
      (n) => giftBatch(n, batchSize, sendersTotal),
      batchSize,
    );
    const batchCpu = cpuPerGift(pid, before, threadCpu(pid), batch.rate * batch.durationS);
    // The service's own floor: an authenticated read served from memory (the creator, cached),
    // through the same plugins, hooks and auth as a gift, with no ledger, idempotency or writes.
    before = threadCpu(pid);
    const floor = await runGet(server.url, "/v1/users/creator");
    const floorCpu = cpuPerGift(pid, before, threadCpu(pid), floor.rate * floor.durationS, "request");
    await stop(server);

    const bareAfter = await runBare(bare);

    const bareRate = (bareBefore.run.rate + bareAfter.run.rate) / 2;
    printTable(
      `gifts-http: autocannon, ${connections} connections, ${durationS} s each, ${sendersTotal.toLocaleString("en-US")} senders → 1 creator, synchronous=FULL, API key + idempotency`,
      [
        [
          "POST /v1/gifts/send",
          `${formatRate(single.rate)}, p50 ${single.p50} ms, p99 ${single.p99} ms, non-2xx ${single.errors}`,
        ],
        ["  server", singleCpu],
        [
          `POST /v1/gifts/send-batch (${batchSize}/request)`,
          `${formatRate(batch.rate)} gifts, p50 ${batch.p50} ms, p99 ${batch.p99} ms, non-2xx ${batch.errors}`,
        ],
        ["  server", batchCpu],
        [
          "GET /v1/users/{id}, cached (the service's floor)",
          `${formatRate(floor.rate)}, p50 ${floor.p50} ms, p99 ${floor.p99} ms, non-2xx ${floor.errors}`,
        ],
        ["  server", floorCpu],
        ...bareRows("bare Fastify route (baseline), before", bareBefore),
        ...bareRows("bare Fastify route (baseline), after", bareAfter),
        ["single gifts / bare route (mean of both)", `${((single.rate / bareRate) * 100).toFixed(1)} %`],
        ["floor / bare route (mean of both)", `${((floor.rate / bareRate) * 100).toFixed(1)} %`],
        ["targets", "single ≥ 15,000/s, p99 ≤ 20 ms, ≥ 55 % of bare; batches ≥ 100,000 gifts/s"],
      ],
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

/** The bare Fastify route in its own process, driven as the gift route is. */
async function runBare(bare: string) {
  const baseline = await start([bare], {});
  const before = threadCpu(baseline.child.pid);
  const measured = await run(baseline.url, "/v1/gifts/send", (n) => gift(n % sendersTotal), 1);
  const cpu = cpuPerGift(
    baseline.child.pid,
    before,
    threadCpu(baseline.child.pid),
    measured.rate * measured.durationS,
    "request",
  );
  await stop(baseline);
  return { run: measured, cpu };
}

function bareRows(label: string, bare: Awaited<ReturnType<typeof runBare>>): [string, string][] {
  return [
    [label, `${formatRate(bare.run.rate)}, p50 ${bare.run.p50} ms, p99 ${bare.run.p99} ms`],
    ["  server", bare.cpu],
  ];
}
