import { chmodSync, existsSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join } from "node:path";
import { afterEach, describe, expect, it } from "vitest";
import { secretKeyFileName } from "../src/crypto/key-source.js";
import { openTestApp, type TestApp } from "./support/app.js";
import { png } from "./support/documents.js";
import { count } from "./support/sql.js";

const dirs: string[] = [];
const apps: TestApp[] = [];
afterEach(async () => {
  for (const app of apps.splice(0)) await app.close();
  for (const dir of dirs.splice(0)) rmSync(dir, { recursive: true, force: true });
});

/** Plaintexts distinctive enough that finding one in a file can only mean it leaked. */
const secrets = {
  legalName: "Xanthippe Wolkenstein-Marbury",
  documentNumber: "ZK49381726",
  addressLine: "77 Quillfeather Lane",
  iban: "GB82WEST12345698765432",
  ibanBban: "WEST12345698765432",
  accountNumber: "998877665544",
  email: "xanthippe.w@example.org",
  documentMarker: "DOCMARKER-91c5e0-do-not-store-me",
};

async function open(env: Record<string, string> = {}, dir?: string): Promise<TestApp> {
  const app = await openTestApp({ testMode: true, ...(dir ? { dataDir: dir } : {}), ...envOverrides(env) });
  apps.push(app);
  if (!dirs.includes(app.dir)) dirs.push(app.dir);
  return app;
}

function envOverrides(env: Record<string, string>) {
  return env.GIFTSTREAM_SECRET_KEY ? { encryption: { key: env.GIFTSTREAM_SECRET_KEY } } : {};
}

/** Every file under `dir`, as bytes. */
function filesUnder(dir: string): Map<string, Buffer> {
  const files = new Map<string, Buffer>();
  for (const entry of readdirSync(dir, { withFileTypes: true, recursive: true })) {
    if (!entry.isFile()) continue;
    const path = join(entry.parentPath, entry.name);
    files.set(path, readFileSync(path));
  }
  return files;
}

function expectNoPlaintext(files: Map<string, Buffer>): void {
  for (const [path, bytes] of files) {
    for (const [what, text] of Object.entries(secrets)) {
      for (const encoding of ["utf8", "utf16le"] as const) {
        expect(bytes.includes(Buffer.from(text, encoding)), `${what} (${encoding}) in ${path}`).toBe(false);
      }
    }
  }
}

async function fill(app: TestApp): Promise<{ methodIds: string[] }> {
  app.clock.set(Date.parse("2031-03-01T12:00:00Z"));
  const put = (id: string, country: string) =>
    app.app.inject({
      method: "PUT",
      url: `/v1/users/${id}`,
      headers: app.admin,
      payload: { country, birthDate: "1990-01-01", displayName: id },
    });
  expect((await put("xan", "GB")).statusCode).toBe(201);
  expect((await put("sam", "US")).statusCode).toBe(201);
  const kyc = await app.app.inject({
    method: "POST",
    url: "/v1/users/xan/kyc",
    headers: app.admin,
    payload: {
      legalName: secrets.legalName,
      birthDate: "1991-04-12",
      address: { line1: secrets.addressLine, city: "Bristol", postalCode: "BS1 4DJ", country: "GB" },
      document: { type: "driving_licence", number: secrets.documentNumber, issuingCountry: "GB" },
    },
  });
  expect(kyc.statusCode, kyc.body).toBe(200);
  const doc = await app.app.inject({
    method: "PUT",
    url: "/v1/users/xan/kyc/document",
    headers: { ...app.admin, "content-type": "image/png" },
    payload: png(secrets.documentMarker),
  });
  expect(doc.statusCode, doc.body).toBe(200);
  const methodIds: string[] = [];
  for (const [userId, body] of [
    ["xan", { type: "bank_account", holderName: secrets.legalName, iban: secrets.iban }],
    ["xan", { type: "paypal", email: secrets.email }],
    [
      "sam",
      {
        type: "bank_account",
        holderName: secrets.legalName,
        routingNumber: "021000021",
        accountNumber: secrets.accountNumber,
        accountType: "savings",
      },
    ],
  ] as const) {
    const res = await app.app.inject({
      method: "POST",
      url: `/v1/users/${userId}/payout-methods`,
      headers: app.admin,
      payload: body,
    });
    expect(res.statusCode, res.body).toBe(201);
    methodIds.push((res.json() as { id: string }).id);
  }
  return { methodIds };
}

describe("encryption at rest", () => {
  it("leaves no legal name, address, document number, document, IBAN, account number or email in any file of the data directory", async () => {
    const app = await open();
    await fill(app);
    // Something was really stored: the test would pass vacuously otherwise.
    const db = app.runtime.store;
    expect([
      await count(db, "kyc"),
      await count(db, "kyc_documents"),
      await count(db, "payout_methods"),
    ]).toEqual([1n, 1n, 3n]);

    // While running: the WAL holds the recent pages.
    const running = filesUnder(app.dir);
    expect([...running.keys()].some((p) => p.endsWith("-wal"))).toBe(true);
    expectNoPlaintext(running);

    // After a clean shutdown: the checkpointed database file.
    await app.close();
    apps.splice(apps.indexOf(app), 1);
    const closed = filesUnder(app.dir);
    expect([...closed.keys()].some((p) => p.endsWith("giftstream.db"))).toBe(true);
    expectNoPlaintext(closed);
  });

  it("generates the key into the data directory with mode 0600 and reuses it after a restart", async () => {
    const first = await open();
    const { methodIds } = await fill(first);
    const keyPath = join(first.dir, secretKeyFileName);
    expect(statSync(keyPath).mode & 0o777).toBe(0o600);
    const key = readFileSync(keyPath, "utf8");
    expect(Buffer.from(key.trim(), "base64")).toHaveLength(32);
    await first.close();
    apps.splice(apps.indexOf(first), 1);

    const second = await open({}, first.dir);
    expect(readFileSync(keyPath, "utf8")).toBe(key);
    expect((await second.payoutMethods.get("xan", methodIds[0]!)).details).toEqual({
      iban: secrets.iban,
      bic: null,
    });
    expect((await second.kyc.view("xan")).legalName).toBe("X*** W***");
  });

  it("refuses to start with a key file others can read", async () => {
    const first = await open();
    await first.close();
    apps.splice(apps.indexOf(first), 1);
    chmodSync(join(first.dir, secretKeyFileName), 0o644);
    await expect(open({}, first.dir)).rejects.toThrow(/readable by others.*chmod 600/);
  });

  it("takes the key from GIFTSTREAM_SECRET_KEY instead, writing no key file", async () => {
    const key = Buffer.alloc(32, 7).toString("hex");
    const app = await open({ GIFTSTREAM_SECRET_KEY: key });
    await fill(app);
    expect(existsSync(join(app.dir, secretKeyFileName))).toBe(false);
    expect((await app.kyc.identityOf("xan")).status).toBe("pending");
  });

  it("binds each sealed value to its row: a value copied into another row does not open", async () => {
    const app = await open();
    const { methodIds } = await fill(app);
    const db = app.runtime.store;
    // An attacker with write access swaps xan's IBAN method details into sam's US method.
    const iban = (await db.get("SELECT details FROM payout_methods WHERE id = ?", [methodIds[0]!])) as {
      details: Buffer;
    };
    expect(
      await db.execute([
        { sql: "UPDATE payout_methods SET details = ? WHERE id = ?", params: [iban.details, methodIds[2]!] },
      ]),
    ).toBe(1);
    await expect(app.payoutMethods.get("sam", methodIds[2]!)).rejects.toThrow(/does not open/);
    const res = await app.app.inject({
      method: "GET",
      url: "/v1/users/sam/payout-methods",
      headers: app.admin,
    });
    expect(res.statusCode).toBe(500);
    expect(res.json()).toMatchObject({ code: "internal_error" });
    expect(res.body).not.toContain(secrets.iban);
  });
});
