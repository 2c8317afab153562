import Type, { type Static, type TObject, type TProperties, type TSchema } from "typebox";
import type { EconomyDocument } from "../economy/config/document.js";

/** 2^63 - 1: the largest value a ledger balance column can hold. */
export const amountMaxLimit = 9_223_372_036_854_775_807n;

export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];

function integer(minimum: number, maximum: number, defaultValue: number, description: string) {
  return Type.Optional(Type.Integer({ minimum, maximum, default: defaultValue, description }));
}

function group<T extends TProperties>(properties: T, description: string) {
  return Type.Optional(Type.Object(properties, { additionalProperties: false, description }));
}

/**
 * What a configuration file (or `overrides`) may contain. Every key is optional and has its default
 * here; unknown keys are rejected so that a typo cannot pass silently.
 */
export const configSchema = Type.Object(
  {
    server: group(
      {
        host: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: 253,
            default: "0.0.0.0",
            description: "Address to listen on.",
          }),
        ),
        port: integer(0, 65_535, 8080, "TCP port to listen on; 0 picks a free port."),
        bodyLimitBytes: integer(1024, 268_435_456, 1_048_576, "Largest request body accepted."),
        requestTimeoutMs: integer(1, 3_600_000, 30_000, "Longest time to receive a whole request."),
        shutdownTimeoutMs: integer(0, 600_000, 10_000, "Grace period for in-flight requests on shutdown."),
      },
      "HTTP server.",
    ),
    dataDir: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        default: "./data",
        description: "Directory for the SQLite database and generated secrets.",
      }),
    ),
    databaseUrl: Type.Optional(
      Type.String({
        minLength: 1,
        maxLength: 4096,
        description: "`sqlite:`/`file:` URL or a plain path of the SQLite database file.",
      }),
    ),
    apiKey: Type.Optional(
      Type.String({
        minLength: 32,
        maxLength: 1024,
        description: "An admin API key, stored as a hash at start if not stored yet.",
      }),
    ),
    log: group(
      {
        level: Type.Optional(Type.Enum(logLevels, { default: "info", description: "pino log level." })),
        requests: Type.Optional(
          Type.Boolean({
            default: true,
            description: "Log every request and response at info level (errors are logged either way).",
          }),
        ),
      },
      "Logging.",
    ),
    money: group(
      {
        amountMax: Type.Optional(
          Type.String({
            pattern: "^[1-9][0-9]*$",
            maxLength: 19,
            default: "1000000000000000",
            description:
              "Largest amount in minor units, as a string of a positive integer, at most 2^63 - 1.",
          }),
        ),
      },
      "Money.",
    ),
    ledger: group(
      {
        batchTransfersMax: integer(
          1,
          65_536,
          4096,
          "Most transfers committed in one group-commit transaction.",
        ),
        batchWaitMs: integer(0, 100, 0, "How long the group committer waits to fill a batch when idle."),
        queueRequestsMax: integer(
          1,
          10_000_000,
          100_000,
          "Most requests waiting for the committer before it answers `overloaded`.",
        ),
        requestTransfersMax: integer(1, 65_536, 8192, "Most transfers in one atomic request."),
        historyPageMax: integer(1, 100_000, 1000, "Largest history page."),
        accountCacheMax: integer(1, 100_000_000, 1_000_000, "Accounts the SQLite writer keeps cached."),
        pendingExpiryIntervalMs: integer(
          10,
          3_600_000,
          1000,
          "How often expired pending transfers are voided.",
        ),
        pipelineBatchesMax: integer(
          1,
          16,
          2,
          "Most group-commit batches handed to the writer thread and not yet durable; the next batch is prepared while these commit.",
        ),
        idempotencyRetentionMs: integer(
          86_400_000,
          31_536_000_000,
          172_800_000,
          "How long an idempotency key and its first result are kept (at least 24 hours).",
        ),
      },
      "Ledger limits.",
    ),
    payments: group(
      {
        successUrl: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: 2048,
            default: "http://localhost:8080/checkout/success",
            description: "Where the provider's checkout sends a buyer after paying.",
          }),
        ),
        cancelUrl: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: 2048,
            default: "http://localhost:8080/checkout/cancel",
            description: "Where the provider's checkout sends a buyer who cancels.",
          }),
        ),
        stripe: group(
          {
            secretKey: Type.Optional(
              Type.String({
                minLength: 8,
                maxLength: 255,
                description:
                  "Stripe secret key (`sk_…`); with webhookSecret it enables the `stripe` provider.",
              }),
            ),
            webhookSecret: Type.Optional(
              Type.String({
                minLength: 8,
                maxLength: 255,
                description: "Signing secret of the Stripe webhook endpoint (`whsec_…`).",
              }),
            ),
            apiUrl: Type.Optional(
              Type.String({
                pattern: "^https?://[^/]+$",
                maxLength: 2048,
                description:
                  "Stripe's API base; unset means Stripe itself. Tests point it at the local stand-in.",
              }),
            ),
          },
          "The Stripe payment provider.",
        ),
      },
      "Payment providers.",
    ),
    testMode: Type.Optional(
      Type.Boolean({
        default: false,
        description: "Enables test-only behaviour; refused when NODE_ENV=production.",
      }),
    ),
  },
  { additionalProperties: false },
);

/** The shape of a configuration file or of `loadConfig`'s `overrides`. */
export type ConfigInput = Static<typeof configSchema>;

/** The loaded configuration: every default applied, frozen. */
export interface Config {
  readonly server: {
    readonly host: string;
    readonly port: number;
    readonly bodyLimitBytes: number;
    readonly requestTimeoutMs: number;
    readonly shutdownTimeoutMs: number;
  };
  readonly dataDir: string;
  readonly databaseUrl?: string;
  readonly apiKey?: string;
  readonly log: { readonly level: LogLevel; readonly requests: boolean };
  readonly money: { readonly amountMax: bigint };
  readonly ledger: {
    readonly batchTransfersMax: number;
    readonly batchWaitMs: number;
    readonly queueRequestsMax: number;
    readonly requestTransfersMax: number;
    readonly historyPageMax: number;
    readonly accountCacheMax: number;
    readonly pendingExpiryIntervalMs: number;
    readonly pipelineBatchesMax: number;
    readonly idempotencyRetentionMs: number;
  };
  readonly payments: {
    readonly successUrl: string;
    readonly cancelUrl: string;
    readonly stripe?: {
      readonly secretKey?: string;
      readonly webhookSecret?: string;
      readonly apiUrl?: string;
    };
  };
  readonly testMode: boolean;
  /**
   * The economy: the default preset with the `economy` overrides of the file and `overrides`
   * applied. It seeds the first economy version; see docs/economy.md.
   */
  readonly economy: { readonly document: EconomyDocument; readonly overridden: boolean };
}

/** Environment variables and the key each one sets. They win over the file. */
export const envVars = {
  PORT: "server.port",
  GIFTSTREAM_DATA_DIR: "dataDir",
  DATABASE_URL: "databaseUrl",
  GIFTSTREAM_API_KEY: "apiKey",
  STRIPE_SECRET_KEY: "payments.stripe.secretKey",
  STRIPE_WEBHOOK_SECRET: "payments.stripe.webhookSecret",
  LOG_LEVEL: "log.level",
} as const;

/** Keys whose values must never appear in messages or logs. */
export const secretKeys: ReadonlySet<string> = new Set([
  "apiKey",
  "payments.stripe.secretKey",
  "payments.stripe.webhookSecret",
]);

export interface ConfigLeaf {
  key: string;
  schema: TSchema & { default?: unknown; type?: string; description?: string };
}

export function isObjectSchema(schema: TSchema): schema is TObject {
  return (schema as { type?: unknown }).type === "object" && "properties" in schema;
}

function collectLeaves(schema: TObject, prefix: string, into: ConfigLeaf[]): ConfigLeaf[] {
  for (const [name, child] of Object.entries(schema.properties)) {
    const key = prefix === "" ? name : `${prefix}.${name}`;
    if (isObjectSchema(child)) collectLeaves(child, key, into);
    else into.push({ key, schema: child as ConfigLeaf["schema"] });
  }
  return into;
}

const leaves: readonly ConfigLeaf[] = Object.freeze(collectLeaves(configSchema, "", []));

/** Every leaf of the configuration with its schema, in declaration order. */
export function configLeaves(): readonly ConfigLeaf[] {
  return leaves;
}

/** Every dotted leaf key, e.g. `server.port`, in declaration order. */
export function configKeys(): string[] {
  return leaves.map((leaf) => leaf.key);
}

/** The environment variable that sets `key`, if any. */
export function envVarFor(key: string): string | undefined {
  for (const [name, target] of Object.entries(envVars)) if (target === key) return name;
  return undefined;
}
