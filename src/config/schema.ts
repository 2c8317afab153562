import Type, { type Static, type TObject, type TProperties, type TSchema } from "typebox";
import type { EconomyDocument } from "../economy/config/document.js";

/** 2^63 - 1: the largest value a ledger balance column can hold. */
export const amountMaxLimit = 9_223_372_036_854_775_807n;

/** Most payout currencies `cashouts.autoApproveNetMaxMinor` lists (ISO 4217 has under 200). */
export const autoApproveCurrenciesMax = 256;

export const logLevels = ["fatal", "error", "warn", "info", "debug", "trace", "silent"] as const;
export type LogLevel = (typeof logLevels)[number];

function integer(minimum: number, maximum: number, defaultValue: number, description: string) {
  return Type.Optional(Type.Integer({ minimum, maximum, default: defaultValue, description }));
}

/** A 32-byte key as text: 64 hex digits, or base64 / base64url (src/crypto/secret-key.ts reads it). */
const secretKeyPattern = "(?:[0-9a-fA-F]{64}|[A-Za-z0-9+/_-]{43}=?)";

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
        workers: integer(
          1,
          64,
          1,
          "Server processes `serve` starts on the one port; more than 1 needs a PostgreSQL databaseUrl.",
        ),
        replayLeaseMs: integer(
          1_000,
          3_600_000,
          60_000,
          "How long a POST that moves no value holds its Idempotency-Key while it runs; a retry after that (its process died, say) runs it again.",
        ),
        replayBytesMax: integer(
          1024,
          16_777_216,
          1_048_576,
          "Largest answer kept for replay to a POST that moves no value; a larger one is not kept, and a retry with the key runs the request again.",
        ),
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
        description:
          "`sqlite:`/`file:` URL or a plain path of the SQLite database file, or a `postgres://` URL.",
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
        answerSliceRequests: integer(
          0,
          100_000,
          0,
          "Callers of a committed batch answered before the event loop turns again, so the batch behind it moves on in between; 0 lets the store choose (PostgreSQL 16, SQLite the whole batch).",
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
    cashouts: group(
      {
        quoteTtlMs: integer(10_000, 86_400_000, 900_000, "How long a cash-out quote can be redeemed."),
        autoApproveNetMaxMinor: Type.Optional(
          Type.Record(
            Type.String({ pattern: "^[A-Z]{3}$" }),
            Type.String({ pattern: "^(0|[1-9][0-9]{0,17})$" }),
            {
              additionalProperties: false,
              maxProperties: autoApproveCurrenciesMax,
              default: {},
              description:
                "Per payout currency (ISO 4217 code → minor units as a string of digits): cash-outs netting at most this approve themselves; a currency not listed always goes to review.",
            },
          ),
        ),
        autoApproveAccountAgeDaysMin: integer(
          0,
          3650,
          30,
          "…and only for creators whose account is at least this many days old.",
        ),
        reviewDaysMax: integer(0, 60, 15, "Longest review before processing, for the arrival estimate."),
        paypalArrivalDaysMax: integer(0, 60, 3, "Longest a PayPal payout takes once processing starts."),
        bankArrivalDaysMax: integer(0, 60, 5, "Longest a bank payout takes once processing starts."),
        processIntervalMs: integer(
          100,
          3_600_000,
          5000,
          "How often approved cash-outs move through their rail.",
        ),
        // PayPal returns an unclaimed payout 30 days after its batch: a watch of 30 days from the
        // day it was booked paid ends just before that return arrives.
        returnsWatchDays: integer(0, 365, 45, "How long paid cash-outs are polled for a return."),
        lotsMax: integer(100, 10_000_000, 100_000, "Most diamond lots one cash-out may draw from."),
        resolveProcessingHoursMin: integer(
          0,
          8760,
          24,
          "How long a cash-out must have been processing before an admin may resolve it by hand.",
        ),
      },
      "Cash-outs.",
    ),
    payouts: group(
      {
        routes: Type.Optional(
          Type.Array(
            Type.Object(
              {
                rail: Type.String({ pattern: "^[a-z][a-z0-9_-]{0,31}$" }),
                methodType: Type.Optional(Type.Enum(["paypal", "bank_account", "stripe_account"])),
                scheme: Type.Optional(Type.Enum(["iban", "aba"])),
                currency: Type.Optional(Type.String({ pattern: "^[A-Z]{3}$" })),
                country: Type.Optional(Type.String({ pattern: "^[A-Z]{2}$" })),
              },
              { additionalProperties: false },
            ),
            {
              maxItems: 64,
              default: [],
              description:
                "Which rail carries a cash-out: the first rule whose fields all match (method type, bank scheme, currency, country) and whose rail is configured.",
            },
          ),
        ),
        files: group(
          {
            ordersPerFileMax: integer(
              1,
              100_000,
              10_000,
              "Most cash-outs in one bank file; a larger job pass is split across files.",
            ),
            returnsCsvBytesMax: integer(1024, 52_428_800, 1_048_576, "Largest returns CSV upload."),
            executionDelayBusinessDays: integer(
              0,
              10,
              1,
              "Weekdays after a bank file's creation date that it asks the bank to execute on.",
            ),
          },
          "Bank files (SEPA, NACHA).",
        ),
        sepa: group(
          {
            debtorName: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 70,
                description: "The platform's account holder name.",
              }),
            ),
            debtorIban: Type.Optional(
              Type.String({ minLength: 15, maxLength: 42, description: "The IBAN the payouts leave from." }),
            ),
            debtorBic: Type.Optional(
              Type.String({ pattern: "^[A-Za-z0-9]{8}([A-Za-z0-9]{3})?$", description: "Its bank's BIC." }),
            ),
            initiatingPartyId: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 35,
                description: "The id the bank gave the platform as the initiating party, if it asks for one.",
              }),
            ),
            remittancePrefix: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 100,
                description: "Remittance text before the cash-out reference; unset: the debtor name.",
              }),
            ),
          },
          "The SEPA credit transfer rail (pain.001): enabled when debtorName and debtorIban are set.",
        ),
        nacha: group(
          {
            immediateDestination: Type.Optional(
              Type.String({ pattern: "^[0-9]{9}$", description: "Routing number the file is sent to." }),
            ),
            immediateDestinationName: Type.Optional(
              Type.String({ minLength: 1, maxLength: 23, description: "Name of that bank." }),
            ),
            immediateOrigin: Type.Optional(
              Type.String({
                pattern: "^([0-9]{9}|[A-Za-z0-9]{10})$",
                description: "Who sends the file, as the bank assigned it.",
              }),
            ),
            immediateOriginName: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 23,
                description: "The platform's name in the file header.",
              }),
            ),
            companyName: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 16,
                description: "Company name on receivers' statements.",
              }),
            ),
            companyId: Type.Optional(
              Type.String({
                pattern: "^[A-Za-z0-9]{10}$",
                description: "Company identification (10 characters).",
              }),
            ),
            odfiRouting: Type.Optional(
              Type.String({
                pattern: "^[0-9]{8,9}$",
                description: "The ODFI's routing number (its first 8 digits count).",
              }),
            ),
            entryDescription: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 10,
                description: "Entry description on receivers' statements; unset: PAYOUT.",
              }),
            ),
          },
          "The US ACH rail (NACHA files): enabled when every key but entryDescription is set.",
        ),
        reconcileWindowDays: integer(
          1,
          400,
          45,
          "How far back `reconcile payouts` compares cash-outs with the rails when no start is given.",
        ),
        reconcileCashoutsMax: integer(
          1,
          10_000_000,
          100_000,
          "Most cash-outs one payout reconciliation compares; a longer window is refused.",
        ),
        paypal: group(
          {
            clientId: Type.Optional(
              Type.String({
                minLength: 1,
                maxLength: 255,
                description: "PayPal REST app client id; with clientSecret it enables the `paypal` rail.",
              }),
            ),
            clientSecret: Type.Optional(
              Type.String({ minLength: 1, maxLength: 255, description: "PayPal REST app secret." }),
            ),
            webhookId: Type.Optional(
              Type.String({
                pattern: "^[A-Za-z0-9]{1,64}$",
                description:
                  "The id of the PayPal webhook that points at /v1/webhooks/paypal; unset means polling only.",
              }),
            ),
            apiUrl: Type.Optional(
              Type.String({
                pattern: "^https?://[^/]+$",
                maxLength: 2048,
                default: "https://api-m.paypal.com",
                description: "PayPal's API base: live, or https://api-m.sandbox.paypal.com, or a stand-in.",
              }),
            ),
            timeoutMs: integer(100, 120_000, 30_000, "How long one PayPal API call may take."),
            batchSizeMax: integer(
              1,
              15_000,
              15_000,
              "Most items in one PayPal payout batch (PayPal allows 15,000).",
            ),
          },
          "The PayPal Payouts rail.",
        ),
        stripeConnect: group(
          {
            enabled: Type.Optional(
              Type.Boolean({
                default: false,
                description:
                  "Enables the `stripe_connect` rail, on the Stripe account of payments.stripe (its secret key and webhook endpoint).",
              }),
            ),
            connectWebhookSecret: Type.Optional(
              Type.String({
                minLength: 8,
                maxLength: 255,
                description:
                  "Signing secret of a Stripe Connect webhook endpoint (events of connected accounts) pointing at /v1/webhooks/stripe.",
              }),
            ),
            timeoutMs: integer(100, 120_000, 30_000, "How long one Stripe API call of the rail may take."),
            networkRetriesMax: integer(
              0,
              10,
              2,
              "How often the stripe SDK retries a transfer call that failed on the network, with the same idempotency key.",
            ),
          },
          "The Stripe Connect rail.",
        ),
      },
      "Payout rails.",
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
    auth: group(
      {
        userTokenTtlMs: integer(
          1000,
          86_400_000,
          900_000,
          "Lifetime of a user token, and the longest a mint request may ask for.",
        ),
        tokenSecret: Type.Optional(
          Type.String({
            minLength: 32,
            maxLength: 1024,
            description: "The HS256 secret that signs user tokens; unset means keys generated in dataDir.",
          }),
        ),
        tokenSecretPrevious: Type.Optional(
          Type.String({
            minLength: 32,
            maxLength: 1024,
            description: "The secret before tokenSecret, still accepted for verification while rotating.",
          }),
        ),
      },
      "User tokens.",
    ),
    rateLimit: group(
      {
        windowMs: integer(100, 3_600_000, 1000, "Length of a rate-limit window."),
        apiKeyRequestsMax: integer(1, 10_000_000, 100_000, "Requests per window for one API key."),
        userRequestsMax: integer(1, 1_000_000, 200, "Requests per window for one user token."),
        anonymousRequestsMax: integer(
          1,
          1_000_000,
          100,
          "Requests per window from one IP address without credentials.",
        ),
        senderGiftsMax: integer(1, 1_000_000, 100, "Gifts per window from one sender, on top of the above."),
        keysTrackedMax: integer(1000, 10_000_000, 100_000, "Most callers and senders counted at once."),
      },
      "Rate limits.",
    ),
    encryption: group(
      {
        key: Type.Optional(
          Type.String({
            pattern: `^\\s*${secretKeyPattern}\\s*$`,
            description:
              "The AES-256 key that encrypts personal data at rest: 32 bytes as 64 hex digits or base64. Unset means a key generated into dataDir.",
          }),
        ),
        previousKeys: Type.Optional(
          Type.String({
            maxLength: 1024,
            pattern: `^\\s*${secretKeyPattern}\\s*(?:,\\s*${secretKeyPattern}\\s*)*$`,
            description:
              "Keys the current one replaced, comma-separated, written as key is: they open values sealed before a rotation, never seal.",
          }),
        ),
        resealPageRowsMax: integer(
          1,
          100_000,
          500,
          "Rows `giftstream reseal` lists per read, per table (each value is then rewritten on its own).",
        ),
      },
      "Encryption at rest.",
    ),
    kyc: group(
      {
        documentBytesMax: integer(
          1024,
          52_428_800,
          10_485_760,
          "Largest identity document upload (JPEG, PNG or PDF).",
        ),
      },
      "Identity verification.",
    ),
    payoutMethods: group(
      {
        perUserMax: integer(1, 100, 5, "Most payout methods one user may have linked at once."),
      },
      "Payout methods.",
    ),
    webhooks: group(
      {
        endpointsMax: integer(1, 1000, 16, "Most webhook endpoints at once."),
        timeoutMs: integer(100, 60_000, 10_000, "How long a receiver has to answer one delivery."),
        concurrencyMax: integer(1, 256, 8, "Most deliveries in flight at once."),
        pollIntervalMs: integer(10, 60_000, 1000, "How often the delivery job looks for due deliveries."),
        backoffBaseMs: integer(1, 3_600_000, 10_000, "Wait before the first retry; it doubles per failure."),
        backoffMaxMs: integer(1, 86_400_000, 3_600_000, "Longest wait between two retries."),
        retryMaxAgeMs: integer(
          0,
          2_592_000_000,
          259_200_000,
          "How long after its first attempt a failing delivery is still retried.",
        ),
        attemptsMax: integer(1, 1000, 200, "Most attempts of one delivery before it is given up."),
        retentionMs: integer(
          86_400_000,
          31_536_000_000,
          2_592_000_000,
          "How long finished deliveries, their attempts and their events are kept.",
        ),
      },
      "Outbound webhooks.",
    ),
    fanout: group(
      {
        redisUrl: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: 4096,
            description: "Redis (`redis://`) for live-room fan-out, cache notices and shared rate limits.",
          }),
        ),
        natsUrl: Type.Optional(
          Type.String({
            minLength: 1,
            maxLength: 4096,
            description: "NATS (`nats://`) for live-room fan-out and cache notices, when redisUrl is unset.",
          }),
        ),
        cacheRefreshMs: integer(
          100,
          3_600_000,
          5000,
          "How often a process on PostgreSQL rereads what it caches (economy versions, webhook subscriptions, users).",
        ),
      },
      "Several processes on one database.",
    ),
    postgres: group(
      {
        statementTimeoutMs: integer(
          1000,
          3_600_000,
          60_000,
          "Longest one statement may run, lock waits included, on PostgreSQL; migrations are not bounded.",
        ),
        idleInTransactionTimeoutMs: integer(
          1000,
          3_600_000,
          60_000,
          "Longest a transaction may wait between its statements on PostgreSQL before the database ends the session and its locks.",
        ),
      },
      "PostgreSQL, when `databaseUrl` names it.",
    ),
    live: group(
      {
        keepAliveMs: integer(
          10,
          600_000,
          15_000,
          "How often a live event stream sends a keep-alive comment.",
        ),
        pollIntervalMs: integer(
          10,
          60_000,
          1000,
          "How often the live feed looks for new gifts without being told: the longest a lost notice delays them.",
        ),
        streakWindowMs: integer(
          0,
          3_600_000,
          10_000,
          "Longest gap between two sends of one gift by one viewer that keeps their streak going.",
        ),
        streakPeriodMs: integer(
          60_000,
          86_400_000,
          900_000,
          "Streaks never span two periods of this length, counted from the Unix epoch.",
        ),
        replayEventsMax: integer(
          1,
          100_000,
          1000,
          "Most recent events of a stream kept for resuming subscribers; a resume from further back is truncated.",
        ),
        subscribersMax: integer(1, 1_000_000, 10_000, "Most live event streams this process serves at once."),
        subscribersPerStreamMax: integer(
          1,
          1_000_000,
          10_000,
          "Most event streams of one live stream this process serves at once.",
        ),
        subscriberBufferBytesMax: integer(
          1024,
          268_435_456,
          1_048_576,
          "Most bytes waiting to be sent to one subscriber; a slower one is disconnected, and resumes.",
        ),
        leaderboardSizeMax: integer(
          1,
          1000,
          100,
          "Longest leaderboard returned (the `limit` query parameter).",
        ),
      },
      "Live rooms: the gift feed and leaderboards.",
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
    readonly workers: number;
    readonly replayLeaseMs: number;
    readonly replayBytesMax: number;
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
    readonly answerSliceRequests: number;
    readonly idempotencyRetentionMs: number;
  };
  readonly payouts: {
    readonly routes: readonly import("../providers/payouts/routing.js").PayoutRoute[];
    readonly files: {
      readonly ordersPerFileMax: number;
      readonly returnsCsvBytesMax: number;
      readonly executionDelayBusinessDays: number;
    };
    readonly sepa?: {
      readonly debtorName?: string;
      readonly debtorIban?: string;
      readonly debtorBic?: string;
      readonly initiatingPartyId?: string;
      readonly remittancePrefix?: string;
    };
    readonly nacha?: {
      readonly immediateDestination?: string;
      readonly immediateDestinationName?: string;
      readonly immediateOrigin?: string;
      readonly immediateOriginName?: string;
      readonly companyName?: string;
      readonly companyId?: string;
      readonly odfiRouting?: string;
      readonly entryDescription?: string;
    };
    readonly reconcileWindowDays: number;
    readonly reconcileCashoutsMax: number;
    readonly paypal: {
      readonly clientId?: string;
      readonly clientSecret?: string;
      readonly webhookId?: string;
      readonly apiUrl: string;
      readonly timeoutMs: number;
      readonly batchSizeMax: number;
    };
    readonly stripeConnect: {
      readonly enabled: boolean;
      readonly connectWebhookSecret?: string;
      readonly timeoutMs: number;
      readonly networkRetriesMax: number;
    };
  };
  readonly cashouts: {
    readonly quoteTtlMs: number;
    /** Payout currency → the largest net, in its minor units, that approves itself. */
    readonly autoApproveNetMaxMinor: Readonly<Record<string, string>>;
    readonly autoApproveAccountAgeDaysMin: number;
    readonly reviewDaysMax: number;
    readonly paypalArrivalDaysMax: number;
    readonly bankArrivalDaysMax: number;
    readonly processIntervalMs: number;
    readonly returnsWatchDays: number;
    readonly lotsMax: number;
    readonly resolveProcessingHoursMin: number;
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
  readonly auth: {
    readonly userTokenTtlMs: number;
    readonly tokenSecret?: string;
    readonly tokenSecretPrevious?: string;
  };
  readonly rateLimit: {
    readonly windowMs: number;
    readonly apiKeyRequestsMax: number;
    readonly userRequestsMax: number;
    readonly anonymousRequestsMax: number;
    readonly senderGiftsMax: number;
    readonly keysTrackedMax: number;
  };
  readonly encryption: {
    readonly key?: string;
    readonly previousKeys?: string;
    readonly resealPageRowsMax: number;
  };
  readonly kyc: { readonly documentBytesMax: number };
  readonly payoutMethods: { readonly perUserMax: number };
  readonly webhooks: {
    readonly endpointsMax: number;
    readonly timeoutMs: number;
    readonly concurrencyMax: number;
    readonly pollIntervalMs: number;
    readonly backoffBaseMs: number;
    readonly backoffMaxMs: number;
    readonly retryMaxAgeMs: number;
    readonly attemptsMax: number;
    readonly retentionMs: number;
  };
  readonly fanout: {
    readonly redisUrl?: string;
    readonly natsUrl?: string;
    readonly cacheRefreshMs: number;
  };
  readonly postgres: {
    readonly statementTimeoutMs: number;
    readonly idleInTransactionTimeoutMs: number;
  };
  readonly live: {
    readonly keepAliveMs: number;
    readonly pollIntervalMs: number;
    readonly streakWindowMs: number;
    readonly streakPeriodMs: number;
    readonly replayEventsMax: number;
    readonly subscribersMax: number;
    readonly subscribersPerStreamMax: number;
    readonly subscriberBufferBytesMax: number;
    readonly leaderboardSizeMax: number;
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
  STRIPE_CONNECT_WEBHOOK_SECRET: "payouts.stripeConnect.connectWebhookSecret",
  PAYPAL_CLIENT_ID: "payouts.paypal.clientId",
  PAYPAL_CLIENT_SECRET: "payouts.paypal.clientSecret",
  PAYPAL_WEBHOOK_ID: "payouts.paypal.webhookId",
  LOG_LEVEL: "log.level",
  GIFTSTREAM_TOKEN_SECRET: "auth.tokenSecret",
  GIFTSTREAM_TOKEN_SECRET_PREVIOUS: "auth.tokenSecretPrevious",
  GIFTSTREAM_SECRET_KEY: "encryption.key",
  GIFTSTREAM_SECRET_KEY_PREVIOUS: "encryption.previousKeys",
  REDIS_URL: "fanout.redisUrl",
  NATS_URL: "fanout.natsUrl",
  GIFTSTREAM_WORKERS: "server.workers",
} as const;

/** Keys whose values must never appear in messages or logs. */
export const secretKeys: ReadonlySet<string> = new Set([
  "apiKey",
  "payments.stripe.secretKey",
  "payments.stripe.webhookSecret",
  "payouts.paypal.clientSecret",
  "payouts.stripeConnect.connectWebhookSecret",
  "auth.tokenSecret",
  "auth.tokenSecretPrevious",
  "encryption.key",
  "encryption.previousKeys",
  // Either URL may carry a password.
  "fanout.redisUrl",
  "fanout.natsUrl",
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
