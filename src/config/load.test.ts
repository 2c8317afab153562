import { join } from "node:path";
import { describe, expect, it } from "vitest";
import { defaultEconomyDocument } from "../economy/config/preset.js";
import { configFiles, problemsOf } from "./config.testkit.js";
import { ConfigError } from "./config-error.js";
import { loadConfig } from "./load.js";
import { type ConfigInput, configKeys } from "./schema.js";

const { dir, file } = configFiles("config");

function problemsWith(overrides: unknown, env: Record<string, string> = {}): string[] {
  return problemsOf(() => loadConfig({ env, overrides: overrides as ConfigInput }));
}

describe("loadConfig defaults", () => {
  it("applies every default when nothing is set", () => {
    const config = loadConfig({ env: {} });
    expect(config).toEqual({
      server: {
        host: "0.0.0.0",
        port: 8080,
        bodyLimitBytes: 1_048_576,
        requestTimeoutMs: 30_000,
        shutdownTimeoutMs: 10_000,
        workers: 1,
        replayLeaseMs: 60_000,
        replayBytesMax: 1_048_576,
      },
      dataDir: "./data",
      log: { level: "info", requests: true },
      money: { amountMax: 1_000_000_000_000_000n },
      ledger: {
        batchTransfersMax: 4096,
        batchWaitMs: 0,
        queueRequestsMax: 100_000,
        requestTransfersMax: 8192,
        historyPageMax: 1000,
        accountCacheMax: 1_000_000,
        pendingExpiryIntervalMs: 1000,
        pipelineBatchesMax: 2,
        answerSliceRequests: 0,
        idempotencyRetentionMs: 172_800_000,
      },
      payouts: {
        routes: [],
        files: { ordersPerFileMax: 10_000, returnsCsvBytesMax: 1_048_576, executionDelayBusinessDays: 1 },
        reconcileWindowDays: 45,
        reconcileCashoutsMax: 100_000,
        paypal: { apiUrl: "https://api-m.paypal.com", timeoutMs: 30_000, batchSizeMax: 15_000 },
        stripeConnect: { enabled: false, timeoutMs: 30_000, networkRetriesMax: 2 },
      },
      cashouts: {
        quoteTtlMs: 900_000,
        autoApproveNetMaxMinor: {},
        autoApproveAccountAgeDaysMin: 30,
        reviewDaysMax: 15,
        paypalArrivalDaysMax: 3,
        bankArrivalDaysMax: 5,
        processIntervalMs: 5000,
        returnsWatchDays: 45,
        lotsMax: 100_000,
        resolveProcessingHoursMin: 24,
      },
      payments: {
        successUrl: "http://localhost:8080/checkout/success",
        cancelUrl: "http://localhost:8080/checkout/cancel",
      },
      auth: { userTokenTtlMs: 900_000 },
      rateLimit: {
        windowMs: 1000,
        apiKeyRequestsMax: 100_000,
        userRequestsMax: 200,
        anonymousRequestsMax: 100,
        senderGiftsMax: 100,
        keysTrackedMax: 100_000,
      },
      webhooks: {
        endpointsMax: 16,
        timeoutMs: 10_000,
        concurrencyMax: 8,
        pollIntervalMs: 1000,
        backoffBaseMs: 10_000,
        backoffMaxMs: 3_600_000,
        retryMaxAgeMs: 259_200_000,
        attemptsMax: 200,
        retentionMs: 2_592_000_000,
      },
      encryption: { resealPageRowsMax: 500 },
      kyc: { documentBytesMax: 10_485_760 },
      payoutMethods: { perUserMax: 5 },
      fanout: { cacheRefreshMs: 5000 },
      postgres: { statementTimeoutMs: 60_000, idleInTransactionTimeoutMs: 60_000 },
      live: {
        keepAliveMs: 15_000,
        pollIntervalMs: 1000,
        streakWindowMs: 10_000,
        streakPeriodMs: 900_000,
        replayEventsMax: 1000,
        subscribersMax: 10_000,
        subscribersPerStreamMax: 10_000,
        subscriberBufferBytesMax: 1_048_576,
        leaderboardSizeMax: 100,
      },
      testMode: false,
      economy: { document: defaultEconomyDocument, overridden: false },
    });
    expect(config.databaseUrl).toBeUndefined();
    expect(config.apiKey).toBeUndefined();
  });

  it("returns a deeply frozen object", () => {
    const config = loadConfig({ env: {} });
    expect(Object.isFrozen(config)).toBe(true);
    expect(Object.isFrozen(config.server)).toBe(true);
    expect(() => {
      (config.server as { port: number }).port = 1;
    }).toThrow(TypeError);
  });

  it("has a default or an optional value for every key configKeys lists", () => {
    const config = loadConfig({
      env: {},
      overrides: {
        databaseUrl: "sqlite:x.db",
        apiKey: "k".repeat(32),
        auth: { tokenSecret: "t".repeat(32), tokenSecretPrevious: "p".repeat(32) },
        encryption: { key: "e".repeat(64), previousKeys: "f".repeat(64) },
        fanout: { redisUrl: "redis://127.0.0.1:6379", natsUrl: "nats://127.0.0.1:4222" },
        payments: {
          stripe: { secretKey: "sk_test_x", webhookSecret: "whsec_xx", apiUrl: "http://127.0.0.1:1" },
        },
        payouts: {
          sepa: {
            debtorName: "Giftstream GmbH",
            debtorIban: "DE89370400440532013000",
            debtorBic: "COBADEFFXXX",
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
            entryDescription: "PAYOUT",
          },
          paypal: { clientId: "client", clientSecret: "secret", webhookId: "WH1" },
          stripeConnect: { connectWebhookSecret: "whsec_connect" },
        },
      },
    });
    const loadedKeys: string[] = [];
    // A mapping whose entries are its own (cashouts.autoApproveNetMaxMinor: currency → amount) is one key.
    const mappings = new Set(["cashouts.autoApproveNetMaxMinor"]);
    const visit = (node: object, prefix: string) => {
      for (const [name, value] of Object.entries(node)) {
        const key = prefix === "" ? name : `${prefix}.${name}`;
        // A list (payouts.routes) is one key, whatever it holds.
        if (typeof value === "object" && value !== null && !Array.isArray(value) && !mappings.has(key))
          visit(value, key);
        else loadedKeys.push(key);
      }
    };
    // `economy` is a whole document with its own reference (docs/economy.md), not leaf keys.
    const { economy: _economy, ...leaves } = config;
    visit(leaves, "");
    expect(loadedKeys.sort()).toEqual(configKeys().sort());
  });
});

describe("loadConfig sources", () => {
  it("reads a JSON file", () => {
    const path = file(
      "config.json",
      JSON.stringify({ server: { port: 9000 }, money: { amountMax: "50000000000" }, testMode: true }),
    );
    const config = loadConfig({ env: { GIFTSTREAM_CONFIG: path } });
    expect(config.server.port).toBe(9000);
    expect(config.server.host).toBe("0.0.0.0");
    expect(config.money.amountMax).toBe(50_000_000_000n);
    expect(config.testMode).toBe(true);
  });

  it("reads a YAML file", () => {
    const path = file(
      "config.yaml",
      [
        "server:",
        "  port: 9001",
        "log:",
        "  level: debug",
        "ledger:",
        "  batchWaitMs: 5",
        'databaseUrl: "sqlite:/var/lib/giftstream/ledger.db"',
        "",
      ].join("\n"),
    );
    const config = loadConfig({ env: { GIFTSTREAM_CONFIG: path } });
    expect(config.server.port).toBe(9001);
    expect(config.log.level).toBe("debug");
    expect(config.ledger.batchWaitMs).toBe(5);
    expect(config.databaseUrl).toBe("sqlite:/var/lib/giftstream/ledger.db");
  });

  it("treats an empty file as no settings", () => {
    const config = loadConfig({ env: { GIFTSTREAM_CONFIG: file("empty.yaml", "# nothing\n") } });
    expect(config.server.port).toBe(8080);
  });

  it("lets the environment win over the file, and overrides win over both", () => {
    const path = file("config.yaml", "server:\n  port: 9000\nlog:\n  level: warn\ndataDir: /from/file\n");
    const env = {
      GIFTSTREAM_CONFIG: path,
      PORT: "9100",
      LOG_LEVEL: "error",
      GIFTSTREAM_DATA_DIR: "/from/env",
    };
    const config = loadConfig({ env });
    expect(config.server.port).toBe(9100);
    expect(config.log.level).toBe("error");
    expect(config.dataDir).toBe("/from/env");
    expect(loadConfig({ env, overrides: { server: { port: 0 } } }).server.port).toBe(0);
  });

  it("reads every documented environment variable", () => {
    const apiKey = "a".repeat(40);
    const config = loadConfig({
      env: {
        PORT: "1234",
        GIFTSTREAM_DATA_DIR: "/srv/data",
        DATABASE_URL: "file:/srv/data/x.db",
        GIFTSTREAM_API_KEY: apiKey,
        LOG_LEVEL: "trace",
        REDIS_URL: "redis://127.0.0.1:6379",
        NATS_URL: "nats://127.0.0.1:4222",
        GIFTSTREAM_WORKERS: "3",
      },
    });
    expect(config.fanout.redisUrl).toBe("redis://127.0.0.1:6379");
    expect(config.fanout.natsUrl).toBe("nats://127.0.0.1:4222");
    expect(config.server.workers).toBe(3);
    expect(config.server.port).toBe(1234);
    expect(config.dataDir).toBe("/srv/data");
    expect(config.databaseUrl).toBe("file:/srv/data/x.db");
    expect(config.apiKey).toBe(apiKey);
    expect(config.log.level).toBe("trace");
  });

  it("treats an empty environment variable as unset", () => {
    const config = loadConfig({ env: { PORT: "", DATABASE_URL: "" } });
    expect(config.server.port).toBe(8080);
    expect(config.databaseUrl).toBeUndefined();
  });

  it("accepts testMode outside production", () => {
    expect(loadConfig({ env: { NODE_ENV: "test" }, overrides: { testMode: true } }).testMode).toBe(true);
  });
});

describe("loadConfig refuses invalid configuration with a clear problem", () => {
  it("an unknown key, with a suggestion", () => {
    expect(problemsWith({ server: { prot: 80 } })).toEqual([
      "server.prot: unknown key (did you mean server.port?) (from overrides)",
    ]);
  });

  it("an unknown top-level key in a file, naming the file", () => {
    const path = file("typo.yaml", "logLevel: debug\nfrobnicate: 1\n");
    const problems = problemsOf(() => loadConfig({ env: { GIFTSTREAM_CONFIG: path } }));
    expect(problems).toEqual([
      `logLevel: unknown key (did you mean log.level?) (from file ${path})`,
      `frobnicate: unknown key (from file ${path})`,
    ]);
  });

  it("prototype keys from a file are unknown keys, not prototypes", () => {
    const path = file("proto.json", '{"__proto__": {"testMode": true}, "constructor": {}}');
    const problems = problemsOf(() => loadConfig({ env: { GIFTSTREAM_CONFIG: path } }));
    expect(problems).toEqual([
      `__proto__: unknown key (from file ${path})`,
      `constructor: unknown key (from file ${path})`,
    ]);
  });

  it("a wrong type", () => {
    expect(problemsWith({ server: { host: 5 } })).toEqual(["server.host: must be a string (from overrides)"]);
    expect(problemsWith({ testMode: "yes" })).toEqual(["testMode: must be true or false (from overrides)"]);
    expect(problemsWith({ ledger: { batchWaitMs: 1.5 } })).toEqual([
      "ledger.batchWaitMs: must be an integer (from overrides)",
    ]);
    expect(problemsWith({ ledger: 5 })).toEqual([
      "ledger: must be a mapping of keys to values (from overrides)",
    ]);
  });

  it("a port out of range, from the file or the environment", () => {
    expect(problemsWith({ server: { port: 65_536 } })).toEqual([
      "server.port: must be between 0 and 65535 (from overrides)",
    ]);
    expect(problemsWith({}, { PORT: "-1" })).toEqual([
      "server.port: must be between 0 and 65535 (from env PORT)",
    ]);
    expect(problemsWith({}, { PORT: "80a" })).toEqual(["server.port: must be an integer (from env PORT)"]);
    expect(problemsWith({}, { PORT: "8080.0" })).toEqual(["server.port: must be an integer (from env PORT)"]);
  });

  it("every other limit is enforced", () => {
    expect(problemsWith({ ledger: { batchTransfersMax: 0, batchWaitMs: 101 } })).toEqual([
      "ledger.batchTransfersMax: must be between 1 and 65536 (from overrides)",
      "ledger.batchWaitMs: must be between 0 and 100 (from overrides)",
    ]);
    expect(problemsWith({ server: { bodyLimitBytes: 1e12 } })).toEqual([
      "server.bodyLimitBytes: must be between 1024 and 268435456 (from overrides)",
    ]);
  });

  it("a log level pino does not have", () => {
    expect(problemsWith({}, { LOG_LEVEL: "verbose" })).toEqual([
      "log.level: must be one of fatal, error, warn, info, debug, trace, silent (from env LOG_LEVEL)",
    ]);
  });

  it("money.amountMax as a JSON number (even an exact one)", () => {
    const path = file("float.json", '{"money": {"amountMax": 1000000000000000}}');
    const problems = problemsOf(() => loadConfig({ env: { GIFTSTREAM_CONFIG: path } }));
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^money\.amountMax: must be a string of digits/);
    expect(problemsWith({ money: { amountMax: 1.5 } })[0]).toMatch(/^money\.amountMax: must be a string/);
  });

  it.each(["1.5", "1e15", "-5", "0", "007", " 5", "+5", "", "0x10"])(
    "money.amountMax %j as a string that is not a positive integer",
    (amountMax) => {
      const problems = problemsWith({ money: { amountMax } });
      expect(problems).toHaveLength(1);
      expect(problems[0]).toMatch(/^money\.amountMax: must be a positive integer written with digits only/);
    },
  );

  it("money.amountMax above 2^63 - 1, and accepts exactly 2^63 - 1", () => {
    for (const amountMax of ["9223372036854775808", "99999999999999999999"]) {
      expect(problemsWith({ money: { amountMax } })).toEqual([
        "money.amountMax: must be at most 9223372036854775807 (2^63 - 1) (from overrides)",
      ]);
    }
    const config = loadConfig({ env: {}, overrides: { money: { amountMax: "9223372036854775807" } } });
    expect(config.money.amountMax).toBe(2n ** 63n - 1n);
  });

  it.each(["postgres://user:pw@db/giftstream", "postgresql://db/giftstream", "POSTGRES://db/x"])(
    "accepts a PostgreSQL URL (%s): migrate and reconcile use it, serve refuses it later",
    (databaseUrl) => {
      expect(loadConfig({ env: { DATABASE_URL: databaseUrl } }).databaseUrl).toBe(databaseUrl);
    },
  );

  it("a PostgreSQL URL without a host, without repeating its password", () => {
    const problems = problemsWith({}, { DATABASE_URL: "postgres://user:pw@/giftstream" });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^databaseUrl: .*PostgreSQL URL/);
    expect(problems[0]).toContain("(from env DATABASE_URL)");
    expect(problems[0]).not.toContain("pw");
  });

  it("a URL of another scheme", () => {
    expect(problemsWith({ databaseUrl: "mysql://db/x" })).toEqual([
      'databaseUrl: unsupported scheme "mysql:"; use a sqlite: or file: URL or a file path (from overrides)',
    ]);
  });

  it("a short API key, without echoing it", () => {
    const problems = problemsWith({}, { GIFTSTREAM_API_KEY: "secret-but-short" });
    expect(problems).toEqual(["apiKey: must be at least 32 characters long (from env GIFTSTREAM_API_KEY)"]);
    expect(problems.join("\n")).not.toContain("secret-but-short");
  });

  it("a previous token secret without a current one, without echoing it", () => {
    const problems = problemsWith({}, { GIFTSTREAM_TOKEN_SECRET_PREVIOUS: "p".repeat(32) });
    expect(problems).toEqual([
      "auth.tokenSecretPrevious: needs auth.tokenSecret, the secret that replaced it (from env GIFTSTREAM_TOKEN_SECRET_PREVIOUS)",
    ]);
    expect(problems.join("\n")).not.toContain("p".repeat(32));
  });

  it("previous encryption keys that are malformed, or too many, without echoing them", () => {
    const key = (n: number) => n.toString(16).repeat(64);
    const malformed = problemsWith({}, { GIFTSTREAM_SECRET_KEY_PREVIOUS: `${key(1)},short-key` });
    expect(malformed).toHaveLength(1);
    expect(malformed[0]).toMatch(
      /^encryption\.previousKeys: must match pattern .*\(from env GIFTSTREAM_SECRET_KEY_PREVIOUS\)$/,
    );
    const nine = Array.from({ length: 9 }, (_, i) => key(i + 1)).join(",");
    const tooMany = problemsWith({ encryption: { previousKeys: nine } });
    expect(tooMany).toEqual(["encryption.previousKeys: holds 9 keys, at most 8 (from overrides)"]);
    for (const text of [...malformed, ...tooMany]) {
      expect(text).not.toContain("short-key");
      expect(text).not.toContain(key(1));
    }
    const eight = Array.from({ length: 8 }, (_, i) => key(i + 1)).join(" , ");
    expect(loadConfig({ env: { GIFTSTREAM_SECRET_KEY_PREVIOUS: eight } }).encryption.previousKeys).toBe(
      eight,
    );
  });

  it("testMode in production", () => {
    expect(problemsWith({ testMode: true }, { NODE_ENV: "production" })).toEqual([
      "testMode: must not be true when NODE_ENV=production (from overrides)",
    ]);
    const path = file("test-mode.yaml", "testMode: true\n");
    expect(problemsWith({}, { NODE_ENV: "production", GIFTSTREAM_CONFIG: path })).toEqual([
      `testMode: must not be true when NODE_ENV=production (from file ${path})`,
    ]);
  });

  it("lists every problem at once, from every source", () => {
    const path = file("many.yaml", "server:\n  port: 70000\nmoney:\n  amountMax: 12.5\n");
    const problems = problemsWith(
      { ledger: { historyPageMax: 0 }, nope: true },
      { GIFTSTREAM_CONFIG: path, LOG_LEVEL: "loud" },
    );
    expect(problems).toHaveLength(5);
    const error = new ConfigError(problems);
    expect(error.message).toMatch(/^Invalid configuration \(5 problems\):\n {2}- server\.port/);
  });

  it("a missing file", () => {
    const path = join(dir, "missing.yaml");
    expect(problemsWith({}, { GIFTSTREAM_CONFIG: path })).toEqual([
      `GIFTSTREAM_CONFIG: the file ${path} cannot be read (ENOENT)`,
    ]);
  });

  it("a file that is not YAML, without quoting its content", () => {
    const path = file("bad.yaml", "server: {port: 1\napiKey: hunter2-hunter2-hunter2-hunter2-hunter2\n");
    const problems = problemsWith({}, { GIFTSTREAM_CONFIG: path });
    expect(problems).toHaveLength(1);
    expect(problems[0]).toMatch(/^GIFTSTREAM_CONFIG: the file .* is not valid JSON or YAML: /);
    expect(problems[0]).not.toContain("hunter2");
  });

  it("a file with duplicate keys", () => {
    const path = file("dup.json", '{"testMode": false, "testMode": true}');
    expect(problemsWith({}, { GIFTSTREAM_CONFIG: path })[0]).toMatch(/is not valid JSON or YAML/);
  });

  it("a file that holds a list instead of a mapping", () => {
    const path = file("list.yaml", "- 1\n- 2\n");
    expect(problemsWith({}, { GIFTSTREAM_CONFIG: path })).toEqual([
      `file ${path}: must hold a mapping of keys to values`,
    ]);
  });
});
