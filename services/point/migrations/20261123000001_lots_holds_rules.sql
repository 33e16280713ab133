-- The full ledger: lots, pending points, holds, earn rules, tiers over time, expiry.
--
-- Accounts in `ledger_entries`: 'member:<id>' holds a member's active points (their balance),
-- 'pending:<id>' points waiting out a return window, 'program:liability' the opposite side of
-- every entry. All entries sum to zero; a member's 'member:' entries sum to their balance.

ALTER TABLE point_transactions DROP CONSTRAINT point_transactions_kind_check;
ALTER TABLE point_transactions ADD CONSTRAINT point_transactions_kind_check CHECK (kind IN
    ('earn', 'earn_pending', 'activate', 'cancel_pending', 'redeem', 'reverse', 'expire', 'adjust'));
ALTER TABLE point_transactions
    ADD COLUMN occurred_at timestamptz,
    ADD COLUMN store_id    text,
    ADD COLUMN category    text,
    -- The earn rules that applied, so history stays explainable after rules change.
    ADD COLUMN rule_ids    uuid[],
    ADD COLUMN actor       text,
    -- Points that could not be taken back because the member had already spent them.
    ADD COLUMN shortfall   bigint NOT NULL DEFAULT 0;
CREATE INDEX point_transactions_member_kind ON point_transactions (member_id, kind, created_at DESC);

-- The append-only rule has one exception: erasing a member blanks the free-text descriptions
-- of their transactions (a partner may have put personal data there). Nothing else changes.
CREATE OR REPLACE FUNCTION forbid_ledger_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'UPDATE' AND TG_TABLE_NAME = 'point_transactions'
       AND NEW.description IS NULL
       AND (to_jsonb(NEW) - 'description') = (to_jsonb(OLD) - 'description') THEN
        RETURN NEW;
    END IF;
    RAISE EXCEPTION 'ledger rows are append-only';
END $$;

ALTER TABLE program
    ADD COLUMN expiry_months          integer NOT NULL DEFAULT 12 CHECK (expiry_months > 0),
    ADD COLUMN cap_per_transaction    bigint CHECK (cap_per_transaction > 0),
    ADD COLUMN cap_per_day            bigint CHECK (cap_per_day > 0),
    ADD COLUMN rounding               text NOT NULL DEFAULT 'down' CHECK (rounding IN ('down', 'nearest')),
    ADD COLUMN allow_negative_balance boolean NOT NULL DEFAULT false,
    ADD COLUMN updated_at             timestamptz NOT NULL DEFAULT now();

ALTER TABLE accounts
    ADD COLUMN held                 bigint NOT NULL DEFAULT 0 CHECK (held >= 0),
    -- When the current qualification period ends: the tier can only go down then.
    ADD COLUMN tier_period_ends_at  timestamptz NOT NULL DEFAULT now() + interval '12 months',
    ADD COLUMN override_tier        text REFERENCES tiers (code),
    ADD COLUMN override_reason      text,
    ADD COLUMN override_expires_at  timestamptz,
    -- When the member was told their tier will drop at the end of this period.
    ADD COLUMN downgrade_warned_at  timestamptz,
    ADD COLUMN erased_at            timestamptz;

-- Per-source settings: how long points from a source stay pending (the return window).
CREATE TABLE source_settings (
    source        text    PRIMARY KEY,
    pending_days  integer NOT NULL DEFAULT 0 CHECK (pending_days >= 0 AND pending_days <= 365),
    updated_at    timestamptz NOT NULL DEFAULT now()
);

-- A lot is the points of one earn. Spending, expiry and reversals take from lots, oldest
-- first; `remaining` never goes below zero.
CREATE TABLE point_lots (
    id              uuid        PRIMARY KEY,
    member_id       uuid        NOT NULL REFERENCES accounts (member_id),
    transaction_id  uuid        NOT NULL REFERENCES point_transactions (id),
    points          bigint      NOT NULL CHECK (points > 0),
    remaining       bigint      NOT NULL CHECK (remaining >= 0),
    status          text        NOT NULL CHECK (status IN ('pending', 'active', 'cancelled')),
    earned_at       timestamptz NOT NULL,
    available_at    timestamptz NOT NULL,
    expires_at      timestamptz NOT NULL,
    expiry_warned_at timestamptz,
    CHECK (remaining <= points)
);
CREATE INDEX point_lots_spend ON point_lots (member_id, status, expires_at, earned_at) WHERE remaining > 0;
CREATE INDEX point_lots_due ON point_lots (status, available_at) WHERE remaining > 0;
CREATE INDEX point_lots_expiry ON point_lots (expires_at) WHERE remaining > 0 AND status = 'active';

-- Which transaction took how much from which lot.
CREATE TABLE lot_movements (
    lot_id          uuid   NOT NULL REFERENCES point_lots (id),
    transaction_id  uuid   NOT NULL REFERENCES point_transactions (id),
    points          bigint NOT NULL CHECK (points > 0),
    PRIMARY KEY (lot_id, transaction_id)
);

-- Points reserved for a redemption: captured (spent), released, or expired by themselves.
CREATE TABLE holds (
    id              uuid        PRIMARY KEY,
    member_id       uuid        NOT NULL REFERENCES accounts (member_id),
    points          bigint      NOT NULL CHECK (points > 0),
    status          text        NOT NULL CHECK (status IN ('active', 'captured', 'released', 'expired')),
    reference_id    text,
    description     text,
    created_by      text        NOT NULL,
    -- The caller's idempotency key: one hold per (caller, key).
    idempotency_key text        NOT NULL,
    request_fingerprint text    NOT NULL,
    expires_at      timestamptz NOT NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    settled_at      timestamptz,
    transaction_id  uuid        REFERENCES point_transactions (id),
    UNIQUE (created_by, idempotency_key)
);
CREATE INDEX holds_active_expiry ON holds (expires_at) WHERE status = 'active';

-- Earn rules managed by admins. A change retires the old version and adds a new one, so a
-- transaction's `rule_ids` keep pointing at the rules as they were.
CREATE TABLE earn_rules (
    id                uuid        PRIMARY KEY,
    name              text        NOT NULL,
    -- A bonus multiplies the base points (multiplier_bp, 200 = double) and/or adds fixed points.
    multiplier_bp     integer     NOT NULL DEFAULT 100 CHECK (multiplier_bp >= 100 AND multiplier_bp <= 10000),
    bonus_points      bigint      NOT NULL DEFAULT 0 CHECK (bonus_points >= 0),
    source            text,
    store_id          text,
    category          text,
    starts_at         timestamptz,
    ends_at           timestamptz,
    created_by        uuid        NOT NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    retired_at        timestamptz,
    replaces          uuid        REFERENCES earn_rules (id),
    CHECK (ends_at IS NULL OR starts_at IS NULL OR ends_at > starts_at)
);

-- Money that counts towards tiers: rolling 12 months of purchases.
CREATE TABLE qualifying_spend (
    member_id     uuid        NOT NULL REFERENCES accounts (member_id),
    reference     text        NOT NULL,
    amount_minor  bigint      NOT NULL,
    occurred_at   timestamptz NOT NULL,
    PRIMARY KEY (member_id, reference)
);

-- Refunds seen before their charge (events out of order): applied when the charge arrives.
CREATE TABLE early_refunds (
    charge_id       text        PRIMARY KEY,
    member_id       uuid        NOT NULL,
    total_refunded  bigint      NOT NULL,
    charge_amount   bigint      NOT NULL,
    seen_at         timestamptz NOT NULL DEFAULT now()
);

-- Audit of staff actions on the program (adjustments, overrides, rule and setting changes).
CREATE TABLE audit_log (
    id          uuid        PRIMARY KEY,
    actor       text        NOT NULL,
    action      text        NOT NULL,
    member_id   uuid,
    detail      jsonb       NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);

-- Points already earned before lots existed become one lot each, so expiry and spending work
-- on them too.
INSERT INTO point_lots (id, member_id, transaction_id, points, remaining, status, earned_at, available_at, expires_at)
SELECT gen_random_uuid(), t.member_id, t.id, t.points, t.points, 'active', t.created_at, t.created_at,
       t.created_at + interval '12 months'
  FROM point_transactions t WHERE t.kind = 'earn' AND t.points > 0;
