/**
 * Versioned schema migrations for the PostgreSQL store. Append only: a released migration is
 * never edited, a change is a new version. The versions are this store's own; they do not follow
 * the SQLite list (src/store/sqlite/migrations.ts).
 *
 * The ledger tables (version 1) mirror SQLite's version 1 column for column, so an export from
 * one store reads straight into the other. Two differences, both because several processes write
 * here:
 * - holds keep their row when closed, with a status, so that a batch can lock a hold row
 *   (`FOR UPDATE`) and find it closed rather than gone;
 * - transfer ids come from a sequence, since no single process can hand them out.
 *
 * The domain tables (version 2) mirror SQLite's versions 2 to 10 column for column, as they stand
 * after the last of them (a column SQLite added later with ALTER TABLE is here from the start,
 * last, where ALTER TABLE put it), so that the domain stores run the same SQL on both. The
 * deliberate differences:
 * - where the SQLite stores read a table's implicit `rowid` (gifts, purchases, payout_methods),
 *   the table has an explicit identity column named `rowid`, with a unique index;
 * - an `INTEGER PRIMARY KEY` (SQLite's alias of the rowid) is a bigint identity;
 * - INTEGER is bigint, so that the pool reads every integer as a JS bigint as better-sqlite3 does;
 *   BLOB is bytea; STRICT and WITHOUT ROWID have no equivalent and are left out.
 *
 * Text keys, and text that is indexed, sorted, grouped or compared in a cursor, use the "C"
 * collation: byte order, like SQLite's, so that pages and cursors (`id < '\uffff'`) come out the
 * same, and the same lock order holds in every session whatever the database's locale.
 */
export interface PostgresMigration {
  version: number;
  name: string;
  sql: string;
}

export const postgresMigrations: readonly PostgresMigration[] = [
  {
    version: 1,
    name: "ledger",
    sql: `
      CREATE TABLE accounts (
        id               text COLLATE "C" PRIMARY KEY,
        unit             text     NOT NULL,
        flags            integer  NOT NULL,
        debits_posted    bigint   NOT NULL CHECK (debits_posted >= 0),
        credits_posted   bigint   NOT NULL CHECK (credits_posted >= 0),
        debits_pending   bigint   NOT NULL CHECK (debits_pending >= 0),
        credits_pending  bigint   NOT NULL CHECK (credits_pending >= 0),
        created_at       bigint   NOT NULL,
        -- Head of the account's history chain (see transfers.debit_prev_id).
        last_transfer_id bigint
      );

      -- Append-only history. A post or void names its hold in pending_id, and the unique index
      -- makes the database itself refuse a second close of the same hold.
      --
      -- Each row links to the previous transfer of its debit and of its credit account, as in
      -- SQLite: the only index is the primary key, which a batch appends to at its right edge,
      -- instead of two (account, id) indexes dirtied at random pages on every batch.
      CREATE SEQUENCE transfers_id_seq AS bigint;
      CREATE TABLE transfers (
        id                bigint   PRIMARY KEY,
        type              smallint NOT NULL,
        debit_account_id  text COLLATE "C" NOT NULL,
        credit_account_id text COLLATE "C" NOT NULL,
        amount            bigint   NOT NULL CHECK (amount > 0),
        kind              text     NOT NULL,
        pending_id        bigint,
        expires_at        bigint,
        -- Text, not jsonb: the metadata reads back byte for byte as the ledger wrote it.
        metadata          text,
        created_at        bigint   NOT NULL,
        debit_prev_id     bigint,
        credit_prev_id    bigint,
        CHECK (debit_account_id <> credit_account_id)
      );
      ALTER SEQUENCE transfers_id_seq OWNED BY transfers.id;
      CREATE UNIQUE INDEX transfers_closing ON transfers (pending_id) WHERE pending_id IS NOT NULL;

      -- Every hold; status 0 is open (PendingStatus). Only open holds count in the balances.
      CREATE TABLE holds (
        transfer_id       bigint   PRIMARY KEY,
        debit_account_id  text COLLATE "C" NOT NULL,
        credit_account_id text COLLATE "C" NOT NULL,
        amount            bigint   NOT NULL CHECK (amount > 0),
        expires_at        bigint,
        status            smallint NOT NULL DEFAULT 0 CHECK (status IN (0, 1, 2))
      );
      CREATE INDEX holds_expiry ON holds (expires_at, transfer_id) WHERE status = 0 AND expires_at IS NOT NULL;

      CREATE TABLE idempotency (
        key          text COLLATE "C" PRIMARY KEY,
        request_hash text   NOT NULL,
        result       text   NOT NULL,
        created_at   bigint NOT NULL
      );
      CREATE INDEX idempotency_age ON idempotency (created_at);
    `,
  },
  {
    version: 2,
    name: "domain",
    sql: `
      -- SQLite version 2, access. Operator API keys. Only a SHA-256 of the secret is kept: a key is
      -- 192 random bits, so a fast hash is enough and lets a request find its key by index.
      CREATE TABLE api_keys (
        id         text COLLATE "C" PRIMARY KEY,
        name       text   NOT NULL,
        scopes     text   NOT NULL,
        hash       text COLLATE "C" NOT NULL UNIQUE,
        prefix     text COLLATE "C" NOT NULL,
        created_at bigint NOT NULL,
        revoked_at bigint
      );

      -- Every admin action, append-only: who, what, when, before and after.
      CREATE TABLE audit_log (
        id         bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        actor      text COLLATE "C" NOT NULL,
        action     text COLLATE "C" NOT NULL,
        target     text COLLATE "C" NOT NULL,
        before     text,
        after      text,
        at         bigint NOT NULL
      );

      -- SQLite version 3, economy; birth_date_verified is from SQLite version 7: set when a
      -- verified identity's birth date replaced the one the operator's app gave.
      CREATE TABLE users (
        id                  text COLLATE "C" PRIMARY KEY,
        country             text COLLATE "C" NOT NULL,
        birth_date          text COLLATE "C" NOT NULL,
        display_name        text   NOT NULL,
        status              text COLLATE "C" NOT NULL,
        status_reason       text,
        created_at          bigint NOT NULL,
        updated_at          bigint NOT NULL,
        birth_date_verified bigint NOT NULL DEFAULT 0
      );

      -- Effective-dated economy versions; a purchase or gift uses the one in force at its time.
      CREATE TABLE economy_versions (
        id           text COLLATE "C" PRIMARY KEY,
        effective_at bigint NOT NULL,
        document     text   NOT NULL,
        created_at   bigint NOT NULL
      );

      -- rowid stands in for SQLite's implicit rowid, which the stores read (a user's paid lots
      -- in insertion order), so that the same SQL runs on both databases.
      CREATE TABLE purchases (
        id              text COLLATE "C" PRIMARY KEY,
        user_id         text COLLATE "C" NOT NULL,
        pack_id         text COLLATE "C" NOT NULL,
        coins           bigint NOT NULL CHECK (coins > 0),
        price_minor     bigint NOT NULL CHECK (price_minor > 0),
        currency        text COLLATE "C" NOT NULL,
        provider        text COLLATE "C" NOT NULL,
        status          text COLLATE "C" NOT NULL,
        provider_ref    text COLLATE "C",
        payment_ref     text COLLATE "C",
        economy_version text COLLATE "C" NOT NULL,
        channel         text COLLATE "C" NOT NULL,
        country         text COLLATE "C" NOT NULL,
        created_at      bigint NOT NULL,
        updated_at      bigint NOT NULL,
        document        text   NOT NULL,
        rowid           bigint GENERATED ALWAYS AS IDENTITY
      );
      CREATE UNIQUE INDEX purchases_rowid ON purchases (rowid);
      CREATE INDEX purchases_user ON purchases (user_id, created_at, id);
      CREATE UNIQUE INDEX purchases_provider_ref ON purchases (provider, provider_ref) WHERE provider_ref IS NOT NULL;
      CREATE INDEX purchases_payment_ref ON purchases (provider, payment_ref) WHERE payment_ref IS NOT NULL;

      -- Provider webhook events already applied, so a replay applies nothing twice.
      CREATE TABLE provider_events (
        provider    text COLLATE "C" NOT NULL,
        event_id    text COLLATE "C" NOT NULL,
        type        text COLLATE "C" NOT NULL,
        received_at bigint NOT NULL,
        PRIMARY KEY (provider, event_id)
      );

      -- SQLite version 4, gifts; cashed_diamonds and gifts_cashable are from SQLite version 8.
      -- One row per gift sent: the feed, the leaderboards and the creator's diamond lot. The lot's
      -- value per diamond and commission rate are locked here when it is earned. cashed_diamonds
      -- are those on hold for, or paid out by, a cash-out (see cashout_lots).
      --
      -- rowid stands in for SQLite's implicit rowid, which the stores read (the live feed's event
      -- ids, the lots' order), so that the same SQL runs on both databases. Unlike SQLite's, with
      -- several writers its values follow insertion, not commit, order.
      CREATE TABLE gifts (
        id                text COLLATE "C" PRIMARY KEY,
        sender_id         text COLLATE "C" NOT NULL,
        recipient_id      text COLLATE "C" NOT NULL,
        catalog_id        text COLLATE "C" NOT NULL,
        quantity          bigint NOT NULL CHECK (quantity > 0),
        coins             bigint NOT NULL CHECK (coins > 0),
        diamonds          bigint NOT NULL CHECK (diamonds >= 0),
        source            text COLLATE "C" NOT NULL,
        context_id        text COLLATE "C" NOT NULL,
        value_usd         text COLLATE "C" NOT NULL,
        commission_rate   text COLLATE "C" NOT NULL,
        economy_version   text COLLATE "C" NOT NULL,
        status            text COLLATE "C" NOT NULL,
        reversed_diamonds bigint NOT NULL DEFAULT 0,
        created_at        bigint NOT NULL,
        matures_at        bigint NOT NULL,
        cashed_diamonds   bigint NOT NULL DEFAULT 0,
        rowid             bigint GENERATED ALWAYS AS IDENTITY
      );
      CREATE UNIQUE INDEX gifts_rowid ON gifts (rowid);
      CREATE INDEX gifts_maturing ON gifts (matures_at) WHERE status = 'pending';
      CREATE INDEX gifts_recipient ON gifts (recipient_id, created_at);
      CREATE INDEX gifts_context ON gifts (context_id, created_at);
      CREATE INDEX gifts_cashable ON gifts (recipient_id, created_at) WHERE status = 'matured';

      -- SQLite version 5, activity. Each user's history, one row per thing that happened to their
      -- coins or diamonds, written in the same transaction as the transfers it describes.
      CREATE TABLE activity (
        id      bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        user_id text COLLATE "C" NOT NULL,
        kind    text COLLATE "C" NOT NULL,
        at      bigint NOT NULL,
        data    text   NOT NULL
      );
      CREATE INDEX activity_user ON activity (user_id, id);

      -- SQLite version 6, webhooks. The operator's webhook endpoints. The secret is kept as given
      -- out: it signs every delivery. A deleted endpoint keeps its row (deleted_at) so that its
      -- delivery log stays readable.
      CREATE TABLE webhook_endpoints (
        id          text COLLATE "C" PRIMARY KEY,
        url         text   NOT NULL,
        events      text   NOT NULL,
        description text,
        secret      text   NOT NULL,
        created_at  bigint NOT NULL,
        deleted_at  bigint
      );

      -- The event types each live endpoint takes ('*' for all): the outbox fans events out by it.
      CREATE TABLE webhook_subscriptions (
        type        text COLLATE "C" NOT NULL,
        endpoint_id text COLLATE "C" NOT NULL,
        PRIMARY KEY (type, endpoint_id)
      );

      -- The transactional outbox: one row per event, written in the transaction of what it
      -- reports; payload is the exact body sent. seq is the write order.
      CREATE TABLE webhook_events (
        seq        bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        id         text COLLATE "C" NOT NULL UNIQUE,
        type       text COLLATE "C" NOT NULL,
        resource   text COLLATE "C" NOT NULL,
        created_at bigint NOT NULL,
        payload    text   NOT NULL
      );

      -- One delivery per event and subscribed endpoint. window_* count the attempts since it was
      -- last queued, for the backoff and the retry limits; attempts counts them all.
      CREATE TABLE webhook_deliveries (
        id               bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        endpoint_id      text COLLATE "C" NOT NULL,
        event_seq        bigint NOT NULL,
        resource         text COLLATE "C" NOT NULL,
        status           text COLLATE "C" NOT NULL,
        attempts         bigint NOT NULL DEFAULT 0,
        window_attempts  bigint NOT NULL DEFAULT 0,
        window_from      bigint,
        next_attempt_at  bigint,
        created_at       bigint NOT NULL,
        delivered_at     bigint,
        last_attempt_at  bigint,
        last_status_code bigint,
        last_error       text,
        last_duration_ms bigint,
        UNIQUE (endpoint_id, event_seq)
      );
      CREATE INDEX webhook_deliveries_due ON webhook_deliveries (next_attempt_at, id) WHERE status = 'pending';
      -- Finds whether an earlier delivery of the same resource is still pending (ordering).
      CREATE INDEX webhook_deliveries_order ON webhook_deliveries (endpoint_id, resource, id) WHERE status = 'pending';
      CREATE INDEX webhook_deliveries_endpoint ON webhook_deliveries (endpoint_id, id);
      CREATE INDEX webhook_deliveries_event ON webhook_deliveries (event_seq);

      -- The delivery log: every attempt, append-only until purged with its delivery.
      CREATE TABLE webhook_attempts (
        id          bigint GENERATED BY DEFAULT AS IDENTITY PRIMARY KEY,
        delivery_id bigint NOT NULL,
        at          bigint NOT NULL,
        status_code bigint,
        error       text,
        duration_ms bigint NOT NULL
      );
      CREATE INDEX webhook_attempts_delivery ON webhook_attempts (delivery_id, id);

      -- SQLite version 7, kyc and payout methods. Identity verification, one row per user who
      -- submitted (no row: unverified). The personal data is one AES-256-GCM sealed blob bound to
      -- its user (src/crypto/sealed.ts); only the status, the reviewer's reason and the times are
      -- in the clear.
      CREATE TABLE kyc (
        user_id          text COLLATE "C" PRIMARY KEY,
        status           text COLLATE "C" NOT NULL CHECK (status IN ('pending', 'verified', 'rejected')),
        submission       bytea  NOT NULL,
        rejection_reason text,
        submitted_at     bigint NOT NULL,
        reviewed_at      bigint,
        reviewed_by      text COLLATE "C",
        updated_at       bigint NOT NULL
      );
      CREATE INDEX kyc_queue ON kyc (status, submitted_at, user_id);

      -- The identity document, sealed; one per user, replaced by a new upload until verified.
      CREATE TABLE kyc_documents (
        user_id      text COLLATE "C" PRIMARY KEY,
        id           text COLLATE "C" NOT NULL,
        content_type text COLLATE "C" NOT NULL,
        size_bytes   bigint NOT NULL CHECK (size_bytes > 0),
        content      bytea  NOT NULL,
        uploaded_at  bigint NOT NULL
      );

      -- Linked payout methods. details is sealed; masked is what may be shown (last 4). A deleted
      -- method keeps its row (deleted_at): a cash-out in flight still pays to it.
      --
      -- rowid stands in for SQLite's implicit rowid, which the stores read (a user's methods in
      -- insertion order), so that the same SQL runs on both databases.
      CREATE TABLE payout_methods (
        id         text COLLATE "C" PRIMARY KEY,
        user_id    text COLLATE "C" NOT NULL,
        type       text COLLATE "C" NOT NULL,
        details    bytea  NOT NULL,
        masked     text   NOT NULL,
        created_at bigint NOT NULL,
        deleted_at bigint,
        rowid      bigint GENERATED ALWAYS AS IDENTITY
      );
      CREATE UNIQUE INDEX payout_methods_rowid ON payout_methods (rowid);
      CREATE INDEX payout_methods_user ON payout_methods (user_id, created_at);

      -- SQLite version 8, cash-outs. A cash-out and its terms; the full record (lots, hold ids) is
      -- in document.
      CREATE TABLE cashouts (
        id         text COLLATE "C" PRIMARY KEY,
        user_id    text COLLATE "C" NOT NULL,
        status     text COLLATE "C" NOT NULL,
        rail       text COLLATE "C" NOT NULL,
        diamonds   bigint NOT NULL CHECK (diamonds > 0),
        currency   text COLLATE "C" NOT NULL,
        net_minor  bigint NOT NULL CHECK (net_minor >= 0),
        created_at bigint NOT NULL,
        updated_at bigint NOT NULL,
        document   text   NOT NULL
      );
      CREATE INDEX cashouts_user ON cashouts (user_id, created_at, id);
      CREATE INDEX cashouts_status ON cashouts (status, updated_at, id);

      CREATE TABLE cashout_quotes (
        id         text COLLATE "C" PRIMARY KEY,
        user_id    text COLLATE "C" NOT NULL,
        expires_at bigint NOT NULL,
        document   text   NOT NULL
      );
      CREATE INDEX cashout_quotes_expiry ON cashout_quotes (expires_at);

      -- Diamonds of each lot on hold for, or paid out by, a cash-out: a lot's locked value goes
      -- with its diamonds, so a cash-out knows exactly which lots it took.
      CREATE TABLE cashout_lots (
        cashout_id text COLLATE "C" NOT NULL,
        gift_id    text COLLATE "C" NOT NULL,
        diamonds   bigint NOT NULL CHECK (diamonds > 0),
        released   bigint NOT NULL DEFAULT 0,
        PRIMARY KEY (cashout_id, gift_id)
      );

      -- SQLite version 9, PayPal payouts. Batches as this service sent them. request is the exact
      -- JSON body posted, so a retry after a timeout posts the same sender_batch_id with the same
      -- items and PayPal's duplicate check (30 days) pays once; it is sealed, since it holds every
      -- receiver's email. payout_batch_id is PayPal's id, once known; refused holds why PayPal
      -- refused the whole batch (nothing was paid).
      CREATE TABLE paypal_batches (
        sender_batch_id text COLLATE "C" PRIMARY KEY,
        payout_batch_id text COLLATE "C",
        request         bytea  NOT NULL,
        item_count      bigint NOT NULL CHECK (item_count > 0),
        created_at      bigint NOT NULL,
        refused         text
      );
      CREATE INDEX paypal_batches_created ON paypal_batches (created_at, sender_batch_id);

      -- Which batch carries each cash-out (a cash-out is in one batch, ever), and PayPal's id of
      -- its item once the batch has been read, so that a poll reads the one item.
      CREATE TABLE paypal_items (
        cashout_id      text COLLATE "C" PRIMARY KEY,
        sender_batch_id text COLLATE "C" NOT NULL,
        payout_item_id  text COLLATE "C"
      );
      CREATE INDEX paypal_items_batch ON paypal_items (sender_batch_id);

      -- SQLite version 10, payout files. Bank files written by the file rails (SEPA pain.001,
      -- NACHA). content is the exact bytes, sealed, since it holds every creditor's account number.
      CREATE TABLE payout_files (
        id           text COLLATE "C" PRIMARY KEY,
        rail         text COLLATE "C" NOT NULL,
        format       text COLLATE "C" NOT NULL,
        filename     text   NOT NULL,
        content_type text COLLATE "C" NOT NULL,
        currency     text COLLATE "C" NOT NULL,
        line_count   bigint NOT NULL CHECK (line_count > 0),
        total_minor  bigint NOT NULL CHECK (total_minor > 0),
        sha256       text COLLATE "C" NOT NULL,
        content      bytea  NOT NULL,
        created_at   bigint NOT NULL
      );
      CREATE INDEX payout_files_created ON payout_files (created_at, id);
      CREATE INDEX payout_files_rail ON payout_files (rail, created_at);

      -- One line per cash-out: a cash-out is in at most one file. reference is what the bank
      -- echoes back (SEPA EndToEndId, NACHA trace number); serial numbers the rail's lines.
      CREATE TABLE payout_file_lines (
        cashout_id  text COLLATE "C" PRIMARY KEY,
        file_id     text COLLATE "C" NOT NULL,
        rail        text COLLATE "C" NOT NULL,
        position    bigint NOT NULL,
        serial      bigint NOT NULL,
        reference   text COLLATE "C" NOT NULL,
        user_id     text COLLATE "C" NOT NULL,
        currency    text COLLATE "C" NOT NULL,
        net_minor   bigint NOT NULL CHECK (net_minor > 0),
        status      text COLLATE "C" NOT NULL CHECK (status IN ('pending', 'paid', 'returned')),
        reason      text,
        paid_at     bigint,
        returned_at bigint,
        updated_at  bigint NOT NULL,
        UNIQUE (file_id, position),
        UNIQUE (file_id, reference)
      );
      CREATE INDEX payout_file_lines_serial ON payout_file_lines (rail, serial);
    `,
  },
  {
    version: 3,
    name: "settings",
    sql: `
      -- Small service-wide values every process reads: the test clock (test mode). Mirrors SQLite's 11.
      CREATE TABLE settings (
        key   text COLLATE "C" PRIMARY KEY,
        value text NOT NULL
      );
    `,
  },
  {
    version: 4,
    name: "unique payout serials",
    sql: `
      -- Mirrors SQLite's 12: a rail's serials number its lines (NACHA trace numbers, which banks
      -- echo back in returns, are made from them), so two lines must never share one, even when
      -- two processes write files of one rail at once.
      DROP INDEX payout_file_lines_serial;
      CREATE UNIQUE INDEX payout_file_lines_serial ON payout_file_lines (rail, serial);
    `,
  },
  {
    version: 5,
    name: "gift history from gift rows",
    sql: `
      -- Mirrors SQLite's 13: a gift's two history entries are read from its row, not written as
      -- two activity rows. Gifts recorded before take context_type from their sender's entry, and
      -- their two activity rows go; one with no such entry keeps them, and NULL. History is
      -- listed by time across both, so activity is read by (at, id).
      ALTER TABLE gifts ADD COLUMN context_type text COLLATE "C";
      UPDATE gifts AS g SET context_type = a.context_type
        FROM (SELECT data::json ->> 'ref' AS ref, data::json #>> '{context,type}' AS context_type
              FROM activity WHERE kind = 'gift_sent') AS a
        WHERE g.id = a.ref AND a.context_type IS NOT NULL;
      DELETE FROM activity WHERE kind IN ('gift_sent', 'gift_received')
        AND (data::json ->> 'ref') IN (SELECT id FROM gifts WHERE context_type IS NOT NULL);
      CREATE INDEX gifts_sender ON gifts (sender_id, created_at);
      DROP INDEX activity_user;
      CREATE INDEX activity_history ON activity (user_id, at, id);
    `,
  },
  {
    version: 6,
    name: "webhook requeues",
    sql: `
      -- Mirrors SQLite's 14: an attempt in flight when its delivery is queued again records its
      -- outcome only if the requeue count it was claimed with still holds.
      ALTER TABLE webhook_deliveries ADD COLUMN requeues bigint NOT NULL DEFAULT 0;
    `,
  },
  {
    version: 7,
    name: "replies kept for idempotency keys",
    sql: `
      -- Mirrors SQLite's 15: the first answer to a POST that moves no value, for its retries.
      CREATE TABLE http_replies (
        key         text COLLATE "C" PRIMARY KEY,
        fingerprint bytea  NOT NULL,
        status      bigint,
        reply       bytea,
        created_at  bigint NOT NULL,
        lease_until bigint NOT NULL
      );
      CREATE INDEX http_replies_age ON http_replies (created_at);
    `,
  },
];
