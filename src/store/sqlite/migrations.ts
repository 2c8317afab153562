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
  {
    version: 6,
    name: "webhooks",
    sql: `
      -- The operator's webhook endpoints. The secret is kept as given out: it signs every delivery.
      -- A deleted endpoint keeps its row (deleted_at) so that its delivery log stays readable.
      CREATE TABLE webhook_endpoints (
        id          TEXT    PRIMARY KEY,
        url         TEXT    NOT NULL,
        events      TEXT    NOT NULL,
        description TEXT,
        secret      TEXT    NOT NULL,
        created_at  INTEGER NOT NULL,
        deleted_at  INTEGER
      ) STRICT;

      -- The event types each live endpoint takes ('*' for all): the outbox fans events out by it.
      CREATE TABLE webhook_subscriptions (
        type        TEXT NOT NULL,
        endpoint_id TEXT NOT NULL,
        PRIMARY KEY (type, endpoint_id)
      ) STRICT, WITHOUT ROWID;

      -- The transactional outbox: one row per event, written in the transaction of what it
      -- reports; payload is the exact body sent. seq is the write order.
      CREATE TABLE webhook_events (
        seq        INTEGER PRIMARY KEY,
        id         TEXT    NOT NULL UNIQUE,
        type       TEXT    NOT NULL,
        resource   TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        payload    TEXT    NOT NULL
      ) STRICT;

      -- One delivery per event and subscribed endpoint. window_* count the attempts since it was
      -- last queued, for the backoff and the retry limits; attempts counts them all.
      CREATE TABLE webhook_deliveries (
        id               INTEGER PRIMARY KEY,
        endpoint_id      TEXT    NOT NULL,
        event_seq        INTEGER NOT NULL,
        resource         TEXT    NOT NULL,
        status           TEXT    NOT NULL,
        attempts         INTEGER NOT NULL DEFAULT 0,
        window_attempts  INTEGER NOT NULL DEFAULT 0,
        window_from      INTEGER,
        next_attempt_at  INTEGER,
        created_at       INTEGER NOT NULL,
        delivered_at     INTEGER,
        last_attempt_at  INTEGER,
        last_status_code INTEGER,
        last_error       TEXT,
        last_duration_ms INTEGER,
        UNIQUE (endpoint_id, event_seq)
      ) STRICT;
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
      -- Finds whether an earlier delivery of the same resource is still pending (ordering).
      CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, resource, id) WHERE status = 'pending';
      CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
      CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_seq);

      -- The delivery log: every attempt, append-only until purged with its delivery.
      CREATE TABLE webhook_attempts (
        id          INTEGER PRIMARY KEY,
        delivery_id INTEGER NOT NULL,
        at          INTEGER NOT NULL,
        status_code INTEGER,
        error       TEXT,
        duration_ms INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);
    `,
  },
  {
    version: 7,
    name: "kyc and payout methods",
    sql: `
      -- Identity verification, one row per user who submitted (no row: unverified). The personal
      -- data is one AES-256-GCM sealed blob bound to its user (src/crypto/sealed.ts); only the
      -- status, the reviewer's reason and the times are in the clear.
      CREATE TABLE kyc (
        user_id          TEXT    PRIMARY KEY,
        status           TEXT    NOT NULL CHECK (status IN ('pending', 'verified', 'rejected')),
        submission       BLOB    NOT NULL,
        rejection_reason TEXT,
        submitted_at     INTEGER NOT NULL,
        reviewed_at      INTEGER,
        reviewed_by      TEXT,
        updated_at       INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX kyc_queue ON kyc (status, submitted_at, user_id);

      -- The identity document, sealed; one per user, replaced by a new upload until verified.
      CREATE TABLE kyc_documents (
        user_id      TEXT    PRIMARY KEY,
        id           TEXT    NOT NULL,
        content_type TEXT    NOT NULL,
        size_bytes   INTEGER NOT NULL CHECK (size_bytes > 0),
        content      BLOB    NOT NULL,
        uploaded_at  INTEGER NOT NULL
      ) STRICT;

      -- Linked payout methods. details is sealed; masked is what may be shown (last 4). A deleted
      -- method keeps its row (deleted_at): a cash-out in flight still pays to it.
      CREATE TABLE payout_methods (
        id         TEXT    PRIMARY KEY,
        user_id    TEXT    NOT NULL,
        type       TEXT    NOT NULL,
        details    BLOB    NOT NULL,
        masked     TEXT    NOT NULL,
        created_at INTEGER NOT NULL,
        deleted_at INTEGER
      ) STRICT;
      CREATE INDEX payout_methods_user ON payout_methods (user_id, created_at);

      -- Set when a verified identity's birth date replaced the one the operator's app gave.
      ALTER TABLE users ADD COLUMN birth_date_verified INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 8,
    name: "cashouts",
    sql: `
      -- A cash-out and its terms; the full record (lots, hold ids) is in document.
      CREATE TABLE cashouts (
        id               TEXT    PRIMARY KEY,
        user_id          TEXT    NOT NULL,
        status           TEXT    NOT NULL,
        rail             TEXT    NOT NULL,
        diamonds         INTEGER NOT NULL CHECK (diamonds > 0),
        currency         TEXT    NOT NULL,
        net_minor        INTEGER NOT NULL CHECK (net_minor >= 0),
        created_at       INTEGER NOT NULL,
        updated_at       INTEGER NOT NULL,
        document         TEXT    NOT NULL
      ) STRICT;
      CREATE INDEX cashouts_user ON cashouts (user_id, created_at, id);
      CREATE INDEX cashouts_status ON cashouts (status, updated_at, id);

      CREATE TABLE cashout_quotes (
        id         TEXT    PRIMARY KEY,
        user_id    TEXT    NOT NULL,
        expires_at INTEGER NOT NULL,
        document   TEXT    NOT NULL
      ) STRICT;
      CREATE INDEX cashout_quotes_expiry ON cashout_quotes (expires_at);

      -- Diamonds of each lot on hold for, or paid out by, a cash-out: a lot's locked value goes
      -- with its diamonds, so a cash-out knows exactly which lots it took.
      ALTER TABLE gifts ADD COLUMN cashed_diamonds INTEGER NOT NULL DEFAULT 0;
      CREATE TABLE cashout_lots (
        cashout_id TEXT    NOT NULL,
        gift_id    TEXT    NOT NULL,
        diamonds   INTEGER NOT NULL CHECK (diamonds > 0),
        released   INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (cashout_id, gift_id)
      ) STRICT;
      CREATE INDEX gifts_cashable ON gifts (recipient_id, created_at) WHERE status = 'matured';
    `,
  },
  {
    version: 9,
    name: "paypal payouts",
    sql: `
      -- PayPal payout batches as this service sent them. request is the exact JSON body posted, so a
      -- retry after a timeout posts the same sender_batch_id with the same items, and PayPal's own
      -- duplicate check (30 days) makes sure it pays once; it is sealed like payout method details,
      -- since it holds every receiver's email. payout_batch_id is PayPal's id, once known; refused
      -- holds why PayPal refused the whole batch (nothing was paid).
      CREATE TABLE paypal_batches (
        sender_batch_id TEXT    PRIMARY KEY,
        payout_batch_id TEXT,
        request         BLOB    NOT NULL,
        item_count      INTEGER NOT NULL CHECK (item_count > 0),
        created_at      INTEGER NOT NULL,
        refused         TEXT
      ) STRICT;
      CREATE INDEX paypal_batches_created ON paypal_batches (created_at, sender_batch_id);

      -- Which batch carries each cash-out (a cash-out is in one batch, ever), and PayPal's id of
      -- its item once the batch has been read, so that a poll reads the one item.
      CREATE TABLE paypal_items (
        cashout_id      TEXT    PRIMARY KEY,
        sender_batch_id TEXT    NOT NULL,
        payout_item_id  TEXT
      ) STRICT;
      CREATE INDEX paypal_items_batch ON paypal_items (sender_batch_id);
    `,
  },
  {
    version: 10,
    name: "payout files",
    sql: `
      -- Bank files written by the file rails (SEPA pain.001, NACHA). content is the exact bytes,
      -- sealed like payout method details, since it holds every creditor's account number.
      CREATE TABLE payout_files (
        id           TEXT    PRIMARY KEY,
        rail         TEXT    NOT NULL,
        format       TEXT    NOT NULL,
        filename     TEXT    NOT NULL,
        content_type TEXT    NOT NULL,
        currency     TEXT    NOT NULL,
        line_count   INTEGER NOT NULL CHECK (line_count > 0),
        total_minor  INTEGER NOT NULL CHECK (total_minor > 0),
        sha256       TEXT    NOT NULL,
        content      BLOB    NOT NULL,
        created_at   INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX payout_files_created ON payout_files (created_at, id);
      CREATE INDEX payout_files_rail ON payout_files (rail, created_at);

      -- One line per cash-out: a cash-out is in at most one file. reference is what the bank
      -- echoes back (SEPA EndToEndId, NACHA trace number); serial numbers the rail's lines.
      CREATE TABLE payout_file_lines (
        cashout_id  TEXT    PRIMARY KEY,
        file_id     TEXT    NOT NULL,
        rail        TEXT    NOT NULL,
        position    INTEGER NOT NULL,
        serial      INTEGER NOT NULL,
        reference   TEXT    NOT NULL,
        user_id     TEXT    NOT NULL,
        currency    TEXT    NOT NULL,
        net_minor   INTEGER NOT NULL CHECK (net_minor > 0),
        status      TEXT    NOT NULL CHECK (status IN ('pending', 'paid', 'returned')),
        reason      TEXT,
        paid_at     INTEGER,
        returned_at INTEGER,
        updated_at  INTEGER NOT NULL,
        UNIQUE (file_id, position),
        UNIQUE (file_id, reference)
      ) STRICT;
      CREATE INDEX payout_file_lines_serial ON payout_file_lines (rail, serial);
    `,
  },
  {
    version: 11,
    name: "settings",
    sql: `
      -- Small service-wide values every process reads: the test clock (test mode).
      CREATE TABLE settings (
        key   TEXT PRIMARY KEY,
        value TEXT NOT NULL
      ) STRICT;
    `,
  },
  {
    version: 12,
    name: "unique payout serials",
    sql: `
      -- A rail's serials number its lines, and NACHA trace numbers, which the bank echoes back in
      -- returns, are made from them: two lines with one serial could not be told apart. A file's serials are read
      -- (MAX + 1) and then written, so uniqueness rested on one writer per rail at a time; the
      -- index makes a second concurrent writer fail its whole file instead.
      DROP INDEX payout_file_lines_serial;
      CREATE UNIQUE INDEX payout_file_lines_serial ON payout_file_lines (rail, serial);
    `,
  },
  {
    version: 13,
    name: "gift history from gift rows",
    sql: `
      -- A gift's two history entries (the sender's gift_sent, the creator's gift_received) are
      -- read from its row instead of being written as two activity rows beside it: fewer rows
      -- per gift on the hot path. context_type is the one field of those entries the row lacked.
      ALTER TABLE gifts ADD COLUMN context_type TEXT;
      -- Gifts recorded before take it from their sender's entry, and then their two entries
      -- come from the row like every later gift's, so that no history read walks past old gifts.
      -- A gift with no such entry keeps its rows, and NULL: its entries stay activity rows.
      UPDATE gifts SET context_type = a.context_type
        FROM (SELECT json_extract(data, '$.ref') AS ref, json_extract(data, '$.context.type') AS context_type
              FROM activity WHERE kind = 'gift_sent') AS a
        WHERE gifts.id = a.ref AND a.context_type IS NOT NULL;
      DELETE FROM activity WHERE kind IN ('gift_sent', 'gift_received')
        AND json_extract(data, '$.ref') IN (SELECT id FROM gifts WHERE context_type IS NOT NULL);
      CREATE INDEX gifts_sender ON gifts (sender_id, created_at);
      -- History is listed by time across activity and gift rows, so activity is read by (at, id).
      DROP INDEX activity_user;
      CREATE INDEX activity_history ON activity (user_id, at, id);
    `,
  },
  {
    version: 14,
    name: "webhook requeues",
    sql: `
      -- Counts a delivery's requeues (redeliver): an attempt in flight when its delivery is
      -- queued again records its outcome only if the count it was claimed with still holds, so it
      -- cannot undo the requeue (a used-up retry window making a redelivered delivery failed).
      ALTER TABLE webhook_deliveries ADD COLUMN requeues INTEGER NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 15,
    name: "replies kept for idempotency keys",
    sql: `
      -- The first answer to a POST that moves no value but came with an Idempotency-Key, so that
      -- a retry gets it again instead of running twice (src/api/replays.ts). A row is claimed
      -- (status NULL) before the request runs, and holds its key until lease_until; the answer,
      -- sealed, is written once the request has one. Value-moving routes keep their own records.
      -- The fingerprint (a digest of path, query and body) is sealed too: a plain digest of a
      -- payout method's body would let a reader of the database guess the email it seals.
      CREATE TABLE http_replies (
        key         TEXT    PRIMARY KEY,
        fingerprint BLOB    NOT NULL,
        status      INTEGER,
        reply       BLOB,
        created_at  INTEGER NOT NULL,
        lease_until INTEGER NOT NULL
      ) STRICT;
      CREATE INDEX http_replies_age ON http_replies (created_at);
    `,
  },
];
