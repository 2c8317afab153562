import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { pino } from "pino";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { type Server, startServer } from "../src/cli/serve.js";
import { loadConfig } from "../src/config/index.js";
import { type PaypalStandIn, startPaypalStandIn } from "./stand-ins/paypal-stand-in.js";
import { type StripeStandIn, startStripeStandIn } from "./stand-ins/stripe-stand-in.js";
import { adminKey } from "./support/app.js";
import { curlBlocks, runCurlBlock } from "./support/curl.js";
import { standInRailsConfig } from "./support/payouts.js";

/**
 * The curl examples of the API-rail sections of docs/payouts.md (PayPal Payouts, Stripe Connect,
 * Reconciliation), run as written against a server whose PayPal and Stripe Connect rails point at
 * the local stand-ins. The bank-file sections have their own run.
 */
const sections = ["PayPal Payouts", "Stripe Connect", "Reconciliation"];

const blocks = () => curlBlocks("payouts.md", sections);

let server: Server;
let paypal: PaypalStandIn;
let stripe: StripeStandIn;
let dir: string;

beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "giftstream-rails-curl-"));
  paypal = await startPaypalStandIn();
  stripe = await startStripeStandIn();
  const config = loadConfig({
    env: { GIFTSTREAM_DATA_DIR: dir, GIFTSTREAM_API_KEY: adminKey, PORT: "0" },
    overrides: {
      testMode: true,
      server: { host: "127.0.0.1" },
      ...standInRailsConfig(paypal, stripe),
    },
  });
  server = await startServer(config, pino({ level: "silent" }));
});

afterAll(async () => {
  await server.close();
  await paypal.close();
  await stripe.close();
  rmSync(dir, { recursive: true, force: true });
});

describe("curl examples of the API payout rails in docs/payouts.md", () => {
  it("run as written, each answering JSON", async () => {
    const all = blocks();
    expect(all.length).toBeGreaterThanOrEqual(2);
    for (const block of all) {
      const out = await runCurlBlock(block, server.url);
      expect(() => JSON.parse(out), `${block}\n${out}`).not.toThrow();
    }
  });

  it("the webhook example is refused: PayPal did not sign it", async () => {
    const block = blocks().find((b) => b.includes("/v1/webhooks/paypal"))!;
    const stdout = await runCurlBlock(block, server.url);
    expect(JSON.parse(stdout)).toMatchObject({ status: 400, code: "invalid_signature" });
    // The app asked PayPal, which said FAILURE.
    expect(paypal.requests.some((r) => r.path === "/v1/notifications/verify-webhook-signature")).toBe(true);
  });
});
