-- Rewards belong to a business and carry the rules of their redemption (issue: rewards).
-- Everything stored before businesses is the demo business's.
ALTER TABLE catalog_items
    ADD COLUMN business_id        uuid        NOT NULL DEFAULT '00000000-0000-7000-8000-000000000001',
    ADD COLUMN category           text        NULL,
    ADD COLUMN image_url          text        NULL,
    ADD COLUMN valid_from         timestamptz NULL,
    ADD COLUMN valid_until        timestamptz NULL,
    ADD COLUMN min_tier           text        NULL,
    -- At most this many redemptions per member per period; NULL = no limit.
    ADD COLUMN member_limit       integer     NULL CHECK (member_limit IS NULL OR member_limit > 0),
    ADD COLUMN member_limit_period text       NOT NULL DEFAULT 'lifetime'
        CHECK (member_limit_period IN ('day', 'week', 'month', 'year', 'lifetime')),
    ADD COLUMN fulfilment         text        NOT NULL DEFAULT 'show_code'
        CHECK (fulfilment IN ('show_code', 'store_code', 'partner')),
    ADD COLUMN code_valid_days    integer     NOT NULL DEFAULT 30 CHECK (code_valid_days BETWEEN 1 AND 3650),
    -- How long after redeeming a member may cancel an unused redemption; 0 = never.
    ADD COLUMN cancel_window_secs integer     NOT NULL DEFAULT 86400 CHECK (cancel_window_secs >= 0),
    ADD COLUMN archived_at        timestamptz NULL,
    ADD COLUMN created_by         text        NULL,
    ADD COLUMN idempotency_key    text        NULL,
    ADD COLUMN request_fingerprint text       NULL;

-- A retried create with the same key finds the reward it made.
CREATE UNIQUE INDEX catalog_items_idempotency ON catalog_items (created_by, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
DROP INDEX catalog_items_active_by_cost;
CREATE INDEX catalog_items_browse ON catalog_items (business_id, points_cost, id) WHERE active;

-- A member's redemption of a reward: the saga's state (see proto/tessera/v1/rewards.proto).
CREATE TABLE redemptions (
    id                  uuid        PRIMARY KEY,
    business_id         uuid        NOT NULL,
    reward_id           uuid        NOT NULL REFERENCES catalog_items (id),
    -- NULL once the member is erased.
    member_id           uuid        NULL,
    points              bigint      NOT NULL CHECK (points > 0),
    status              text        NOT NULL
        CHECK (status IN ('pending', 'issued', 'used', 'cancelled', 'failed')),
    failure_reason      text        NULL,
    failure_detail      text        NULL,
    hold_id             uuid        NULL,
    -- Normalised (no separators); unique across the platform.
    code                text        NULL UNIQUE,
    code_expires_at     timestamptz NULL,
    cancel_until        timestamptz NULL,
    used_at             timestamptz NULL,
    used_by             text        NULL,
    used_store_id       uuid        NULL,
    -- The key of the request that used the code: its retry gets the same answer.
    used_idempotency_key text       NULL,
    cancelled_at        timestamptz NULL,
    requested_by        text        NOT NULL,
    idempotency_key     text        NOT NULL,
    request_fingerprint text        NOT NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now(),
    UNIQUE (requested_by, idempotency_key)
);

CREATE INDEX redemptions_by_member ON redemptions (member_id, created_at DESC, id DESC);
-- The per-member limit counts these.
CREATE INDEX redemptions_for_limit ON redemptions (reward_id, member_id, created_at)
    WHERE status IN ('pending', 'issued', 'used');

-- Every step of every redemption, with its cause: the saga's record.
CREATE TABLE redemption_steps (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    redemption_id uuid        NOT NULL REFERENCES redemptions (id),
    status        text        NOT NULL,
    cause         text        NOT NULL,
    at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX redemption_steps_by_redemption ON redemption_steps (redemption_id, id);
