import { expect } from "vitest";
import { type CreatorApp, newKey, openCreatorApp, verify } from "./creator.js";

/** A test-mode app with both file rails configured and routed, and cash-outs that approve themselves. */
export async function openFileRailApp(
  country = "DE",
  extra: { economy?: unknown; files?: Record<string, unknown> } = {},
): Promise<CreatorApp> {
  return openCreatorApp(country, {
    economy: extra.economy ?? { earnings: { maturationDays: 0 } },
    // The job's own timer stays out of the way: the tests run its passes with process().
    cashouts: {
      autoApproveNetMaxMinor: { EUR: "100000000", USD: "100000000" },
      autoApproveAccountAgeDaysMin: 0,
      processIntervalMs: 3_600_000,
    },
    payouts: {
      routes: [
        { rail: "sepa", scheme: "iban", currency: "EUR" },
        { rail: "nacha", scheme: "aba", currency: "USD" },
      ],
      files: extra.files ?? {},
      sepa: {
        debtorName: "Giftstream GmbH",
        debtorIban: "DE02120300000000202051",
        debtorBic: "BYLADEM1001",
        initiatingPartyId: "GS-0001",
        remittancePrefix: "Giftstream payout",
      },
      nacha: {
        immediateDestination: "091000019",
        immediateDestinationName: "Wells Fargo",
        immediateOrigin: "1234567890",
        immediateOriginName: "Giftstream Inc",
        companyName: "Giftstream",
        companyId: "1234567890",
        odfiRouting: "091000019",
      },
    },
  });
}

/** A creator of `country` with a verified identity under `legalName`. */
export async function addCreator(t: CreatorApp, userId: string, legalName: string, country: string) {
  const res = await t.inject("PUT", `/v1/users/${userId}`, {
    country,
    birthDate: "1990-01-01",
    displayName: userId,
  });
  expect(res.statusCode, res.body).toBeLessThan(300);
  await verify(t, userId, legalName, country);
}

/** The viewer sends `quantity` video galaxies (2,000 diamonds, $20 gross each) to `recipientId`. */
export async function earnFor(t: CreatorApp, recipientId: string, quantity: number) {
  const grant = await t.inject(
    "POST",
    "/v1/admin/users/viewer/bonus",
    { coins: String(1000 * quantity) },
    { "idempotency-key": newKey() },
  );
  expect(grant.statusCode, grant.body).toBe(201);
  for (let left = quantity; left > 0; left -= 100) {
    const res = await t.inject(
      "POST",
      "/v1/gifts/send",
      {
        senderId: "viewer",
        recipientId,
        giftId: "galaxy",
        quantity: Math.min(left, 100),
        context: { type: "video", id: "video-1" },
      },
      { "idempotency-key": newKey() },
    );
    expect(res.statusCode, res.body).toBe(201);
  }
}

export async function linkMethod(
  t: CreatorApp,
  userId: string,
  body: Record<string, unknown>,
): Promise<string> {
  const res = await t.inject("POST", `/v1/users/${userId}/payout-methods`, body);
  expect(res.statusCode, res.body).toBe(201);
  return res.json().id as string;
}

export async function cashOut(t: CreatorApp, userId: string, methodId: string, diamonds: string) {
  const res = await t.inject(
    "POST",
    "/v1/cashouts",
    { userId, payoutMethodId: methodId, diamonds },
    { "idempotency-key": newKey() },
  );
  expect(res.statusCode, res.body).toBe(201);
  return res.json() as { id: string; net: string; currency: string; status: string; rail: string };
}

export async function listFiles(t: CreatorApp, query = "") {
  const res = await t.inject("GET", `/v1/admin/payout-files${query}`);
  expect(res.statusCode, res.body).toBe(200);
  return res.json().data as {
    id: string;
    rail: string;
    lineCount: number;
    total: string;
    sha256: string;
    contentType: string;
    filename: string;
    lines: { pending: number; paid: number; returned: number };
  }[];
}

export async function fileLines(t: CreatorApp, fileId: string) {
  const lines: {
    cashoutId: string;
    reference: string;
    status: string;
    net: string;
    cashoutStatus: string;
  }[] = [];
  let cursor: string | null = null;
  do {
    const res = await t.inject(
      "GET",
      `/v1/admin/payout-files/${fileId}/lines?limit=1000${cursor ? `&cursor=${cursor}` : ""}`,
    );
    expect(res.statusCode, res.body).toBe(200);
    lines.push(...res.json().data);
    cursor = res.json().nextCursor;
  } while (cursor);
  return lines;
}

export async function download(t: CreatorApp, fileId: string) {
  const res = await t.app.inject({
    method: "GET",
    url: `/v1/admin/payout-files/${fileId}`,
    headers: t.admin,
  });
  expect(res.statusCode, res.body).toBe(200);
  return res;
}

export function uploadReturns(t: CreatorApp, fileId: string, csv: string, query = "") {
  return t.app.inject({
    method: "POST",
    url: `/v1/admin/payout-files/${fileId}/returns${query}`,
    headers: { ...t.admin, "content-type": "text/csv" },
    payload: csv,
  });
}

/** Cash-outs by status, straight from the database. */
export async function statusCounts(t: CreatorApp): Promise<Record<string, number>> {
  const rows = (await t.runtime.store.all("SELECT status, COUNT(*) AS n FROM cashouts GROUP BY status")) as {
    status: string;
    n: bigint;
  }[];
  return Object.fromEntries(rows.map((r) => [r.status, Number(r.n)]));
}
