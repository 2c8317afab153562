import { createHash } from "node:crypto";
import { pino } from "pino";
import { configure } from "safe-stable-stringify";
import { InFlightKeys } from "../src/api/idempotency.js";
import { type Composed, composeApp } from "../src/cli/serve.js";
import { loadConfig } from "../src/config/index.js";
import { Bonuses } from "../src/economy/bonus.js";
import type { Gifts } from "../src/economy/gifts/gifts.js";
import type { Idempotent } from "../src/economy/purchases/purchases.js";
import { gift, inParallel, key } from "./gifts-http.js";

/**
 * What the pg benchmark's processes share: the environment that composes the service on a
 * PostgreSQL schema, and the in-process load on the gift service.
 */

/** Secrets PostgreSQL needs from the environment (a shared database refuses generated ones); bench-only values. */
const pgSecrets = {
  GIFTSTREAM_SECRET_KEY: "0123456789abcdef".repeat(4),
  GIFTSTREAM_TOKEN_SECRET: "giftstream-bench-token-secret-0123456789",
};

/** The environment `giftstream serve` (or `composeApp`) needs to run on `databaseUrl`. */
export function pgEnv(databaseUrl: string, dataDir: string): Record<string, string> {
  return { DATABASE_URL: databaseUrl, GIFTSTREAM_DATA_DIR: dataDir, GIFTSTREAM_API_KEY: key, ...pgSecrets };
}

/** The whole service as `giftstream serve` composes it, on PostgreSQL, without listening. */
export async function composeOnPg(databaseUrl: string, dataDir: string): Promise<Composed> {
  const config = loadConfig({ env: { ...pgEnv(databaseUrl, dataDir), LOG_LEVEL: "warn" } });
  const composed = await composeApp(config, pino({ level: "warn" }), { print: () => {} });
  await composed.app.ready();
  return composed;
}

/** The one creator the viewers send to, and the bonus coins each viewer gets: more than any run sends. */
export const creatorId = "creator";
export const fundingCoins = 1_000_000n;

/** The creator and the viewers (`gift(i).senderId` for each of `senders`), each viewer funded by a bonus grant, through the services. */
export async function createViewers(composed: Composed, senders: readonly number[]): Promise<void> {
  const profile = { country: "US", birthDate: "1990-01-01" };
  await composed.users.put(creatorId, { ...profile, displayName: creatorId });
  const bonuses = new Bonuses(composed.runtime.ledger, composed.users, composed.clock.now);
  await inParallel([...senders], 64, async (i) => {
    const id = gift(i).senderId;
    await composed.users.put(id, { ...profile, displayName: id });
    await bonuses.grant(id, fundingCoins, "bench", "bench", { key: `fund-${id}`, fingerprint: "fund" });
  });
}

const canonical = configure({ deterministic: true, bigint: true });
const sha256 = (text: string): string => createHash("sha256").update(text).digest("base64url");

/**
 * The key and fingerprint `idempotencyOf` (src/api/idempotency.ts) derives from an HTTP request
 * of `caller` to `POST /v1/gifts/send` with `header` as its `Idempotency-Key`, so an in-process
 * send hashes exactly what a request does.
 */
function idempotencyOf(caller: string, header: string, body: object): Idempotent {
  return {
    key: `http:${sha256(`${caller}\u0000POST /v1/gifts/send\u0000${header}`)}`,
    fingerprint: sha256(canonical({ params: {}, body }) ?? ""),
  };
}

export interface LoadResult {
  /** Gifts answered as sent. */
  done: number;
  /** Sends refused or failed; the first error's text, if any. */
  failed: number;
  firstError: string | null;
  /** Diamonds the answered receipts say the creator earned, as a decimal string. */
  diamonds: string;
  /** From the first send to the last answer, drained: every send started is answered. */
  elapsedS: number;
  latenciesMs: number[];
  /** CPU this process spent over the run (main thread and the rest), in ms. */
  cpuMs: number;
}

/**
 * `inFlight` clients call the gift service as `POST /v1/gifts/send` does (the same idempotency
 * derivation, the same in-flight key guard, then `Gifts.send`), each awaiting its answer before
 * sending again, from `senders` in turn to the one creator, until `durationMs` has passed. Sends
 * started before then are all awaited, so the count matches what the ledger holds.
 */
export async function sendGifts(
  gifts: Gifts,
  o: { senders: readonly number[]; durationMs: number; inFlight: number; tag: string },
): Promise<LoadResult> {
  const guard = new InFlightKeys();
  const latenciesMs: number[] = [];
  let next = 0;
  let failed = 0;
  let firstError: string | null = null;
  let diamonds = 0n;
  const cpu = process.cpuUsage();
  const started = performance.now();
  const deadline = started + o.durationMs;
  await Promise.all(
    Array.from({ length: o.inFlight }, async () => {
      while (performance.now() < deadline) {
        const n = next++;
        const body = gift(o.senders[n % o.senders.length]!);
        const idem = idempotencyOf("bench", `${o.tag}-${n}`, body);
        const t0 = performance.now();
        try {
          const { receipt } = await guard.run(idem.key, () => gifts.send(body, idem));
          latenciesMs.push(performance.now() - t0);
          diamonds += BigInt(receipt.diamondsEarned);
        } catch (error) {
          failed++;
          firstError ??= error instanceof Error ? `${error.name}: ${error.message}` : String(error);
        }
      }
    }),
  );
  const elapsedS = (performance.now() - started) / 1000;
  const used = process.cpuUsage(cpu);
  return {
    done: latenciesMs.length,
    failed,
    firstError,
    diamonds: diamonds.toString(),
    elapsedS,
    latenciesMs,
    cpuMs: (used.user + used.system) / 1000,
  };
}
