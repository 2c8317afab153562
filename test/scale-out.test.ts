import { type ChildProcess, spawn } from "node:child_process";
import { mkdtempSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { reconcile } from "../src/ledger/index.js";
import { requireNats, requireRedis } from "../src/realtime/fanout.testkit.js";
import {
  createTestSchema,
  requirePostgres,
  schemaUrl,
  testDatabaseUrl,
} from "../src/store/postgres/postgres.testkit.js";
import { PostgresLedgerStore } from "../src/store/postgres/postgres-ledger-store.js";
import { cliArgs } from "./support/cli.js";
import { png } from "./support/documents.js";
import { SseClient } from "./support/sse.js";
import { eventually, WebhookReceiver } from "./support/webhook-receiver.js";

const postgresUp = await requirePostgres();
const brokers: { name: string; up: boolean; env: Record<string, string> }[] = [
  {
    name: "Redis",
    up: await requireRedis(),
    env: { REDIS_URL: process.env.GIFTSTREAM_TEST_REDIS_URL ?? "redis://127.0.0.1:6379" },
  },
  {
    name: "NATS",
    up: await requireNats(),
    env: { NATS_URL: process.env.GIFTSTREAM_TEST_NATS_URL ?? "nats://127.0.0.1:4222" },
  },
];

const cli = cliArgs;
const adminKey = "gs_scale_out_admin_key_0123456789abcdef";
const admin = { authorization: `Bearer ${adminKey}` };
const processes = 3;
const viewers = 18;
const creators = 3;
const startAt = Date.parse("2030-01-01T12:00:00Z");
const dayMs = 86_400_000;

interface Node {
  child: ChildProcess;
  url: string;
}

let nodes: Node[] = [];
let schema: { schema: string; drop(): Promise<void> } | undefined;
let dir = "";
let receiver = new WebhookReceiver();
const subscribers: { stream: string; node: number; client: SseClient }[] = [];
/** Errors the servers logged: any fails the test, with the lines to say why. */
const serverErrors: string[] = [];

/** Starts one `giftstream serve` on the shared schema; resolves with its URL once it listens. */
function startNode(env: Record<string, string>): Promise<Node> {
  const child = spawn(process.execPath, [...cli, "serve"], {
    env: { ...process.env, ...env, PORT: "0", LOG_LEVEL: "info" },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stderr = "";
  child.stderr!.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve, reject) => {
    const lines = createInterface({ input: child.stdout! });
    lines.on("line", (line) => {
      if (!line.startsWith("{")) return;
      const entry = JSON.parse(line) as { msg?: string; url?: string; level?: number };
      if ((entry.level ?? 0) >= 50) serverErrors.push(line);
      if (entry.msg === "giftstream serving" && entry.url) resolve({ child, url: entry.url });
    });
    child.once("exit", (code) => reject(new Error(`serve exited with ${code}: ${stderr}`)));
  });
}

async function call(
  node: number,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; json: () => Promise<Record<string, unknown>> }> {
  const res = await fetch(`${nodes[node]!.url}${path}`, {
    method,
    headers: {
      ...admin,
      ...(body === undefined ? {} : { "content-type": "application/json" }),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  const text = await res.text();
  return { status: res.status, json: async () => JSON.parse(text) as Record<string, unknown> };
}

async function ok(
  node: number,
  method: string,
  path: string,
  body?: unknown,
  headers?: Record<string, string>,
): Promise<Record<string, unknown>> {
  const res = await call(node, method, path, body, headers);
  const json = await res.json();
  expect(res.status, JSON.stringify(json)).toBeLessThan(300);
  return json;
}

/** Three processes on a fresh schema, each told of the others through the broker of `brokerEnv`. */
async function setUp(brokerEnv: Record<string, string>): Promise<void> {
  nodes = [];
  subscribers.length = 0;
  serverErrors.length = 0;
  receiver = new WebhookReceiver();
  schema = await createTestSchema();
  dir = mkdtempSync(join(tmpdir(), "giftstream-scale-"));
  const configFile = join(dir, "giftstream.yaml");
  writeFileSync(
    configFile,
    JSON.stringify({
      testMode: true,
      economy: {
        earnings: { maturationDays: 7 },
        // Small creators here: a cent is enough to cash out.
        regions: { US: { cashoutDailyMaxNetMinor: "10000000", cashoutMinimumNetMinor: "1" } },
      },
      cashouts: {
        autoApproveNetMaxMinor: { USD: "100000000" },
        autoApproveAccountAgeDaysMin: 0,
        processIntervalMs: 200,
      },
      ledger: { pendingExpiryIntervalMs: 200 },
      webhooks: { pollIntervalMs: 100 },
      live: { pollIntervalMs: 5000 },
      fanout: { cacheRefreshMs: 500 },
      // The test sends 140 coins' worth of gifts per viewer at once; the sender limit is not its subject.
      rateLimit: { senderGiftsMax: 100_000 },
    }),
  );
  const env = {
    DATABASE_URL: schemaUrl(schema.schema),
    ...brokerEnv,
    GIFTSTREAM_API_KEY: adminKey,
    GIFTSTREAM_SECRET_KEY: "a1".repeat(32),
    GIFTSTREAM_TOKEN_SECRET: "scale-out-token-secret-0123456789abcdef",
    GIFTSTREAM_CONFIG: configFile,
  };
  // All three at once on the empty database: they take turns to migrate it and to seed its
  // first economy version and admin key.
  nodes = await Promise.all(
    [0, 1, 2].map((i) => startNode({ ...env, GIFTSTREAM_DATA_DIR: join(dir, String(i)) })),
  );
  await receiver.start();
}

async function tearDown(): Promise<void> {
  for (const s of subscribers) s.client.close();
  await Promise.all(
    nodes.map(
      (n) =>
        new Promise<void>((resolve) => {
          if (n.child.exitCode !== null) return resolve();
          n.child.once("exit", () => resolve());
          n.child.kill("SIGTERM");
        }),
    ),
  );
  await receiver.stop();
  await schema?.drop();
  if (dir) rmSync(dir, { recursive: true, force: true });
}

async function scenario(): Promise<void> {
  {
    await ok(0, "POST", "/v1/test/clock", { now: new Date(startAt).toISOString() });

    // A webhook endpoint made on one process: the others learn of it through the change bus.
    const endpoint = await ok(0, "POST", "/v1/webhook-endpoints", {
      url: receiver.url,
      events: ["gift.sent", "cashout.paid"],
    });
    receiver.secret = endpoint.secret as string;

    const viewerIds = Array.from({ length: viewers }, (_, i) => `v${i}`);
    const creatorIds = Array.from({ length: creators }, (_, i) => `c${i}`);
    await Promise.all(
      [...viewerIds, ...creatorIds].map((id, i) =>
        ok(i % processes, "PUT", `/v1/users/${id}`, {
          country: "US",
          birthDate: "1990-01-01",
          displayName: id,
        }),
      ),
    );

    // Every live stream followed from every process.
    for (const creator of creatorIds) {
      for (let node = 0; node < processes; node++) {
        const client = await SseClient.open(`${nodes[node]!.url}/v1/live/live-${creator}/events`, admin);
        expect(client.status).toBe(200);
        subscribers.push({ stream: `live-${creator}`, node, client });
      }
    }

    // Purchases through all three: 100 coins each.
    await Promise.all(
      viewerIds.map((userId, i) =>
        ok(
          i % processes,
          "POST",
          "/v1/purchases",
          { userId, packId: "us-100", provider: "test" },
          { "idempotency-key": `buy-${userId}` },
        ),
      ),
    );
    // Gifts through all three at once: each viewer tries 14 sends of 10 roses (10 coins) (140 >
    // 100), so exactly 10 of them can succeed; and one gift sent with one key to every process.
    const sent: { key: string; stream: string; status: number; giftId?: string }[] = [];
    const sends: Promise<void>[] = [];
    const unexpected: unknown[] = [];
    for (const [i, userId] of viewerIds.entries()) {
      const creator = creatorIds[i % creators]!;
      const body = {
        senderId: userId,
        recipientId: creator,
        giftId: "rose",
        quantity: 10,
        context: { type: "live", id: `live-${creator}` },
      };
      for (let n = 0; n < 14; n++) {
        const key = `gift-${userId}-${n}`;
        // The first key goes to every process at once; the rest to one each.
        const targets = n === 0 ? [0, 1, 2] : [(i + n) % processes];
        for (const node of targets) {
          sends.push(
            call(node, "POST", "/v1/gifts/send", body, { "idempotency-key": key }).then(async (res) => {
              const json = await res.json();
              sent.push({
                key,
                stream: `live-${creator}`,
                status: res.status,
                ...(res.status === 201 ? { giftId: json.id as string } : {}),
              });
              if (res.status !== 201 && json.code !== "insufficient_coins") unexpected.push(json);
            }),
          );
        }
      }
    }
    await Promise.all(sends);
    // Every refusal is for want of coins; anything else shows with what the servers logged.
    expect({ unexpected, serverErrors }).toEqual({ unexpected: [], serverErrors: [] });

    // One key, one gift: every process answered the same gift for the key sent to all three.
    const byKey = new Map<string, Set<string>>();
    for (const s of sent.filter((s) => s.giftId !== undefined)) {
      byKey.set(s.key, (byKey.get(s.key) ?? new Set()).add(s.giftId!));
    }
    for (const ids of byKey.values()) expect(ids.size).toBe(1);
    const giftIds = new Set([...byKey.values()].flatMap((ids) => [...ids]));
    // 100 coins buy exactly 10 gifts of 10 coins per viewer, whatever process took them.
    expect(giftIds.size).toBe(viewers * 10);

    // Each subscriber, on whichever process, sees every gift of its stream.
    for (const { stream, client } of subscribers) {
      const expected = new Set(sent.filter((s) => s.stream === stream && s.giftId).map((s) => s.giftId));
      await eventually(
        () => new Set(client.gifts.map((e) => (e.data as { id: string }).id)).size >= expected.size,
        30_000,
      );
      expect(new Set(client.gifts.map((e) => (e.data as { id: string }).id))).toEqual(expected);
    }

    // The test clock moved on one process moves for all: the diamonds mature everywhere.
    await ok(0, "POST", "/v1/test/clock", { now: new Date(startAt + 8 * dayMs).toISOString() });
    for (const [i, creator] of creatorIds.entries()) {
      await eventually(async () => {
        const wallet = await ok((i + 1) % processes, "GET", `/v1/users/${creator}/wallet`);
        return (wallet.diamonds as { withdrawable: string }).withdrawable !== "0";
      }, 30_000);
    }

    // Cash-outs: each creator asks every process at once for 60 % of what is withdrawable, so
    // exactly one of the three can be had.
    const cashouts: string[] = [];
    for (const [i, creator] of creatorIds.entries()) {
      await ok(i % processes, "POST", `/v1/users/${creator}/kyc`, {
        legalName: "Ada Lovelace",
        birthDate: "1990-01-01",
        address: { line1: "1 Main St", city: "Springfield", postalCode: "12345", country: "US" },
        document: { type: "passport", number: "X1234567", issuingCountry: "US" },
      });
      const upload = await fetch(`${nodes[(i + 1) % processes]!.url}/v1/users/${creator}/kyc/document`, {
        method: "PUT",
        headers: { ...admin, "content-type": "image/png" },
        body: png(),
      });
      expect(upload.status).toBeLessThan(300);
      await ok((i + 2) % processes, "POST", `/v1/admin/kyc/${creator}/approve`);
      const method = await ok(i % processes, "POST", `/v1/users/${creator}/payout-methods`, {
        type: "paypal",
        email: `${creator}@example.com`,
      });
      const wallet = await ok(i % processes, "GET", `/v1/users/${creator}/wallet`);
      const withdrawable = BigInt((wallet.diamonds as { withdrawable: string }).withdrawable);
      const diamonds = ((withdrawable * 6n) / 10n).toString();
      const answers = await Promise.all(
        [0, 1, 2].map((node) =>
          call(
            node,
            "POST",
            "/v1/cashouts",
            { userId: creator, payoutMethodId: method.id, diamonds },
            { "idempotency-key": `cashout-${creator}-${node}` },
          ),
        ),
      );
      const created = answers.filter((a) => a.status === 201);
      expect(created.length, JSON.stringify(await Promise.all(answers.map((a) => a.json())))).toBe(1);
      cashouts.push((await created[0]!.json()).id as string);
    }

    // The processing job runs on one process at a time: each cash-out is paid once.
    for (const id of cashouts) {
      await eventually(async () => (await ok(0, "GET", `/v1/cashouts/${id}`)).status === "paid", 30_000);
    }
    // Every event delivered, each once, whichever process wrote it and whichever delivered it.
    await eventually(() => receiver.processed.length >= giftIds.size + cashouts.length, 30_000);
    const delivered = receiver.received.filter((r) => r.status === 200).map((r) => r.event.id);
    expect(new Set(delivered).size).toBe(delivered.length);
    expect(receiver.processed.filter((e) => e.type === "gift.sent").length).toBe(giftIds.size);
    expect(receiver.processed.filter((e) => e.type === "cashout.paid").length).toBe(cashouts.length);

    expect(serverErrors).toEqual([]);

    // Afterwards, on the database itself: every unit sums to zero, entries match balances, no
    // balance that must not go negative did, and each gift is stored once.
    const store = await PostgresLedgerStore.open({ url: testDatabaseUrl, schema: schema!.schema });
    try {
      const report = await reconcile(store);
      expect(report.problems).toEqual([]);
      expect(report.ok).toBe(true);
      const overdrawn = await store.all(
        `SELECT id FROM accounts WHERE (flags & 1) = 1 AND debits_posted + debits_pending > credits_posted`,
      );
      expect(overdrawn).toEqual([]);
      const stored = await store.all("SELECT id FROM gifts");
      expect(new Set(stored.map((r) => r.id))).toEqual(giftIds);
      const paid = await store.all("SELECT id FROM cashouts WHERE status = 'paid'");
      expect(paid.map((r) => r.id).sort()).toEqual([...cashouts].sort());
    } finally {
      await store.close();
    }
  }
}

for (const broker of brokers) {
  describe.skipIf(!(postgresUp && broker.up))(
    `three server processes on one PostgreSQL database, with ${broker.name} between them`,
    () => {
      beforeAll(() => setUp(broker.env), 120_000);
      afterAll(tearDown);
      it(
        "moves every coin once, overdraws nothing, runs each job once and feeds every subscriber",
        scenario,
        240_000,
      );
    },
  );
}
