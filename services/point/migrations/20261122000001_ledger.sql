-- Tiers and their earn multipliers, in basis points (100 = 1.00x). Thresholds are rolling
-- 12-month qualifying spend in minor units of the program currency (seed 003's levels).
CREATE TABLE tiers (
    code                   text    PRIMARY KEY,
    rank                   integer NOT NULL UNIQUE,
    multiplier_bp          integer NOT NULL CHECK (multiplier_bp > 0),
    min_qualifying_spend   bigint  NOT NULL CHECK (min_qualifying_spend >= 0)
);
INSERT INTO tiers (code, rank, multiplier_bp, min_qualifying_spend) VALUES
    ('BRONZE',   1, 100,       0),
    ('SILVER',   2, 125,  100000),
    ('GOLD',     3, 150,  500000),
    ('PLATINUM', 4, 200, 1000000);

-- The program's earn rate: points per whole unit of currency, before the tier multiplier.
CREATE TABLE program (
    id                boolean PRIMARY KEY DEFAULT true CHECK (id),
    currency          text    NOT NULL DEFAULT 'AUD',
    points_per_unit   integer NOT NULL DEFAULT 1 CHECK (points_per_unit >= 0)
);
INSERT INTO program DEFAULT VALUES;

-- One row per member: a cache of the ledger that is updated in the same transaction as the
-- entries, so reads are one row. `balance` always equals the sum of the member's entries.
CREATE TABLE accounts (
    member_id        uuid        PRIMARY KEY,
    tier             text        NOT NULL REFERENCES tiers (code),
    balance          bigint      NOT NULL DEFAULT 0,
    pending          bigint      NOT NULL DEFAULT 0 CHECK (pending >= 0),
    lifetime_earned  bigint      NOT NULL DEFAULT 0,
    opened_at        timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);

-- Every change of points, append-only. (source, reference_id, kind) makes a retried earn for
-- the same charge or order a no-op.
CREATE TABLE point_transactions (
    id            uuid        PRIMARY KEY,
    member_id     uuid        NOT NULL REFERENCES accounts (member_id),
    kind          text        NOT NULL CHECK (kind IN ('earn', 'redeem', 'reverse', 'expire', 'adjust')),
    points        bigint      NOT NULL,
    source        text        NOT NULL,
    reference_id  text        NOT NULL,
    description   text,
    amount_minor  bigint,
    currency      text,
    multiplier_bp integer,
    created_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (source, reference_id, kind)
);
CREATE INDEX point_transactions_member ON point_transactions (member_id, created_at DESC);

-- Double entry: each transaction writes one entry to the member's account and the opposite to
-- the program's liability account, so all entries always sum to zero.
CREATE TABLE ledger_entries (
    id             bigserial   PRIMARY KEY,
    transaction_id uuid        NOT NULL REFERENCES point_transactions (id),
    account        text        NOT NULL,
    member_id      uuid,
    amount         bigint      NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ledger_entries_member ON ledger_entries (member_id);

-- The ledger is append-only: no update or delete, ever.
CREATE FUNCTION forbid_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'ledger rows are append-only';
END $$;
CREATE TRIGGER ledger_entries_append_only BEFORE UPDATE OR DELETE ON ledger_entries
    FOR EACH ROW EXECUTE FUNCTION forbid_ledger_change();
CREATE TRIGGER point_transactions_append_only BEFORE UPDATE OR DELETE ON point_transactions
    FOR EACH ROW EXECUTE FUNCTION forbid_ledger_change();
