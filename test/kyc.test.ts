import type { pino } from "pino";
import { afterEach, describe, expect, it, vi } from "vitest";
import { openTestApp, type TestApp } from "./support/app.js";
import { pdf, png } from "./support/documents.js";
import { logLines } from "./support/log-lines.js";
import { count, refuseAuditWrites } from "./support/sql.js";
import { bearer, mintToken } from "./support/tokens.js";

let t: TestApp | null = null;
afterEach(async () => {
  await t?.dispose();
  t = null;
});

const now = Date.parse("2031-03-01T12:00:00Z");

const submission = {
  legalName: "Zélie Quartermaine-Oyelaran",
  birthDate: "1994-07-09",
  address: { line1: "12 Rue des Lilas", city: "Lyon", postalCode: "69003", country: "FR" },
  document: { type: "passport", number: "QX7781234", issuingCountry: "FR" },
};

async function setup(overrides: object = {}, logger?: pino.Logger): Promise<TestApp> {
  t = await openTestApp({ testMode: true, ...overrides }, logger);
  t.clock.set(now);
  for (const id of ["alice", "bob", "carol"]) {
    const res = await t.app.inject({
      method: "PUT",
      url: `/v1/users/${id}`,
      headers: t.admin,
      payload: { country: "FR", birthDate: "1990-01-01", displayName: id },
    });
    expect(res.statusCode).toBe(201);
  }
  return t;
}

const submit = (app: TestApp, userId: string, body: object = submission, headers = app.admin) =>
  app.app.inject({ method: "POST", url: `/v1/users/${userId}/kyc`, headers, payload: body });

const upload = (app: TestApp, userId: string, bytes: Buffer | string, contentType: string) =>
  app.app.inject({
    method: "PUT",
    url: `/v1/users/${userId}/kyc/document`,
    headers: { ...app.admin, "content-type": contentType },
    payload: bytes,
  });

const status = (app: TestApp, userId: string) =>
  app.app.inject({ method: "GET", url: `/v1/users/${userId}/kyc`, headers: app.admin });

const admin = (app: TestApp, action: string, userId: string, payload?: object) =>
  app.app.inject({
    method: "POST",
    url: `/v1/admin/kyc/${userId}/${action}`,
    headers: app.admin,
    ...(payload === undefined ? {} : { payload }),
  });

async function auditLog(app: TestApp) {
  const res = await app.app.inject({ method: "GET", url: "/v1/admin/audit?limit=200", headers: app.admin });
  return (res.json() as { data: { action: string; target: string; before: unknown; after: unknown }[] }).data;
}

describe("identity verification", () => {
  it("goes unverified → pending → rejected → pending → verified, masked for the user, whole for the reviewer", async () => {
    const app = await setup();
    const fresh = await status(app, "alice");
    expect(fresh.statusCode).toBe(200);
    expect(fresh.json()).toEqual({
      userId: "alice",
      status: "unverified",
      legalName: null,
      birthYear: null,
      address: null,
      document: null,
      documentFile: null,
      rejectionReason: null,
      submittedAt: null,
      reviewedAt: null,
    });

    const submitted = await submit(app, "alice");
    expect(submitted.statusCode, submitted.body).toBe(200);
    expect(submitted.headers["cache-control"]).toBe("no-store");
    expect(submitted.json()).toMatchObject({
      status: "pending",
      legalName: "Z*** Q***",
      birthYear: 1994,
      address: { country: "FR" },
      document: { type: "passport", issuingCountry: "FR", number: "****1234" },
      documentFile: null,
      submittedAt: new Date(now).toISOString(),
    });
    expect(submitted.body).not.toContain("Quartermaine");
    expect(submitted.body).not.toContain("QX778");
    expect(submitted.body).not.toContain("Lilas");

    const uploaded = await upload(app, "alice", png("marker"), "image/png");
    expect(uploaded.statusCode, uploaded.body).toBe(200);
    expect(uploaded.json().documentFile).toMatchObject({
      contentType: "image/png",
      sizeBytes: png("marker").length,
    });

    const queue = await app.app.inject({
      method: "GET",
      url: "/v1/admin/kyc?status=pending",
      headers: app.admin,
    });
    expect(queue.json()).toEqual({
      data: [
        {
          userId: "alice",
          status: "pending",
          submittedAt: new Date(now).toISOString(),
          reviewedAt: null,
          rejectionReason: null,
          documentUploaded: true,
        },
      ],
      nextCursor: null,
    });

    const full = await app.app.inject({ method: "GET", url: "/v1/admin/kyc/alice", headers: app.admin });
    expect(full.statusCode).toBe(200);
    expect(full.headers["cache-control"]).toBe("no-store");
    expect(full.json()).toMatchObject({
      userId: "alice",
      status: "pending",
      legalName: submission.legalName,
      birthDate: submission.birthDate,
      address: submission.address,
      document: submission.document,
      documentFile: { contentType: "image/png" },
    });

    const file = await app.app.inject({
      method: "GET",
      url: "/v1/admin/kyc/alice/document",
      headers: app.admin,
    });
    expect(file.statusCode).toBe(200);
    expect(file.headers["content-type"]).toBe("image/png");
    expect(file.headers["cache-control"]).toBe("no-store");
    expect(file.headers["x-content-type-options"]).toBe("nosniff");
    expect(file.headers["content-disposition"]).toBe('attachment; filename="kyc-alice.png"');
    expect(file.rawPayload.equals(png("marker"))).toBe(true);

    // The reason is one line, shown to the user and kept in the audit log.
    for (const separator of ["\n", "\u2028", "\u2029"]) {
      const multiline = await admin(app, "reject", "alice", { reason: `Blurred.${separator}Call 555-0100` });
      expect(multiline.statusCode, JSON.stringify(separator)).toBe(400);
    }
    const rejected = await admin(app, "reject", "alice", {
      reason: "The photo is blurred; upload a sharper one.",
    });
    expect(rejected.statusCode, rejected.body).toBe(200);
    expect(rejected.headers["cache-control"]).toBe("no-store");
    expect(rejected.json()).toMatchObject({
      status: "rejected",
      rejectionReason: "The photo is blurred; upload a sharper one.",
    });
    expect((await status(app, "alice")).json()).toMatchObject({ status: "rejected" });
    expect((await admin(app, "approve", "alice")).json()).toMatchObject({ code: "kyc_not_pending" });

    app.clock.set(now + 60_000);
    expect((await upload(app, "alice", pdf("second"), "application/pdf")).statusCode).toBe(200);
    const resubmitted = await submit(app, "alice");
    expect(resubmitted.json()).toMatchObject({
      status: "pending",
      rejectionReason: null,
      reviewedAt: null,
      documentFile: { contentType: "application/pdf" },
    });

    const approved = await admin(app, "approve", "alice");
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.headers["cache-control"]).toBe("no-store");
    expect(approved.json()).toMatchObject({
      status: "verified",
      reviewedAt: new Date(now + 60_000).toISOString(),
    });
    expect((await status(app, "alice")).json()).toMatchObject({ status: "verified" });
    expect(await app.kyc.identityOf("alice")).toEqual({
      status: "verified",
      legalName: submission.legalName,
      birthDate: submission.birthDate,
    });
    expect(await app.kyc.identityOf("bob")).toEqual({
      status: "unverified",
      legalName: null,
      birthDate: null,
    });

    // The verified birth date replaces the app's, and a later PUT from the app does not undo it.
    const user = await app.app.inject({ method: "GET", url: "/v1/users/alice", headers: app.admin });
    expect(user.json()).toMatchObject({ birthDate: "1994-07-09", birthDateVerified: true });
    const put = await app.app.inject({
      method: "PUT",
      url: "/v1/users/alice",
      headers: app.admin,
      payload: { country: "FR", birthDate: "1980-01-01", displayName: "Alice" },
    });
    expect(put.json()).toMatchObject({
      birthDate: "1994-07-09",
      birthDateVerified: true,
      displayName: "Alice",
    });
    expect((await app.users.get("alice")).birthDate).toBe("1994-07-09");

    // Verified is final.
    expect((await submit(app, "alice")).json()).toMatchObject({ code: "kyc_already_verified" });
    expect((await upload(app, "alice", png(), "image/png")).json()).toMatchObject({
      code: "kyc_already_verified",
    });
    expect((await admin(app, "reject", "alice", { reason: "x" })).json()).toMatchObject({
      code: "kyc_not_pending",
    });

    // Every reviewer action is audited with the status before and after, and no personal data.
    const entries = (await auditLog(app)).filter((e) => e.action.startsWith("kyc."));
    expect(entries.map((e) => [e.action, e.target, e.before, e.after])).toEqual([
      ["kyc.approve", "alice", { status: "pending" }, { status: "verified" }],
      [
        "kyc.reject",
        "alice",
        { status: "pending" },
        { status: "rejected", reason: "The photo is blurred; upload a sharper one." },
      ],
      ["kyc.document.read", "alice", null, { documentId: expect.stringMatching(/^kdoc_/) }],
      ["kyc.read", "alice", null, null],
    ]);
    const audit = JSON.stringify(await auditLog(app));
    for (const secret of ["Quartermaine", "QX7781234", "1994-07-09", "Lilas", "69003"]) {
      expect(audit).not.toContain(secret);
    }
  });

  it("refuses a person under 18 on the submitted birth date, storing nothing", async () => {
    const app = await setup();
    const res = await submit(app, "alice", { ...submission, birthDate: "2013-03-02" });
    expect(res.statusCode).toBe(422);
    expect(res.json()).toMatchObject({ code: "underage" });
    expect((await status(app, "alice")).json()).toMatchObject({ status: "unverified" });
    // 18 on the day itself.
    expect((await submit(app, "alice", { ...submission, birthDate: "2013-03-01" })).statusCode).toBe(200);
  });

  it("refuses a submission for an unknown user with 404, sealing and storing nothing", async () => {
    const app = await setup();
    const res = await submit(app, "nobody");
    expect(res.statusCode).toBe(404);
    expect(res.json()).toMatchObject({ code: "not_found" });
    // No personal data kept for a user the app never registered, nor a queue entry for reviewers.
    expect(await count(app.runtime.store, "kyc")).toBe(0n);
    const queue = await app.app.inject({
      method: "GET",
      url: "/v1/admin/kyc?status=pending",
      headers: app.admin,
    });
    expect(queue.json()).toMatchObject({ data: [] });
  });

  it("reads the document type from its bytes, never from its name or Content-Type", async () => {
    const app = await setup();
    // A PNG sent as a PDF (as if renamed .pdf) is stored, and served back, as a PNG.
    const renamed = await upload(app, "alice", png("renamed"), "application/pdf");
    expect(renamed.statusCode, renamed.body).toBe(200);
    expect(renamed.json().documentFile.contentType).toBe("image/png");
    const served = await app.app.inject({
      method: "GET",
      url: "/v1/admin/kyc/alice/document",
      headers: app.admin,
    });
    expect(served.headers["content-type"]).toBe("image/png");

    expect(
      (await upload(app, "bob", pdf(), "application/octet-stream")).json().documentFile.contentType,
    ).toBe("application/pdf");

    // Text claiming to be a PNG is refused, and the earlier document stays.
    const text = await upload(app, "alice", "this is not an image, just text", "image/png");
    expect(text.statusCode).toBe(415);
    expect(text.json()).toMatchObject({ code: "unsupported_document_type" });
    const gif = await upload(
      app,
      "alice",
      Buffer.from("GIF89a\x01\x00\x01\x00\x00\x00\x00;", "latin1"),
      "image/jpeg",
    );
    expect(gif.json()).toMatchObject({ code: "unsupported_document_type" });
    expect((await status(app, "alice")).json().documentFile.contentType).toBe("image/png");

    // Other bodies: JSON, text, nothing.
    const json = await app.app.inject({
      method: "PUT",
      url: "/v1/users/alice/kyc/document",
      headers: app.admin,
      payload: { image: "base64…" },
    });
    expect(json.statusCode).toBe(400);
    expect(json.json()).toMatchObject({ code: "invalid_request" });
    expect((await upload(app, "alice", "hello", "text/plain")).statusCode).toBe(415);
    expect((await upload(app, "alice", Buffer.alloc(0), "image/png")).json()).toMatchObject({
      code: "invalid_request",
    });
    expect((await upload(app, "nobody", png(), "image/png")).statusCode).toBe(404);
  });

  it("refuses a document over kyc.documentBytesMax with 413, and takes one at the limit", async () => {
    const app = await setup({ kyc: { documentBytesMax: 2048 } });
    const atLimit = png("x".repeat(2048 - png().length));
    expect(atLimit.length).toBe(2048);
    expect((await upload(app, "alice", atLimit, "image/png")).statusCode).toBe(200);
    const over = await upload(app, "bob", png("x".repeat(2049 - png().length)), "image/png");
    expect(over.statusCode).toBe(413);
    expect(over.json()).toMatchObject({ code: "payload_too_large" });
    expect((await status(app, "bob")).json().documentFile).toBeNull();
  });

  it("approves only a pending verification with its document", async () => {
    const app = await setup();
    expect((await admin(app, "approve", "alice")).json()).toMatchObject({ code: "kyc_not_pending" });
    expect((await admin(app, "approve", "nobody")).statusCode).toBe(404);
    await submit(app, "alice");
    const missing = await admin(app, "approve", "alice");
    expect(missing.statusCode).toBe(409);
    expect(missing.json()).toMatchObject({ code: "kyc_document_missing" });
    expect(
      (await app.app.inject({ method: "GET", url: "/v1/admin/kyc/bob", headers: app.admin })).statusCode,
    ).toBe(404);
    expect(
      (await app.app.inject({ method: "GET", url: "/v1/admin/kyc/alice/document", headers: app.admin }))
        .statusCode,
    ).toBe(404);
  });

  it("pages the queue oldest first with a cursor, by status", async () => {
    const app = await setup();
    for (const [i, id] of ["carol", "alice", "bob"].entries()) {
      app.clock.set(now + i * 1000);
      expect((await submit(app, id)).statusCode).toBe(200);
    }
    const page = async (query: string) => {
      const res = await app.app.inject({ method: "GET", url: `/v1/admin/kyc?${query}`, headers: app.admin });
      return res.json() as { data: { userId: string }[]; nextCursor: string | null; code?: string };
    };
    const first = await page("limit=2");
    expect(first.data.map((e) => e.userId)).toEqual(["carol", "alice"]);
    const second = await page(`limit=2&cursor=${first.nextCursor}`);
    expect(second.data.map((e) => e.userId)).toEqual(["bob"]);
    expect(second.nextCursor).toBeNull();
    expect((await page("status=verified")).data).toEqual([]);
    expect((await page("cursor=bm9wZQ")).code).toBe("invalid_request");
    expect((await page("limit=201")).code).toBe("invalid_request");
    expect((await page("status=unverified")).code).toBe("invalid_request");
  });

  it.each([
    ["an unknown field", { ...submission, nationality: "FR" }],
    ["an unknown address field", { ...submission, address: { ...submission.address, floor: "2" } }],
    ["a missing document", { legalName: "A B", birthDate: "1990-01-01", address: submission.address }],
    ["an unknown country", { ...submission, address: { ...submission.address, country: "XX" } }],
    [
      "an unknown issuing country",
      { ...submission, document: { ...submission.document, issuingCountry: "ZZ" } },
    ],
    ["a lower-case country", { ...submission, address: { ...submission.address, country: "fr" } }],
    ["an impossible birth date", { ...submission, birthDate: "1994-02-30" }],
    ["a future birth date", { ...submission, birthDate: "2040-01-01" }],
    ["a name with a newline", { ...submission, legalName: "Zélie\nQ" }],
    ["a blank name", { ...submission, legalName: "   " }],
    ["a name with no letter", { ...submission, legalName: "1234" }],
    ["a name too long", { ...submission, legalName: "A".repeat(201) }],
    ["a document type", { ...submission, document: { ...submission.document, type: "library_card" } }],
    ["a short document number", { ...submission, document: { ...submission.document, number: "12" } }],
    [
      "a document number with symbols",
      { ...submission, document: { ...submission.document, number: "AB#1234" } },
    ],
    ["a number for a date", { ...submission, birthDate: 19940709 }],
  ])("refuses %s with 400, storing nothing", async (_name, body) => {
    const app = await setup();
    const res = await submit(app, "alice", body);
    expect(res.statusCode, res.body).toBe(400);
    expect(res.json()).toMatchObject({ code: "invalid_request" });
    expect(res.body).not.toContain("Quartermaine");
    expect((await status(app, "alice")).json()).toMatchObject({ status: "unverified" });
  });

  it("lets a user token act only for its own user, and keeps reviewing to admin keys", async () => {
    const app = await setup();
    const bob = bearer(await mintToken(app, "bob"));
    const alice = bearer(await mintToken(app, "alice"));
    expect((await submit(app, "alice", submission, bob)).statusCode).toBe(403);
    expect((await submit(app, "alice", submission, alice)).statusCode).toBe(200);
    const read = await app.app.inject({ method: "GET", url: "/v1/users/alice/kyc", headers: bob });
    expect(read.statusCode).toBe(403);
    const queue = await app.app.inject({ method: "GET", url: "/v1/admin/kyc", headers: alice });
    expect(queue.statusCode).toBe(403);
    const approve = await app.app.inject({
      method: "POST",
      url: "/v1/admin/kyc/alice/approve",
      headers: alice,
    });
    expect(approve.statusCode).toBe(403);
  });

  it("logs no personal data through a submission, an upload, a review and an approval", async () => {
    const { lines, logger } = logLines("trace");
    const app = await setup({}, logger);
    expect((await submit(app, "alice", { ...submission, legalName: "Zélie\nQ" })).statusCode).toBe(400);
    expect((await submit(app, "alice", { ...submission, birthDate: "2020-01-01" })).statusCode).toBe(422);
    await submit(app, "alice");
    await upload(app, "alice", png("LOGMARKER-7f3a"), "image/png");
    await app.app.inject({ method: "GET", url: "/v1/admin/kyc/alice", headers: app.admin });
    await app.app.inject({ method: "GET", url: "/v1/admin/kyc/alice/document", headers: app.admin });
    expect((await admin(app, "approve", "alice")).statusCode).toBe(200);
    await status(app, "alice");
    const log = lines.join("");
    expect(log).toContain("/v1/admin/kyc/alice/approve");
    for (const secret of [
      "Zélie",
      "Quartermaine",
      "QX7781234",
      "1994-07-09",
      "Lilas",
      "69003",
      "LOGMARKER",
    ]) {
      expect(log, secret).not.toContain(secret);
    }
  });
});

describe("identity verification under concurrency", () => {
  it("approves a submission once when two reviewers approve at the same time", async () => {
    const app = await setup();
    await submit(app, "alice");
    await upload(app, "alice", png(), "image/png");
    const results = await Promise.all([admin(app, "approve", "alice"), admin(app, "approve", "alice")]);
    expect(results.map((r) => r.statusCode).sort()).toEqual([200, 409]);
    const approvals = (await auditLog(app)).filter((e) => e.action === "kyc.approve");
    expect(approvals).toHaveLength(1);
  });

  it("writes a review with its audit entry: when the entry cannot be written, the review does not happen", async () => {
    const app = await setup();
    await submit(app, "alice");
    await upload(app, "alice", png(), "image/png");
    await refuseAuditWrites(app.runtime.store);
    expect((await admin(app, "approve", "alice")).statusCode).toBe(500);
    expect((await admin(app, "reject", "alice", { reason: "blurry" })).statusCode).toBe(500);
    expect((await status(app, "alice")).json()).toMatchObject({ status: "pending" });
    expect((await app.users.get("alice")).birthDateVerified).toBe(false);
  });

  it("applies a reviewer's decision only to the revision they reviewed", async () => {
    const app = await setup();
    await submit(app, "alice");
    await upload(app, "alice", png(), "image/png");
    const review = async () =>
      (await app.app.inject({ method: "GET", url: "/v1/admin/kyc/alice", headers: app.admin })).json() as {
        revision: string;
      };
    const seen = (await review()).revision;
    // The user replaces the document after the reviewer looked, then the data.
    await upload(app, "alice", png("another"), "image/png");
    const stale = await admin(app, "approve", "alice", { revision: seen });
    expect(stale.statusCode).toBe(409);
    expect(stale.json().code).toBe("kyc_changed");
    const afterUpload = (await review()).revision;
    expect(afterUpload).not.toBe(seen);
    await submit(app, "alice", { ...submission, legalName: "Someone Else" });
    expect((await admin(app, "reject", "alice", { reason: "no", revision: afterUpload })).json().code).toBe(
      "kyc_changed",
    );
    expect((await status(app, "alice")).json()).toMatchObject({ status: "pending" });
    const current = (await review()).revision;
    const approved = await admin(app, "approve", "alice", { revision: current });
    expect(approved.statusCode, approved.body).toBe(200);
    expect(approved.json()).toMatchObject({ status: "verified" });
  });

  it("an upload and an approval of one user take turns: the document approved is the one read", async () => {
    const app = await setup();
    await submit(app, "alice");
    const reviewed = await upload(app, "alice", png(), "image/png");
    expect(reviewed.statusCode).toBe(200);
    const { SqlKycDocumentStore } = await import("../src/store/sql/kyc-document-store.js");
    const info = SqlKycDocumentStore.prototype.info;
    let racing: Promise<{ statusCode: number; json(): unknown }> | undefined;
    // The approval has read the document; another upload arrives before it writes.
    const spy = vi.spyOn(SqlKycDocumentStore.prototype, "info").mockImplementation(async function (
      this: InstanceType<typeof SqlKycDocumentStore>,
      userId: string,
    ) {
      const read = await info.call(this, userId);
      if (!racing) {
        racing = upload(app, "alice", pdf(), "application/pdf");
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      return read;
    });
    try {
      const approved = await admin(app, "approve", "alice");
      expect(approved.statusCode, approved.body).toBe(200);
      // The upload waited for the approval, and found the identity verified.
      expect((await racing!).json()).toMatchObject({ code: "kyc_already_verified" });
    } finally {
      spy.mockRestore();
    }
    expect((await status(app, "alice")).json()).toMatchObject({
      status: "verified",
      documentFile: { contentType: "image/png" },
    });
  });

  it("does not approve a submission replaced since the reviewer's server read it", async () => {
    const app = await setup();
    await submit(app, "alice");
    await upload(app, "alice", png(), "image/png");
    const stale = await app.runtime.store.get("SELECT submission FROM kyc WHERE user_id = ?", ["alice"]);
    await submit(app, "alice", { ...submission, birthDate: "1990-12-31" });
    const { SqlKycStore } = await import("../src/store/sql/kyc-store.js");
    const review = {
      actor: "key_test",
      action: "kyc.approve",
      target: "alice",
      before: null,
      after: null,
      at: 0,
    };
    const store = new SqlKycStore(app.runtime.store);
    const expected = (stale as { submission: Buffer }).submission;
    const documentId = (await app.runtime.store.get("SELECT id FROM kyc_documents WHERE user_id = ?", [
      "alice",
    ]))!.id as string;
    expect(
      await store.approve("alice", expected, documentId, "1994-07-09", "key_test", app.clock.now(), review),
    ).toBe(false);
    expect(await store.reject("alice", expected, "stale", "key_test", app.clock.now(), review)).toBe(false);
    expect(await count(app.runtime.store, "audit_log", "target = 'alice' AND action LIKE 'kyc.%'")).toBe(0n);
    expect((await status(app, "alice")).json()).toMatchObject({ status: "pending" });
    expect((await app.users.get("alice")).birthDateVerified).toBe(false);
  });
});
