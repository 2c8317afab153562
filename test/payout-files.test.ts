import { pino } from "pino";
import { afterEach, describe, expect, it } from "vitest";
import { openPayoutRails } from "../src/cli/cashouts.js";
import { reconcile } from "../src/ledger/reconcile.js";
import { SqlPayoutFileStore } from "../src/store/sql/payout-file-store.js";
import { type CreatorApp, wallet } from "./support/creator.js";
import { parseNacha } from "./support/nacha-parser.js";
import { elementTexts, validatePain001 } from "./support/pain001.js";
import {
  addCreator,
  cashOut,
  download,
  earnFor,
  fileLines,
  linkMethod,
  listFiles,
  openFileRailApp,
  statusCounts,
  uploadReturns,
} from "./support/payout-files.js";
import { count } from "./support/sql.js";

let t: CreatorApp | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

async function expectBalanced(app: CreatorApp) {
  const report = await reconcile(app.runtime.store);
  expect(
    report.ok,
    JSON.stringify(report, (_k, v) => (typeof v === "bigint" ? v.toString() : v)),
  ).toBe(true);
}

const posted = async (app: CreatorApp, id: string) =>
  (await app.runtime.ledger.balances([id])).get(id)?.posted ?? 0n;

const cashout = async (app: CreatorApp, id: string) => (await app.inject("GET", `/v1/cashouts/${id}`)).json();

/** Everything the payout-file routes could change. */
async function snapshot(app: CreatorApp) {
  const db = app.runtime.store;
  return {
    lines: await db.all("SELECT * FROM payout_file_lines ORDER BY cashout_id"),
    cashouts: await db.all("SELECT id, status, updated_at FROM cashouts ORDER BY id"),
    transfers: await count(db, "transfers"),
  };
}

const sepaCreators = [
  { id: "zoe", name: "Zoë Müller-Łukasiewicz", iban: "DE89370400440532013000", bic: "COBADEFFXXX" },
  { id: "soren", name: "Søren Ørsted-Ångström", iban: "FR1420041010050500013M02606", bic: undefined },
  { id: "francois", name: "François D'Aubigné & Fils", iban: "DE02120300000000202051", bic: "BYLADEM1" },
];

describe("the sepa rail", () => {
  it("writes one pain.001 file per job pass that validates against the XSD, names transliterated", async () => {
    t = await openFileRailApp("DE");
    const ids: string[] = [];
    for (const c of sepaCreators) {
      await addCreator(t, c.id, c.name, "DE");
      await earnFor(t, c.id, 25);
      const method = await linkMethod(t, c.id, {
        type: "bank_account",
        holderName: c.name,
        iban: c.iban,
        ...(c.bic ? { bic: c.bic } : {}),
      });
      // 40,000 video diamonds: $400 gross, $200 net, €184 at 0.92.
      const co = await cashOut(t, c.id, method, "40000");
      expect(co).toMatchObject({ rail: "sepa", status: "approved", currency: "EUR", net: "18400" });
      ids.push(co.id);
    }
    await t.cashouts.process();

    const [file, ...others] = await listFiles(t, "?rail=sepa");
    expect(others).toEqual([]);
    expect(file).toMatchObject({
      rail: "sepa",
      lineCount: 3,
      total: "55200",
      contentType: "application/xml",
      lines: { pending: 3, paid: 0, returned: 0 },
    });
    for (const id of ids) expect((await cashout(t, id)).status).toBe("processing");

    const res = await download(t, file!.id);
    expect(res.headers["content-type"]).toContain("application/xml");
    expect(res.headers["content-disposition"]).toBe(`attachment; filename="${file!.filename}"`);
    const xml = res.body;
    const result = await validatePain001(xml);
    expect(result.errors, result.rawOutput).toEqual([]);
    expect(result.valid).toBe(true);
    expect(elementTexts(xml, "NbOfTxs")).toEqual(["3", "3"]);
    expect(elementTexts(xml, "CtrlSum")).toEqual(["552.00", "552.00"]);
    expect(elementTexts(xml, "InstdAmt")).toEqual(["184.00", "184.00", "184.00"]);
    // The file's order is the job's: each transfer is matched to its creator through its line.
    const lines = await fileLines(t, file!.id);
    const transfers = xml.split("<CdtTrfTxInf>").slice(1);
    expect(transfers).toHaveLength(3);
    for (const [i, c] of sepaCreators.entries()) {
      const at = lines.findIndex((line) => line.cashoutId === ids[i]);
      const tx = transfers[at]!;
      expect(lines[at]!.reference).toBe(ids[i]!.replaceAll("_", "."));
      expect(elementTexts(tx, "EndToEndId")).toEqual([ids[i]!.replaceAll("_", ".")]);
      expect(elementTexts(tx, "IBAN")).toEqual([c.iban]);
      expect(elementTexts(tx, "BIC")).toEqual(c.bic ? [c.bic] : []);
      expect(elementTexts(tx, "Ustrd")).toEqual([`Giftstream payout ${ids[i]!.replaceAll("_", ".")}`]);
    }
    const names = (tx: string) => elementTexts(tx, "Nm")[0];
    expect(transfers.map(names).sort()).toEqual(
      ["Zoe Muller-Lukasiewicz", "Soren Orsted-Angstrom", "Francois D'Aubigne Fils"].sort(),
    );
    expect(elementTexts(xml, "Nm").slice(0, 2)).toEqual(["Giftstream GmbH", "Giftstream GmbH"]);
    expect(elementTexts(xml, "IBAN")[0]).toBe("DE02120300000000202051");
    expect(elementTexts(xml, "BIC")[0]).toBe("BYLADEM1001");
    expect(xml).toContain("<Id>NOTPROVIDED</Id>");
    expect(elementTexts(xml, "PmtMtd")).toEqual(["TRF"]);
    expect(elementTexts(xml, "MsgId")).toEqual([file!.id.replaceAll("_", ".")]);
    // Each character of every text node is in the SEPA set.
    for (const name of ["Nm", "Ustrd", "EndToEndId", "MsgId", "PmtInfId"]) {
      for (const text of elementTexts(xml, name)) expect(text).toMatch(/^[A-Za-z0-9/\-?:().,'+ ]+$/);
    }

    // The job polls processing cash-outs: the file's pending lines keep them processing, and a
    // second pass writes no second file.
    await t.cashouts.process();
    expect(await listFiles(t)).toHaveLength(1);

    // Marked one by one: paid; returned before paid (failed); paid then returned.
    const paid = await t.inject("POST", `/v1/admin/payout-files/${file!.id}/lines/${ids[0]}/paid`);
    expect(paid.statusCode, paid.body).toBe(200);
    expect(paid.json()).toMatchObject({ status: "paid", cashoutStatus: "paid" });
    expect((await cashout(t, ids[0]!)).railRef).toBe(`${file!.id}/${ids[0]!.replaceAll("_", ".")}`);
    const blank = await t.inject("POST", `/v1/admin/payout-files/${file!.id}/lines/${ids[1]}/returned`, {
      reason: " \t ",
    });
    expect(blank.statusCode).toBe(400);
    const failed = await t.inject("POST", `/v1/admin/payout-files/${file!.id}/lines/${ids[1]}/returned`, {
      reason: "AC04 account closed",
    });
    expect(failed.json()).toMatchObject({
      status: "returned",
      cashoutStatus: "failed",
      reason: "AC04 account closed",
    });
    await t.inject("POST", `/v1/admin/payout-files/${file!.id}/lines/${ids[2]}/paid`);
    const returned = await t.inject("POST", `/v1/admin/payout-files/${file!.id}/lines/${ids[2]}/returned`, {
      reason: "MD07",
    });
    expect(returned.json()).toMatchObject({ status: "returned", cashoutStatus: "returned" });

    expect(await wallet(t, "soren")).toMatchObject({ diamonds: { withdrawable: "50000", onHold: "0" } });
    expect(await wallet(t, "francois")).toMatchObject({ diamonds: { withdrawable: "50000", onHold: "0" } });
    expect(await wallet(t, "zoe")).toMatchObject({ diamonds: { withdrawable: "10000", onHold: "0" } });
    expect(await posted(t, "platform:EUR:payouts:sepa")).toBe(18400n);
    expect((await listFiles(t))[0]!.lines).toEqual({ pending: 0, paid: 1, returned: 2 });

    const audit = JSON.stringify((await t.inject("GET", "/v1/admin/audit?limit=100")).json());
    for (const action of ["payout_file.download", "payout_file.line_paid", "payout_file.line_returned"]) {
      expect(audit).toContain(action);
    }
    await expectBalanced(t);
  });

  it("1,000 cash-outs in one file, then a returns CSV failing 10: the rest paid, the 10 back, the ledger balanced", async () => {
    t = await openFileRailApp("DE", {
      economy: {
        earnings: { maturationDays: 0 },
        regions: { DE: { cashoutMinimumNetMinor: "1", cashoutDailyMaxNetMinor: "100000000" } },
      },
    });
    await addCreator(t, "creator", "Zoë Müller-Łukasiewicz", "DE");
    await earnFor(t, "creator", 100);
    const method = await linkMethod(t, "creator", {
      type: "bank_account",
      holderName: "Zoë Müller-Łukasiewicz",
      iban: "DE89370400440532013000",
    });
    const ids: string[] = [];
    // 200 video diamonds each: $2 gross, $1 net, €0.92.
    for (let i = 0; i < 1000; i++) ids.push((await cashOut(t, "creator", method, "200")).id);
    await t.cashouts.process(1000);
    expect(await statusCounts(t)).toEqual({ processing: 1000 });

    const [file] = await listFiles(t);
    expect(file).toMatchObject({
      lineCount: 1000,
      total: "92000",
      lines: { pending: 1000, paid: 0, returned: 0 },
    });
    const xml = (await download(t, file!.id)).body;
    const result = await validatePain001(xml);
    expect(result.errors, result.rawOutput).toEqual([]);
    expect(elementTexts(xml, "CtrlSum")).toEqual(["920.00", "920.00"]);

    const lines = await fileLines(t, file!.id);
    expect(lines).toHaveLength(1000);
    // Five of the ten had been marked paid before the bank returned them.
    const back = lines.filter((_, i) => i % 100 === 7);
    for (const line of back.slice(0, 5)) {
      const res = await t.inject("POST", `/v1/admin/payout-files/${file!.id}/lines/${line.cashoutId}/paid`);
      expect(res.statusCode, res.body).toBe(200);
    }
    const csv = [
      "reference,status,reason",
      ...back.map(
        (line, i) => `${i % 2 === 0 ? line.reference : line.cashoutId},returned,"AC04, account closed"`,
      ),
    ].join("\r\n");
    const res = await uploadReturns(t, file!.id, csv, "?unlisted=paid");
    expect(res.statusCode, res.body).toBe(200);
    expect(res.json()).toEqual({
      fileId: file!.id,
      paid: 990,
      returned: 10,
      unchanged: 0,
      lines: { pending: 0, paid: 990, returned: 10 },
    });
    expect(await statusCounts(t)).toEqual({ paid: 990, returned: 5, failed: 5 });
    for (const line of back.slice(0, 5)) expect((await cashout(t, line.cashoutId)).status).toBe("returned");
    for (const line of back.slice(5)) {
      expect(await cashout(t, line.cashoutId)).toMatchObject({
        status: "failed",
        reason: "AC04, account closed",
      });
    }
    // 10 × 200 diamonds are withdrawable again; 990 × €0.92 left through the rail.
    expect(await wallet(t)).toMatchObject({ diamonds: { withdrawable: "2000", onHold: "0" } });
    expect(await posted(t, "platform:EUR:payouts:sepa")).toBe(990n * 92n);
    expect(await posted(t, "platform:EUR:payout_clearing")).toBe(0n);

    // Uploading it again changes nothing.
    const again = await uploadReturns(t, file!.id, csv, "?unlisted=paid");
    expect(again.json()).toMatchObject({ paid: 0, returned: 0, unchanged: 10 });
    expect(await statusCounts(t)).toEqual({ paid: 990, returned: 5, failed: 5 });

    // The rail's records say what reconciliation needs: every line, its state and amount.
    const rails = openPayoutRails({
      runtime: t.runtime,
      clock: t.clock.now,
      logger: pino({ level: "silent" }),
    });
    const records = await rails.get("sepa")!.records!(0);
    expect(records).toHaveLength(1000);
    const byState = (status: string) => records.filter((r) => r.state.status === status);
    expect([byState("paid").length, byState("returned").length, byState("failed").length]).toEqual([
      990, 5, 5,
    ]);
    expect(records.reduce((sum, r) => sum + r.netMinor, 0n)).toBe(92000n);
    expect(new Set(records.map((r) => r.currency))).toEqual(new Set(["EUR"]));
    for (const r of records) expect((await cashout(t, r.cashoutId)).status).toBe(r.state.status);
    await expectBalanced(t);
  });

  it("marks paid with unlisted=paid only the lines still pending, never one returned by an earlier upload", async () => {
    t = await openFileRailApp("DE", {
      economy: {
        earnings: { maturationDays: 0 },
        regions: { DE: { cashoutMinimumNetMinor: "1" } },
      },
    });
    await addCreator(t, "creator", "Ada Lovelace", "DE");
    await earnFor(t, "creator", 1);
    const method = await linkMethod(t, "creator", {
      type: "bank_account",
      holderName: "Ada Lovelace",
      iban: "DE89370400440532013000",
    });
    for (let i = 0; i < 3; i++) await cashOut(t, "creator", method, "200");
    await t.cashouts.process();
    const [file] = await listFiles(t);
    const [first, second, third] = await fileLines(t, file!.id);

    const one = await uploadReturns(
      t,
      file!.id,
      `reference,status,reason\n${first!.reference},returned,AC04\n`,
    );
    expect(one.json()).toMatchObject({ paid: 0, returned: 1, unchanged: 0 });
    const two = await uploadReturns(
      t,
      file!.id,
      `reference,status,reason\n${second!.reference},returned,AC01\n`,
      "?unlisted=paid",
    );
    expect(two.statusCode, two.body).toBe(200);
    // The first line, returned before it was paid, is neither named nor pending: left alone.
    expect(two.json()).toMatchObject({
      paid: 1,
      returned: 1,
      unchanged: 0,
      lines: { pending: 0, paid: 1, returned: 2 },
    });
    expect((await cashout(t, first!.cashoutId)).status).toBe("failed");
    expect((await cashout(t, second!.cashoutId)).status).toBe("failed");
    expect((await cashout(t, third!.cashoutId)).status).toBe("paid");
    await expectBalanced(t);
  });
});

describe("the nacha rail", () => {
  it("writes a NACHA file that parses back with the right count, totals, entry hash and account types", async () => {
    t = await openFileRailApp("US");
    const accounts = [
      { id: "ada", name: "Ada Lovelace", routingNumber: "011000015", accountType: "checking" },
      { id: "zoe", name: "Zoë Müller", routingNumber: "021000021", accountType: "savings" },
      { id: "li", name: "李小龙", routingNumber: "091000019", accountType: "checking" },
    ] as const;
    const ids: string[] = [];
    for (const [i, a] of accounts.entries()) {
      await addCreator(t, a.id, a.name, "US");
      await earnFor(t, a.id, 25);
      const method = await linkMethod(t, a.id, {
        type: "bank_account",
        holderName: a.name,
        routingNumber: a.routingNumber,
        accountNumber: `98765432${i}`,
        accountType: a.accountType,
      });
      // 20,000 + 10,000·i video diamonds: $100 net, then $150, then $200.
      ids.push((await cashOut(t, a.id, method, String(20000 + 10000 * i))).id);
    }
    await t.cashouts.process();
    const [file] = await listFiles(t, "?rail=nacha");
    expect(file).toMatchObject({ lineCount: 3, total: "45000", contentType: "text/plain" });
    const res = await download(t, file!.id);
    expect(res.headers["content-type"]).toContain("text/plain");
    const parsed = parseNacha(res.body);
    expect(parsed.recordCount % 10).toBe(0);
    expect(parsed.entries).toHaveLength(3);
    // The file's order is the job's; each entry is matched to its cash-out through its line.
    const lines = await fileLines(t, file!.id);
    expect(lines.map((l) => l.reference)).toEqual(parsed.entries.map((e) => e.traceNumber));
    const byCashout = new Map(lines.map((line, i) => [line.cashoutId, parsed.entries[i]!]));
    const entries = ids.map((id) => byCashout.get(id)!);
    expect(entries.map((e) => e.amountMinor)).toEqual([10000n, 15000n, 20000n]);
    expect(entries.map((e) => e.transactionCode)).toEqual(["22", "32", "22"]);
    expect(entries.map((e) => e.receivingDfi + e.checkDigit)).toEqual(accounts.map((a) => a.routingNumber));
    expect(entries.map((e) => e.accountNumber)).toEqual(["987654320", "987654321", "987654322"]);
    expect(entries.map((e) => e.individualName)).toEqual(["ADA LOVELACE", "ZOE MULLER", "LIXIAOLONG"]);
    expect(parsed.entries.map((e) => e.traceNumber).sort()).toEqual([
      "091000010000001",
      "091000010000002",
      "091000010000003",
    ]);
    const hash = accounts.reduce((sum, a) => sum + BigInt(a.routingNumber.slice(0, 8)), 0n);
    expect(parsed.batchControl).toEqual({
      entryCount: 3,
      entryHash: String(hash).padStart(10, "0"),
      debitMinor: 0n,
      creditMinor: 45000n,
    });
    expect(parsed.fileControl).toMatchObject({
      batchCount: 1,
      entryCount: 3,
      creditMinor: 45000n,
      blockCount: 1,
    });
    expect(parsed.fileControl.entryHash).toBe(parsed.batchControl.entryHash);
    expect(parsed.batch).toMatchObject({ serviceClassCode: "220", secCode: "PPD", odfi: "09100001" });
    expect(parsed.header.fileIdModifier).toBe("A");

    // Returns by trace number: zoe's returned, the others paid.
    const trace = (id: string) => byCashout.get(id)!.traceNumber;
    const upload = await uploadReturns(
      t,
      file!.id,
      `reference,status,reason\n${trace(ids[1]!)},returned,R03 no account\n${trace(ids[0]!)},paid,\n${trace(ids[2]!)},paid,\n`,
    );
    expect(upload.json()).toMatchObject({
      paid: 2,
      returned: 1,
      lines: { pending: 0, paid: 2, returned: 1 },
    });
    expect((await cashout(t, ids[1]!)).status).toBe("failed");
    expect(await wallet(t, "zoe")).toMatchObject({ diamonds: { withdrawable: "50000" } });
    expect(await posted(t, "platform:USD:payouts:nacha")).toBe(30000n);

    // A second file the same day gets the next file id modifier and trace numbers that go on.
    await earnFor(t, "ada", 10);
    const method = (await t.inject("GET", "/v1/users/ada/payout-methods")).json().data[0].id;
    await cashOut(t, "ada", method, "20000");
    await t.cashouts.process();
    // The test clock stands still: both files have one creation time.
    const second = (await listFiles(t, "?rail=nacha")).find((f) => f.id !== file!.id)!;
    const parsedSecond = parseNacha((await download(t, second.id)).body);
    expect(parsedSecond.header.fileIdModifier).toBe("B");
    expect(parsedSecond.entries[0]!.traceNumber).toBe("091000010000004");

    // A line changed without its cash-out (a crash between the two steps): the job's status poll
    // reads the line and settles the cash-out.
    const [line] = await fileLines(t, second.id);
    const store = new SqlPayoutFileStore(t.runtime.store);
    const at = t.clock.now();
    expect(
      await store.updateLine(line!.cashoutId, "pending", {
        status: "paid",
        reason: null,
        paidAt: at,
        returnedAt: null,
        updatedAt: at,
      }),
    ).toBe(true);
    await t.cashouts.process();
    expect((await cashout(t, line!.cashoutId)).status).toBe("paid");
    await expectBalanced(t);
  });
});

describe("bad input on the payout-file routes", () => {
  it("answers 400, 404, 409 and 413 with stable codes, and changes nothing", async () => {
    t = await openFileRailApp("DE", { files: { returnsCsvBytesMax: 1024 } });
    await addCreator(t, "zoe", "Zoë Müller", "DE");
    await earnFor(t, "zoe", 50);
    const method = await linkMethod(t, "zoe", {
      type: "bank_account",
      holderName: "Zoë Müller",
      iban: "DE89370400440532013000",
    });
    const a = await cashOut(t, "zoe", method, "40000");
    const b = await cashOut(t, "zoe", method, "40000");
    await t.cashouts.process();
    const [file] = await listFiles(t);
    // The job's order is not the request order: a's line first, for the rows below.
    const all = await fileLines(t, file!.id);
    const lines = [...all.filter((l) => l.cashoutId === a.id), ...all.filter((l) => l.cashoutId !== a.id)];
    await t.inject("POST", `/v1/admin/payout-files/${file!.id}/lines/${b.id}/returned`, { reason: "AC04" });

    const before = await snapshot(t);
    const problem = (
      // biome-ignore lint/suspicious/noExplicitAny: problems are read field by field, as inject's own json() does
      res: { statusCode: number; headers: Record<string, unknown>; json(): any },
      status: number,
      code: string,
    ) => {
      expect(res.statusCode).toBe(status);
      expect(String(res.headers["content-type"])).toContain("application/problem+json");
      expect(res.json().code).toBe(code);
      return res.json();
    };
    const base = `/v1/admin/payout-files/${file!.id}`;
    problem(await t.inject("GET", "/v1/admin/payout-files/pf_00000000000000000000"), 404, "not_found");
    problem(await t.inject("GET", "/v1/admin/payout-files/pf_00000000000000000000/lines"), 404, "not_found");
    problem(await t.inject("GET", "/v1/admin/payout-files/a.b"), 400, "invalid_request");
    problem(await t.inject("GET", "/v1/admin/payout-files?cursor=bm9wZQ"), 400, "invalid_request");
    problem(await t.inject("GET", "/v1/admin/payout-files?limit=101"), 400, "invalid_request");
    problem(await t.inject("GET", `${base}/lines?limit=1001`), 400, "invalid_request");
    problem(await t.inject("POST", `${base}/lines/co_missing/paid`), 404, "not_found");
    problem(await t.inject("POST", `${base}/lines/${b.id}/paid`), 409, "payout_line_state_conflict");
    problem(await t.inject("POST", `${base}/lines/${a.id}/returned`, {}), 400, "invalid_request");
    problem(await t.inject("POST", `${base}/lines/${a.id}/returned`, { reason: "" }), 400, "invalid_request");
    problem(await t.inject("POST", `${base}/lines/${a.id}/paid`, { sneaky: 1 }), 400, "invalid_request");
    problem(
      await uploadReturns(t, file!.id, "reference,status,reason\nx,paid,", "?unlisted=all"),
      400,
      "invalid_request",
    );

    const malformed = problem(
      await uploadReturns(
        t,
        file!.id,
        `reference,status,reason\n${lines[0]!.reference},paid,\n${lines[0]!.reference},returned,dup\nx,bounced,\n`,
      ),
      400,
      "invalid_returns_csv",
    );
    expect(malformed.errors.map((e: { line: number }) => e.line)).toEqual([3, 4]);
    const tooMany = problem(
      await uploadReturns(t, file!.id, "reference,status,reason\na,paid,\nb,paid,\nc,paid,\n"),
      400,
      "invalid_returns_csv",
    );
    expect(tooMany.errors).toEqual([{ line: 4, detail: expect.stringContaining("more rows") }]);
    const unknown = problem(
      await uploadReturns(
        t,
        file!.id,
        `reference,status,reason\n${lines[0]!.reference},paid,\nnot-a-line,paid,\n`,
      ),
      400,
      "invalid_returns_csv",
    );
    expect(unknown.errors).toEqual([{ line: 3, detail: expect.stringContaining("not-a-line") }]);
    const conflict = problem(
      await uploadReturns(
        t,
        file!.id,
        `reference,status,reason\n${lines[0]!.reference},paid,\n${b.id},paid,\n`,
      ),
      409,
      "payout_line_state_conflict",
    );
    expect(conflict.errors).toEqual([{ line: 3, detail: expect.stringContaining("returned") }]);
    problem(await uploadReturns(t, file!.id, "id;status\n"), 400, "invalid_returns_csv");
    problem(
      await uploadReturns(t, file!.id, `reference,status,reason\n${"x,paid,\n".repeat(200)}`),
      413,
      "payload_too_large",
    );
    problem(
      await t.app.inject({
        method: "POST",
        url: `${base}/returns`,
        headers: { ...t.admin, "content-type": "text/plain" },
        payload: "reference,status,reason\n",
      }),
      415,
      "unsupported_media_type",
    );
    problem(
      await t.app.inject({ method: "POST", url: `${base}/returns`, headers: t.admin, payload: { rows: [] } }),
      400,
      "invalid_request",
    );
    problem(
      await uploadReturns(t, "pf_00000000000000000000", "reference,status,reason\nx,paid,"),
      404,
      "not_found",
    );
    expect(await snapshot(t)).toEqual(before);
    expect((await cashout(t, a.id)).status).toBe("processing");
  });

  it("a configured rail missing a required key stops the start", async () => {
    const { loadConfig } = await import("../src/config/index.js");
    const { fileRails } = await import("../src/cli/file-rails.js");
    const config = loadConfig({ env: {}, overrides: { payouts: { nacha: { companyName: "Giftstream" } } } });
    const runtime = { config } as Parameters<typeof fileRails>[0]["runtime"];
    expect(() => fileRails({ runtime, clock: Date.now, logger: undefined as never })).toThrow(
      /payouts\.nacha\.immediateDestination: required/,
    );
    const sepa = loadConfig({
      env: {},
      overrides: { payouts: { sepa: { debtorName: "G", debtorIban: "DE00000000000000000000" } } },
    });
    expect(() =>
      fileRails({ runtime: { config: sepa } as never, clock: Date.now, logger: undefined as never }),
    ).toThrow(/payouts\.sepa\.debtorIban: is not valid/);
  });
});
