/**
 * Versioned schema migrations for the PostgreSQL store. Append only: a released migration is
 * never edited, a change is a new version. The versions are this store's own; they do not follow
 * the SQLite list (src/store/sqlite/migrations.ts), which holds the domain tables this store does
 * not have yet.
 *
 * The ledger tables mirror SQLite's version 1 column for column, so an export from one store
 * reads straight into the other. Two differences, both because several processes write here:
 * - holds keep their row when closed, with a status, so that a batch can lock a hold row
 *   (`FOR UPDATE`) and find it closed rather than gone;
 * - transfer ids come from a sequence, since no single process can hand them out.
 * Text keys use the "C" collation: byte order, like SQLite's, and the same lock order in every
 * session whatever the database's locale.
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
];
