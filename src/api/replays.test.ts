import { randomBytes } from "node:crypto";
import { pino } from "pino";
import Type from "typebox";
import { afterEach, describe, expect, it } from "vitest";
import { loadConfig } from "../config/index.js";
import { Sealer } from "../crypto/sealed.js";
import { keyringOf, secretKeyOf } from "../crypto/secret-key.js";
import { openTestLedger, type TestLedger } from "../ledger/ledger.testkit.js";
import { SqlReplyStore } from "../store/sql/reply-store.js";
import { buildApp, type GiftstreamApp } from "./app.js";
import { registerReplays } from "./replays.js";

let ledger: TestLedger | null = null;
let app: GiftstreamApp | null = null;
afterEach(async () => {
  await app?.close();
  await ledger?.dispose();
  app = null;
  ledger = null;
});

/** Counts each run of a route, so a test sees whether a request ran or was replayed. */
interface Runs {
  count: number;
  /** Called as a request starts to run. */
  onRun?: () => void;
}

/**
 * A bare app with replays and its routes: a counter (GET and POST), a failing one, a big one, a
 * rate-limited one, and one that takes a raw text body.
 */
async function open(realNow: { ms: number }, bytesMax = 1024) {
  ledger = openTestLedger();
  const config = loadConfig({ env: {} });
  app = await buildApp({ config, logger: false, checks: { health: async () => ({ ok: true }) } });
  // No auth here: every caller is anonymous (auth.ts decorates the request in the service).
  app.decorateRequest("principal", null);
  registerReplays(app, {
    store: new SqlReplyStore(ledger.store),
    sealer: new Sealer(keyringOf([secretKeyOf(randomBytes(32))])),
    clock: () => 1_000,
    realClock: () => realNow.ms,
    leaseMs: 60_000,
    bytesMax,
    logger: pino({ level: "silent" }),
  });
  const runs: Runs = { count: 0 };
  const waiting: (() => void)[] = [];
  app.route({
    method: ["GET", "POST"],
    url: "/v1/counter",
    schema: { querystring: Type.Object({ wait: Type.Optional(Type.String()) }) },
    handler: async (request, reply) => {
      if (request.method === "GET") return { count: runs.count };
      runs.count += 1;
      runs.onRun?.();
      if (request.query.wait !== undefined) {
        await new Promise<void>((resolve) => waiting.push(resolve));
      }
      return reply.code(201).header("location", `/v1/counter/${runs.count}`).send({ count: runs.count });
    },
  });
  app.post("/v1/failing", async () => {
    runs.count += 1;
    throw new Error("down");
  });
  app.post("/v1/big", async () => {
    runs.count += 1;
    return { text: "x".repeat(2048), count: runs.count };
  });
  app.post("/v1/limited", async (_request, reply) => {
    runs.count += 1;
    return reply.code(429).header("retry-after", "1").send({ code: "rate_limited" });
  });
  // A raw body, as the returns CSV upload of payout-files.ts takes it: in a scope of its own.
  await app.register(async (scope) => {
    scope.addContentTypeParser("text/csv", { parseAs: "string" }, (_request, body, done) => done(null, body));
    scope.post("/v1/csv", { schema: { body: Type.String() } }, async (request) => {
      runs.count += 1;
      return { length: String(request.body).length, count: runs.count };
    });
  });
  await app.ready();
  const post = (url: string, key: string) =>
    app!.inject({ method: "POST", url, headers: { "idempotency-key": key } });
  return {
    runs,
    post,
    release: () => {
      for (const resolve of waiting.splice(0)) resolve();
    },
  };
}

describe("replays on a bare app", () => {
  it("replays status, body and Location, and covers only the POSTs of a route", async () => {
    const { runs, post } = await open({ ms: 0 });
    const first = await post("/v1/counter", "a");
    const again = await post("/v1/counter", "a");
    expect([first.statusCode, again.statusCode], first.body).toEqual([201, 201]);
    expect(again.body).toBe(first.body);
    expect(again.headers.location).toBe("/v1/counter/1");
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(runs.count).toBe(1);
    // A GET of the same route with a key is answered afresh each time, never from a kept answer.
    const read = () =>
      app!.inject({ method: "GET", url: "/v1/counter", headers: { "idempotency-key": "g" } });
    expect((await read()).json()).toEqual({ count: 1 });
    await post("/v1/counter", "another");
    const reread = await read();
    expect(reread.headers["idempotent-replayed"]).toBeUndefined();
    expect(reread.json()).toEqual({ count: 2 });
    // Another query is another request.
    expect((await post("/v1/counter?wait=1", "a")).statusCode).toBe(422);
  });

  it("holds a key while its request runs, and lets a retry run it once the lease has run out", async () => {
    const now = { ms: 0 };
    const { runs, post, release } = await open(now);
    const slow = post("/v1/counter?wait=1", "b");
    await expect.poll(() => runs.count).toBe(1);
    const during = await post("/v1/counter?wait=1", "b");
    expect(during.statusCode).toBe(409);
    expect(during.json().code).toBe("idempotency_key_in_use");
    // The last moment of the lease still holds it: refused at once, nothing runs (a retry that
    // ran would wait for `release`, so whichever comes first is the answer).
    now.ms = 59_999;
    const edge = await Promise.race([
      post("/v1/counter?wait=1", "b"),
      new Promise<"ran">((resolve) => {
        runs.onRun = () => resolve("ran");
      }),
    ]);
    runs.onRun = undefined;
    expect(edge === "ran" ? "ran again" : edge.statusCode).toBe(409);
    // Past the lease (its process died, say): a retry takes the key over and runs the request.
    now.ms = 60_001;
    const retry = post("/v1/counter?wait=1", "b");
    await expect.poll(() => runs.count).toBe(2);
    release();
    const answers = await Promise.all([slow, retry]);
    // The first holder lost its claim: its answer goes out but is not kept; the retry's is.
    expect(answers.map((a) => a.statusCode)).toEqual([201, 201]);
    const replay = await post("/v1/counter?wait=1", "b");
    expect(replay.headers["idempotent-replayed"]).toBe("true");
    expect(replay.json()).toEqual({ count: 2 });
  });

  it("keeps no 5xx and no answer over replayBytesMax: a retry runs again", async () => {
    const { runs, post } = await open({ ms: 0 });
    expect((await post("/v1/failing", "c")).statusCode).toBe(500);
    expect((await post("/v1/failing", "c")).statusCode).toBe(500);
    expect(runs.count).toBe(2);
    const big = await post("/v1/big", "d");
    const bigAgain = await post("/v1/big", "d");
    expect([big.json().count, bigAgain.json().count]).toEqual([3, 4]);
    expect(bigAgain.headers["idempotent-replayed"]).toBeUndefined();
    // A 429 is not the request's answer either: once the limit lifts, the retry runs.
    expect((await post("/v1/limited", "e")).statusCode).toBe(429);
    const limitedAgain = await post("/v1/limited", "e");
    expect(limitedAgain.statusCode).toBe(429);
    expect(limitedAgain.headers["idempotent-replayed"]).toBeUndefined();
    expect(runs.count).toBe(6);
  });

  it("binds a key to a raw body by its digest: another body is refused, the same one replayed", async () => {
    const { runs } = await open({ ms: 0 });
    const text = (key: string, body: string) =>
      app!.inject({
        method: "POST",
        url: "/v1/csv",
        headers: { "idempotency-key": key, "content-type": "text/csv" },
        payload: body,
      });
    const first = await text("f", "reference,status\nco_1,paid\n");
    expect(first.statusCode, first.body).toBe(200);
    const again = await text("f", "reference,status\nco_1,paid\n");
    expect(again.headers["idempotent-replayed"]).toBe("true");
    expect(again.body).toBe(first.body);
    const other = await text("f", "reference,status\nco_1,returned\n");
    expect(other.statusCode).toBe(422);
    expect(other.json().code).toBe("idempotency_key_reused");
    expect(runs.count).toBe(1);
  });
});
