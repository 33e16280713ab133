-- Two more kinds of campaign on the same machinery (definition, lifecycle, timers, payment by
-- campaign.reward_due):
--   bonus_window: more points on purchases (a multiplier and/or fixed points, optionally at one
--     store or on one category) while the campaign runs; the point service applies it as an
--     earn rule (campaign.bonus_window_changed).
--   referral: a member shares a code; a new member who claims it and makes a first qualifying
--     purchase earns, and so does the referrer, once that purchase has stood unrefunded for
--     settle_seconds. Capped per referrer and per campaign; self-referral is refused.
-- Each kind's terms are columns of campaigns, NULL for the other kinds; a CHECK per kind keeps
-- a campaign from missing any of its own.
ALTER TABLE campaigns DROP CONSTRAINT campaigns_kind_check;
ALTER TABLE campaigns ADD CONSTRAINT campaigns_kind_check
    CHECK (kind IN ('load_goal', 'bonus_window', 'referral'));

ALTER TABLE campaigns ALTER COLUMN target_amount DROP NOT NULL,
                      ALTER COLUMN currency DROP NOT NULL,
                      ALTER COLUMN window_seconds DROP NOT NULL,
                      ALTER COLUMN grace_seconds DROP NOT NULL,
                      ALTER COLUMN reward_points DROP NOT NULL;

ALTER TABLE campaigns
    ADD COLUMN bonus_multiplier_bp     integer NULL CHECK (bonus_multiplier_bp BETWEEN 100 AND 10000),
    ADD COLUMN bonus_points            bigint  NULL CHECK (bonus_points >= 0),
    ADD COLUMN bonus_store_id          text    NULL,
    ADD COLUMN bonus_category          text    NULL,
    ADD COLUMN referrer_points         bigint  NULL CHECK (referrer_points >= 0),
    ADD COLUMN referee_points          bigint  NULL CHECK (referee_points >= 0),
    ADD COLUMN min_purchase_amount     bigint  NULL CHECK (min_purchase_amount > 0),
    ADD COLUMN purchase_within_seconds bigint  NULL CHECK (purchase_within_seconds > 0),
    ADD COLUMN settle_seconds          bigint  NULL CHECK (settle_seconds >= 0),
    ADD COLUMN max_per_referrer        integer NULL CHECK (max_per_referrer > 0),
    ADD COLUMN max_referrals           integer NULL CHECK (max_referrals > 0);

ALTER TABLE campaigns ADD CONSTRAINT campaigns_terms_of_kind CHECK (
    CASE kind
        WHEN 'load_goal' THEN target_amount IS NOT NULL AND currency IS NOT NULL
            AND window_seconds IS NOT NULL AND grace_seconds IS NOT NULL
            AND reward_points IS NOT NULL
        WHEN 'bonus_window' THEN bonus_multiplier_bp IS NOT NULL AND bonus_points IS NOT NULL
            AND (bonus_multiplier_bp > 100 OR bonus_points > 0)
        WHEN 'referral' THEN referrer_points IS NOT NULL AND referee_points IS NOT NULL
            AND referrer_points + referee_points > 0 AND currency IS NOT NULL
            AND min_purchase_amount IS NOT NULL AND purchase_within_seconds IS NOT NULL
            AND settle_seconds IS NOT NULL AND max_per_referrer IS NOT NULL
    END
);

-- A member's code for a referral campaign (one per member and campaign).
CREATE TABLE referral_codes (
    campaign_id  uuid        NOT NULL REFERENCES campaigns (id),
    member_id    uuid        NOT NULL,
    code         text        NOT NULL UNIQUE,
    created_at   timestamptz NOT NULL,
    PRIMARY KEY (campaign_id, member_id)
);
CREATE INDEX referral_codes_by_member ON referral_codes (member_id);

-- One new member (the referee) brought by another (the referrer), in one campaign.
CREATE TABLE referrals (
    id                      uuid        PRIMARY KEY,
    campaign_id             uuid        NOT NULL REFERENCES campaigns (id),
    business_id             uuid        NOT NULL,
    referrer_id             uuid        NOT NULL,
    referee_id              uuid        NOT NULL CHECK (referee_id <> referrer_id),
    state                   text        NOT NULL CHECK (state IN ('claimed', 'settling',
        'rewarding', 'completed', 'expired', 'reward_failed')),
    ended_reason            text        NULL,
    claimed_at              timestamptz NOT NULL,
    -- The referee's first qualifying purchase must come before this.
    purchase_by             timestamptz NOT NULL,
    -- The purchase that qualifies, while settling and after.
    charge_id               text        NULL,
    purchased_at            timestamptz NULL,
    settles_at              timestamptz NULL,
    reward_attempts         integer     NOT NULL DEFAULT 0,
    reward_requests         integer     NOT NULL DEFAULT 0,
    referrer_paid_at        timestamptz NULL,
    referrer_transaction_id text        NULL,
    referee_paid_at         timestamptz NULL,
    referee_transaction_id  text        NULL,
    next_due_at             timestamptz NULL,
    updated_at              timestamptz NOT NULL DEFAULT now(),
    UNIQUE (campaign_id, referee_id)
);
CREATE INDEX referrals_due ON referrals (next_due_at) WHERE next_due_at IS NOT NULL;
CREATE INDEX referrals_by_referrer ON referrals (campaign_id, referrer_id);
CREATE INDEX referrals_by_referee ON referrals (referee_id);

-- Every move of a referral, with its cause; never updated.
CREATE TABLE referral_transitions (
    id            bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    referral_id   uuid        NOT NULL REFERENCES referrals (id) ON DELETE CASCADE,
    from_state    text        NULL,
    to_state      text        NOT NULL,
    cause         text        NOT NULL,
    detail        text        NULL,
    actor         text        NULL,
    occurred_at   timestamptz NOT NULL
);
CREATE INDEX referral_transitions_by_referral ON referral_transitions (referral_id, id);

-- Members' purchases (charge.succeeded, kind purchase) and what was refunded of them
-- (charge.refunded), one row per charge whichever arrives first: referral decisions are
-- derived from them, so the order of the events does not matter.
CREATE TABLE member_purchases (
    business_id     uuid        NOT NULL,
    charge_id       text        NOT NULL,
    member_id       uuid        NOT NULL,
    amount          bigint      NULL CHECK (amount > 0),
    currency        text        NULL,
    purchased_at    timestamptz NULL,
    refunded_amount bigint      NOT NULL DEFAULT 0 CHECK (refunded_amount >= 0),
    PRIMARY KEY (business_id, charge_id)
);
CREATE INDEX member_purchases_by_member ON member_purchases (member_id, purchased_at);
