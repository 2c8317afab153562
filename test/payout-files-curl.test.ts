import { mkdtempSync, readFileSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Server, startServer } from "../src/cli/serve.js";
import { loadConfig } from "../src/config/index.js";
import { adminKey } from "./support/app.js";
import { curlBlocks, runCurlBlock } from "./support/curl.js";
import { validatePain001 } from "./support/pain001.js";

/**
 * The curl examples of docs/payouts.md's "Payout files" section, run in order against a test-mode
 * server with the sepa rail configured as the section says (docs-curl.test.ts runs a server
 * without file rails).
 */

let server: Server;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "giftstream-files-curl-"));
  const config = loadConfig({
    env: { GIFTSTREAM_DATA_DIR: dir, GIFTSTREAM_API_KEY: adminKey, PORT: "0" },
    overrides: {
      testMode: true,
      server: { host: "127.0.0.1" },
      // The test runs the job's pass where the walk-through waits for it.
      cashouts: { processIntervalMs: 3_600_000 },
      payouts: {
        routes: [{ rail: "sepa", scheme: "iban", currency: "EUR" }],
        sepa: {
          debtorName: "Giftstream GmbH",
          debtorIban: "DE89370400440532013000",
          debtorBic: "COBADEFFXXX",
          initiatingPartyId: "GS-0001",
          remittancePrefix: "Giftstream payout",
        },
      },
    },
  });
  server = await startServer(config, pino({ level: "silent" }));
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("curl examples of payout files in docs/payouts.md", () => {
  it("run as written, each answering JSON; the file downloaded validates", async () => {
    const blocks = curlBlocks("payouts.md", ["Payout files"]);
    expect(blocks.length).toBe(8);
    const outputs: string[] = [];
    for (const [i, block] of blocks.entries()) {
      if (i === 1) await server.cashouts.process();
      const out = await runCurlBlock(block, server.url, 30_000);
      expect(() => JSON.parse(out), `${block}\n${out}`).not.toThrow();
      outputs.push(out);
    }
    // The walk-through ends with three cash-outs processing in one file.
    expect(JSON.parse(outputs[0]!).data).toHaveLength(3);
    expect(JSON.parse(outputs[1]!).data).toHaveLength(3);
    expect(JSON.parse(outputs[2]!).data[0]).toMatchObject({ lineCount: 3, total: "55200" });
    expect(JSON.parse(outputs[3]!)).toEqual({ httpStatus: 200, contentType: "application/xml" });
    const xml = readFileSync("/tmp/payout-file.xml", "utf8");
    expect((await validatePain001(xml)).valid).toBe(true);
    expect(xml).toContain("<Nm>Zoe Muller-Lukasiewicz</Nm>");
    expect(JSON.parse(outputs[5]!)).toMatchObject({ status: "paid", cashoutStatus: "paid" });
    expect(JSON.parse(outputs[6]!)).toMatchObject({ status: "returned", cashoutStatus: "failed" });
    expect(JSON.parse(outputs[7]!)).toMatchObject({
      paid: 1,
      returned: 1,
      lines: { pending: 0, paid: 1, returned: 2 },
    });
  });
});
