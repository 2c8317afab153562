import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Server, startServer } from "../src/cli/serve.js";
import { loadConfig } from "../src/config/index.js";
import { adminKey } from "./support/app.js";
import { curlBlocks, runCurlBlock } from "./support/curl.js";

/**
 * The curl examples of the API docs, run for real against a server on a free port, in the order a
 * reader meets them: each must run, and answer with JSON (or the HTML of /docs).
 */
const docsInOrder = [
  "api.md",
  "auth.md",
  "users.md",
  "economy.md",
  "test-mode.md",
  "purchases.md",
  "gifts.md",
  "live.md",
  "webhooks.md",
  "kyc.md",
  "payout-methods.md",
  "cashout.md",
];

/**
 * Blocks that may answer a problem: ids written for the reader to replace, the 404 that api.md
 * shows, and the Stripe webhook, which exists only with Stripe configured.
 */
const placeholder = /_abc\b|\/whd_1\b|\/v1\/nothing\b|\/v1\/webhooks\/stripe\b/;

let server: Server;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "giftstream-curl-"));
  const config = loadConfig({
    env: { GIFTSTREAM_DATA_DIR: dir, GIFTSTREAM_API_KEY: adminKey, PORT: "0" },
    overrides: { testMode: true, server: { host: "127.0.0.1" } },
  });
  server = await startServer(config, pino({ level: "silent" }));
});

afterAll(async () => {
  await server.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("curl examples in docs/", () => {
  for (const file of docsInOrder) {
    it(`run as written in ${file}`, async () => {
      const blocks = curlBlocks(file);
      expect(blocks.length).toBeGreaterThan(0);
      for (const block of blocks) {
        // Async: the server answering these runs in this very process.
        const out = await runCurlBlock(block, server.url);
        const body = out.includes("\r\n\r\n") ? out.slice(out.indexOf("\r\n\r\n") + 4) : out;
        if (block.includes("/docs |")) expect(body).toContain("<");
        else if (/\/v1\/live\/[^ ]+\/events/.test(block)) {
          // An event stream: comments, then events whose data lines are JSON.
          expect(body.startsWith(": subscribed\n\n"), `${file}: ${block}\n${body}`).toBe(true);
          for (const line of body.split("\n").filter((l) => l.startsWith("data: "))) {
            expect(() => JSON.parse(line.slice(6)), line).not.toThrow();
          }
        } else {
          expect(() => JSON.parse(body), `${file}: ${block}\n${body}`).not.toThrow();
          // An example answers what the docs show it answering: a problem only where it names an id
          // that stands for the reader's own (`pur_abc`, `we_abc`…) or shows the 404 itself.
          const problem = (JSON.parse(body) as { code?: unknown }).code;
          if (problem !== undefined && !placeholder.test(block)) {
            expect.fail(`${file}: ${block}\nanswered the problem ${body}`);
          }
        }
      }
    });
  }
});
