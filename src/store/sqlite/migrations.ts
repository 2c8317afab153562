/**
 * Versioned schema migrations for the SQLite store. Append only: a released migration is never
 * edited, a change is a new version. Kept in TypeScript so the build needs no asset copying.
 */
export interface Migration {
  version: number;
  name: string;
  sql: string;
}

export const migrations: readonly Migration[] = [
  {
    version: 1,
    name: "ledger",
    sql: `
      CREATE TABLE accounts (
        id              TEXT    PRIMARY KEY,
        unit            TEXT    NOT NULL,
        flags           INTEGER NOT NULL,
        debits_posted   INTEGER NOT NULL CHECK (debits_posted >= 0),
        credits_posted  INTEGER NOT NULL CHECK (credits_posted >= 0),
        debits_pending  INTEGER NOT NULL CHECK (debits_pending >= 0),
        credits_pending INTEGER NOT NULL CHECK (credits_pending >= 0),
        created_at      INTEGER NOT NULL,
        -- Head of the account's history chain (see transfers.debit_prev_id).
        last_transfer_id INTEGER
      ) STRICT;

      -- Append-only history. A post or void names its hold in pending_id, and the unique index
      -- makes the database itself refuse a second close of the same hold.
      --
      -- Each row links to the previous transfer of its debit and of its credit account, so an
      -- account's history is a chain walked by primary key. An index on (account, id) would do the
      -- same job, but its random inserts dirty most of its pages in every durable batch and cut
      -- group-commit throughput several times over (bench/ledger.ts measures it).
      CREATE TABLE transfers (
        id                INTEGER PRIMARY KEY,
        type              INTEGER NOT NULL,
        debit_account_id  TEXT    NOT NULL,
        credit_account_id TEXT    NOT NULL,
        amount            INTEGER NOT NULL CHECK (amount > 0),
        kind              TEXT    NOT NULL,
        pending_id        INTEGER,
        expires_at        INTEGER,
        metadata          TEXT,
        created_at        INTEGER NOT NULL,
        debit_prev_id     INTEGER,
        credit_prev_id    INTEGER,
        CHECK (debit_account_id <> credit_account_id)
      ) STRICT;
      CREATE UNIQUE INDEX transfers_closing ON transfers (pending_id) WHERE pending_id IS NOT NULL;

      -- Open holds only: a row leaves when its hold is posted, voided or expired.
      CREATE TABLE holds (
        transfer_id       INTEGER PRIMARY KEY,
        debit_account_id  TEXT    NOT NULL,
        credit_account_id TEXT    NOT NULL,
        amount            INTEGER NOT NULL CHECK (amount > 0),
        expires_at        INTEGER
      ) STRICT;
      CREATE INDEX holds_expiry ON holds (expires_at) WHERE expires_at IS NOT NULL;

      CREATE TABLE idempotency (
        key          TEXT    PRIMARY KEY,
        request_hash TEXT    NOT NULL,
        result       TEXT    NOT NULL,
        created_at   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX idempotency_age ON idempotency (created_at);
    `,
  },
  {
    version: 2,
    name: "access",
    sql: `
      -- Operator API keys. Only a SHA-256 of the secret is kept: a key is 192 random bits, so a
      -- fast hash is enough and lets a request find its key by index.
      CREATE TABLE api_keys (
        id         TEXT    PRIMARY KEY,
        name       TEXT    NOT NULL,
        scopes     TEXT    NOT NULL,
        hash       TEXT    NOT NULL UNIQUE,
        prefix     TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        revoked_at INTEGER
      ) STRICT;

      -- Every admin action, append-only: who, what, when, before and after.
      CREATE TABLE audit_log (
        id         INTEGER PRIMARY KEY,
        actor      TEXT    NOT NULL,
        action     TEXT    NOT NULL,
        target     TEXT    NOT NULL,
        before     TEXT,
        after      TEXT,
        at         INTEGER NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 3,
    name: "economy",
    sql: `
      CREATE TABLE users (
        id            TEXT    PRIMARY KEY,
        country       TEXT    NOT NULL,
        birth_date    TEXT    NOT NULL,
        display_name  TEXT    NOT NULL,
        status        TEXT    NOT NULL,
        status_reason TEXT,
        created_at    INTEGER NOT NULL,
        updated_at    INTEGER NOT NULL
      ) STRICT;

      -- Effective-dated economy versions; a purchase or gift uses the one in force at its time.
      CREATE TABLE economy_versions (
        id           TEXT    PRIMARY KEY,
        effective_at INTEGER NOT NULL,
        document     TEXT    NOT NULL,
        created_at   INTEGER NOT NULL
      ) STRICT;

      CREATE TABLE purchases (
        id              TEXT    PRIMARY KEY,
        user_id         TEXT    NOT NULL,
        pack_id         TEXT    NOT NULL,
        coins           INTEGER NOT NULL CHECK (coins > 0),
        price_minor     INTEGER NOT NULL CHECK (price_minor > 0),
        currency        TEXT    NOT NULL,
        provider        TEXT    NOT NULL,
        status          TEXT    NOT NULL,
        provider_ref    TEXT,
        payment_ref     TEXT,
        economy_version TEXT    NOT NULL,
        channel         TEXT    NOT NULL,
        country         TEXT    NOT NULL,
        created_at      INTEGER NOT NULL,
        updated_at      INTEGER NOT NULL,
        document        TEXT    NOT NULL
      ) STRICT;
      CREATE INDEX purchases_user ON purchases (user_id, created_at, id);
      CREATE UNIQUE INDEX purchases_provider_ref ON purchases (provider, provider_ref) WHERE provider_ref IS NOT NULL;
      CREATE INDEX purchases_payment_ref ON purchases (provider, payment_ref) WHERE payment_ref IS NOT NULL;

      -- Provider webhook events already applied, so a replay applies nothing twice.
      CREATE TABLE provider_events (
        provider    TEXT    NOT NULL,
        event_id    TEXT    NOT NULL,
        type        TEXT    NOT NULL,
        received_at INTEGER NOT NULL,
        PRIMARY KEY (provider, event_id)
      ) STRICT;
    `,
  },
  {
    version: 4,
    name: "gifts",
    sql: `
      -- One row per gift sent: the feed, the leaderboards and the creator's diamond lot. The lot's
      -- value per diamond and commission rate are locked here when it is earned.
      CREATE TABLE gifts (
        id                TEXT    PRIMARY KEY,
        sender_id         TEXT    NOT NULL,
        recipient_id      TEXT    NOT NULL,
        catalog_id        TEXT    NOT NULL,
        quantity          INTEGER NOT NULL CHECK (quantity > 0),
        coins             INTEGER NOT NULL CHECK (coins > 0),
        diamonds          INTEGER NOT NULL CHECK (diamonds >= 0),
        source            TEXT    NOT NULL,
        context_id        TEXT    NOT NULL,
        value_usd         TEXT    NOT NULL,
        commission_rate   TEXT    NOT NULL,
        economy_version   TEXT    NOT NULL,
        status            TEXT    NOT NULL,
        reversed_diamonds INTEGER NOT NULL DEFAULT 0,
        created_at        INTEGER NOT NULL,
        matures_at        INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX gifts_maturing ON gifts (matures_at) WHERE status = 'pending';
      CREATE INDEX gifts_recipient ON gifts (recipient_id, created_at);
      CREATE INDEX gifts_context ON gifts (context_id, created_at);
    `,
  },
  {
    version: 5,
    name: "activity",
    sql: `
      -- Each user's history, one row per thing that happened to their coins or diamonds, written in
      -- the same transaction as the transfers it describes.
      CREATE TABLE activity (
        id              INTEGER PRIMARY KEY,
        user_id         TEXT    NOT NULL,
        kind            TEXT    NOT NULL,
        at              INTEGER NOT NULL,
        data            TEXT    NOT NULL
      ) STRICT;
      CREATE INDEX activity_user ON activity (user_id, id);
    `,
  },
];
