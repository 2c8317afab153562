import { spawn } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, renameSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { secretKeyFileName } from "../src/crypto/key-source.js";
import { Sealer } from "../src/crypto/sealed.js";
import { keyringOf, parseSecretKey, secretKeyOf } from "../src/crypto/secret-key.js";
import { submissionContext } from "../src/economy/kyc/kyc.js";
import { fileSealContext } from "../src/providers/payouts/files/file-rail.js";
import { createTestSchema, requirePostgres, schemaUrl } from "../src/store/postgres/postgres.testkit.js";
import { testPayoutFile, testPayoutLine } from "../src/store/sql/payout-file-rows.testkit.js";
import { SqlPayoutFileStore } from "../src/store/sql/payout-file-store.js";
import { SqlPaypalPayoutStore } from "../src/store/sql/paypal-store.js";
import type { SqlDb } from "../src/store/sql/sql-db.js";
import { openTestApp, type TestApp } from "./support/app.js";
import { cliArgs } from "./support/cli.js";
import { png } from "./support/documents.js";

/**
 * `giftstream reseal` as an operator runs it: its own process, beside a server that holds the
 * database open and keeps writing, following the rotation steps of docs/kyc.md.
 */
const postgres = await requirePostgres();

const apps: TestApp[] = [];
const cleanups: (() => Promise<void> | void)[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.dispose();
  for (const cleanup of cleanups.splice(0)) await cleanup();
});

/** A data directory that outlives the apps opened on it, one after another. */
function dataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), "giftstream-reseal-"));
  cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
  return dir;
}

async function open(dir: string, env: Record<string, string>): Promise<TestApp> {
  const app = await openTestApp({ testMode: true, dataDir: dir }, undefined, env);
  apps.push(app);
  return app;
}

async function close(app: TestApp): Promise<void> {
  apps.splice(apps.indexOf(app), 1);
  await app.dispose();
}

/** Runs the CLI to its end, without blocking this process (a server may be running in it). */
function reseal(
  env: Record<string, string>,
): Promise<{ status: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, [...cliArgs, "reseal"], {
    env: { ...process.env, LOG_LEVEL: "warn", GIFTSTREAM_CONFIG: "", ...env },
    stdio: ["ignore", "pipe", "pipe"],
  });
  let stdout = "";
  let stderr = "";
  child.stdout.on("data", (chunk: Buffer) => {
    stdout += chunk.toString();
  });
  child.stderr.on("data", (chunk: Buffer) => {
    stderr += chunk.toString();
  });
  return new Promise((resolve) => child.on("close", (status) => resolve({ status, stdout, stderr })));
}

const legalName = "Oriane Vasquez-Thornbury";
const iban = "GB82WEST12345698765432";
const document = png("RESEAL-DOCUMENT-MARKER");
const paypalRequest = JSON.stringify({ items: [{ receiver: "oriane@example.org" }] });
const bankFile = Buffer.from("101 091000019 1234567890 ... account 998877665544");

/** A user with a KYC submission and document, a payout method, a PayPal batch and a bank file. */
async function fill(app: TestApp, key: Sealer): Promise<{ methodId: string }> {
  app.clock.set(Date.parse("2031-03-01T12:00:00Z"));
  const inject = async (method: "PUT" | "POST", url: string, payload: object | Buffer, headers = {}) => {
    const res = await app.app.inject({ method, url, headers: { ...app.admin, ...headers }, payload });
    expect(res.statusCode, res.body).toBeLessThan(300);
    return res.json() as { id: string };
  };
  await inject("PUT", "/v1/users/ori", { country: "GB", birthDate: "1990-01-01", displayName: "ori" });
  await inject("POST", "/v1/users/ori/kyc", {
    legalName,
    birthDate: "1991-04-12",
    address: { line1: "77 Quillfeather Lane", city: "Bristol", postalCode: "BS1 4DJ", country: "GB" },
    document: { type: "driving_licence", number: "ZK49381726", issuingCountry: "GB" },
  });
  await inject("PUT", "/v1/users/ori/kyc/document", document, { "content-type": "image/png" });
  const method = await inject("POST", "/v1/users/ori/payout-methods", {
    type: "bank_account",
    holderName: legalName,
    iban,
  });
  const db = app.runtime.store;
  await new SqlPaypalPayoutStore(db, key).saveBatch(
    {
      senderBatchId: "sb_1",
      payoutBatchId: null,
      request: paypalRequest,
      itemCount: 1,
      createdAt: 1,
      refused: null,
    },
    ["co_1"],
  );
  await new SqlPayoutFileStore(db).insert(
    testPayoutFile("pf_1", "nacha", 1),
    key.seal(bankFile, fileSealContext("pf_1")),
    [testPayoutLine("co_2", "pf_1", "nacha", 1, 1)],
  );
  return { methodId: method.id };
}

/** Everything `fill` sealed, opened through the app and `key`: throws if any value does not open. */
async function expectReadable(app: TestApp, key: Sealer, methodId: string): Promise<void> {
  expect((await app.kyc.review("ori", "admin")).submission.legalName).toBe(legalName);
  expect((await app.kyc.document("ori", "admin")).bytes.equals(document)).toBe(true);
  expect((await app.payoutMethods.get("ori", methodId)).details).toMatchObject({ iban });
  const db = app.runtime.store;
  expect((await new SqlPaypalPayoutStore(db, key).itemOf("co_1"))?.batch.request).toBe(paypalRequest);
  const file = await new SqlPayoutFileStore(db).sealedContent("pf_1");
  expect(key.open(file!, fileSealContext("pf_1")).equals(bankFile)).toBe(true);
}

/** While `running` lasts, users keep submitting identity data: a busy server beside the reseal. */
async function keepWriting(app: TestApp, running: Promise<unknown>): Promise<number> {
  let done = false;
  void running.finally(() => {
    done = true;
  });
  let written = 0;
  while (!done && written < 200) {
    const id = `busy${written}`;
    const put = await app.app.inject({
      method: "PUT",
      url: `/v1/users/${id}`,
      headers: app.admin,
      payload: { country: "GB", birthDate: "1990-01-01", displayName: id },
    });
    expect(put.statusCode, put.body).toBe(201);
    const kyc = await app.app.inject({
      method: "POST",
      url: `/v1/users/${id}/kyc`,
      headers: app.admin,
      payload: {
        legalName: `Busy ${written}`,
        birthDate: "1991-04-12",
        address: { line1: "1 Main St", city: "Bristol", postalCode: "BS1 4DJ", country: "GB" },
        document: { type: "passport", number: `P${1_000_000 + written}`, issuingCountry: "GB" },
      },
    });
    expect(kyc.statusCode, kyc.body).toBe(200);
    written += 1;
  }
  return written;
}

const sealerOf = (...texts: string[]) => new Sealer(keyringOf(texts.map(parseSecretKey)));

describe("giftstream reseal on a SQLite file with a generated key", () => {
  it("rotates the key as docs/kyc.md says: reseal beside a running server, then the old key dropped", async () => {
    const dir = dataDir();
    const first = await open(dir, {});
    const keyPath = join(dir, secretKeyFileName);
    const oldKey = readFileSync(keyPath, "utf8").trim();
    const { methodId } = await fill(first, sealerOf(oldKey));
    await close(first);

    // Set the old key aside, and start with it as the previous key: a new secret.key is generated.
    renameSync(keyPath, `${keyPath}.old`);
    const previous = readFileSync(`${keyPath}.old`, "utf8").trim();
    const server = await open(dir, { GIFTSTREAM_SECRET_KEY_PREVIOUS: previous });
    const newKey = readFileSync(keyPath, "utf8").trim();
    expect(newKey).not.toBe(oldKey);
    await expectReadable(server, sealerOf(newKey, oldKey), methodId);

    const env = { GIFTSTREAM_DATA_DIR: dir, GIFTSTREAM_SECRET_KEY_PREVIOUS: previous };
    const run = reseal(env);
    const written = await keepWriting(server, run);
    const { status, stdout, stderr } = await run;
    expect(stderr).toBe("");
    expect(status, stdout).toBe(0);
    const ids = [newKey, oldKey].map((k) => parseSecretKey(k).id.toString("hex"));
    expect(stdout).toContain(`sealing under key ${ids[0]}; opening also with ${ids[1]}`);
    expect(stdout).toContain("kyc_documents.content: 1 resealed, 0 already under the current key");
    expect(stdout).toContain("payout_methods.details: 1 resealed, 0 already under the current key");
    expect(stdout).toContain("paypal_batches.request: 1 resealed, 0 already under the current key");
    expect(stdout).toContain("payout_files.content: 1 resealed, 0 already under the current key");
    expect(stdout).toMatch(
      /^kyc\.submission: 1 resealed, \d+ already under the current key, 0 not opened, 0 changed meanwhile$/m,
    );
    expect(stdout).toMatch(/reseal: ok\n$/);
    expect(written).toBeGreaterThan(0);
    await close(server);

    // The previous key dropped: everything opens with the new key alone, and a rerun has nothing to do.
    const after = await open(dir, {});
    await expectReadable(after, sealerOf(newKey), methodId);
    for (let i = 0; i < written; i++) {
      expect((await after.kyc.review(`busy${i}`, "admin")).submission.legalName).toBe(`Busy ${i}`);
    }
    const again = await reseal({ GIFTSTREAM_DATA_DIR: dir });
    expect(again.status, again.stdout).toBe(0);
    expect(again.stdout).toContain("opening also with no other key");
    expect(again.stdout).toContain(
      `kyc.submission: 0 resealed, ${written + 1} already under the current key`,
    );
    expect(again.stdout).toContain("reseal: ok");
  });

  it("reports a value under a key it was not given, leaves it unchanged and exits 1", async () => {
    const dir = dataDir();
    const app = await open(dir, {});
    const key = readFileSync(join(dir, secretKeyFileName), "utf8").trim();
    await fill(app, sealerOf(key));
    const stranger = secretKeyOf(randomBytes(32));
    const foreign = new Sealer(keyringOf([stranger])).seal(Buffer.from("{}"), submissionContext("ori"));
    const db: SqlDb = app.runtime.store;
    await db.execute([{ sql: "UPDATE kyc SET submission = ? WHERE user_id = 'ori'", params: [foreign] }]);

    const { status, stdout } = await reseal({ GIFTSTREAM_DATA_DIR: dir });
    expect(status, stdout).toBe(1);
    expect(stdout).toContain(
      `NOT RESEALED kyc.submission:ori: sealed under a key this server does not have (key id ${stranger.id.toString("hex")})`,
    );
    expect(stdout).toContain("kyc.submission: 0 resealed, 0 already under the current key, 1 not opened");
    expect(stdout).toContain(
      "payout_methods.details: 0 resealed, 1 already under the current key, 0 not opened",
    );
    expect(stdout).toMatch(/reseal: FAILED\n$/);
    const row = await db.get("SELECT submission FROM kyc WHERE user_id = 'ori'");
    expect((row!.submission as Buffer).equals(foreign)).toBe(true);
  });

  it("refuses malformed previous keys before touching the database, without echoing them", async () => {
    const { status, stderr, stdout } = await reseal({
      GIFTSTREAM_DATA_DIR: "/nonexistent/giftstream",
      GIFTSTREAM_SECRET_KEY_PREVIOUS: "not-a-key-but-secret",
    });
    expect(status).toBe(78);
    expect(stderr).toContain("encryption.previousKeys: must match pattern");
    expect(stderr + stdout).not.toContain("not-a-key-but-secret");
  });
});

describe.skipIf(!postgres)("giftstream reseal on PostgreSQL", () => {
  it("moves every value from GIFTSTREAM_SECRET_KEY_PREVIOUS to GIFTSTREAM_SECRET_KEY beside a running server", async () => {
    const { schema, drop } = await createTestSchema();
    cleanups.push(drop);
    const [oldKey, newKey] = [randomBytes(32).toString("hex"), randomBytes(32).toString("base64")];
    const base = {
      DATABASE_URL: schemaUrl(schema),
      GIFTSTREAM_TOKEN_SECRET: "giftstream-test-token-secret-0123456789",
    };
    const dir = dataDir();
    const first = await open(dir, { ...base, GIFTSTREAM_SECRET_KEY: oldKey });
    const { methodId } = await fill(first, sealerOf(oldKey));
    await close(first);

    const rotated = { ...base, GIFTSTREAM_SECRET_KEY: newKey, GIFTSTREAM_SECRET_KEY_PREVIOUS: oldKey };
    const server = await open(dir, rotated);
    const run = reseal(rotated);
    const written = await keepWriting(server, run);
    const { status, stdout, stderr } = await run;
    expect(stderr).toBe("");
    expect(status, stdout).toBe(0);
    for (const column of [
      "kyc_documents.content",
      "payout_methods.details",
      "paypal_batches.request",
      "payout_files.content",
    ]) {
      expect(stdout).toContain(`${column}: 1 resealed, 0 already under the current key, 0 not opened`);
    }
    expect(stdout).toContain("reseal: ok");
    await close(server);

    const after = await open(dir, { ...base, GIFTSTREAM_SECRET_KEY: newKey });
    await expectReadable(after, sealerOf(newKey), methodId);
    for (let i = 0; i < written; i++) {
      expect((await after.kyc.review(`busy${i}`, "admin")).submission.legalName).toBe(`Busy ${i}`);
    }
    const again = await reseal({ ...base, GIFTSTREAM_SECRET_KEY: newKey });
    expect(again.status, again.stdout).toBe(0);
    expect(again.stdout).toContain(
      `kyc.submission: 0 resealed, ${written + 1} already under the current key`,
    );
  });
});
